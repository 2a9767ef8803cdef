"""Audio sources: anything that yields numpy chunks and knows its sample rate.

The engine treats every source the same (file, stdin, microphone, an app's own buffers); only where the
samples come from differs, so offline and live detection share one pipeline.
"""
from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

log = logging.getLogger("wakeword")


@runtime_checkable
class Source(Protocol):
    """What the engine reads: numpy chunks (int or float, mono or (n, channels)) at `sample_rate`."""

    sample_rate: int

    def __iter__(self) -> Iterator[np.ndarray]: ...


def as_source(source: "Source | str | os.PathLike | np.ndarray | Iterable[np.ndarray]",
              sample_rate: int | None = None) -> Source:
    """A path is a WAV file, an array one chunk, a `Source` itself, any other iterable chunks at `sample_rate`
    (default 16 kHz)."""
    if isinstance(source, (str, os.PathLike)):
        return WavSource(source)
    if isinstance(source, np.ndarray):
        return ChunkSource([source], sample_rate or 16000)
    if isinstance(source, Source):
        return source
    return ChunkSource(source, sample_rate or 16000)


@dataclass
class ChunkSource:
    """An iterable of numpy chunks (int16/int32/uint8/float, mono or (n, channels)) at `sample_rate`."""

    chunks: Iterable[np.ndarray]
    sample_rate: int = 16000
    name: str | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.chunks)


class WavSource:
    """A WAV file read in chunks as it is consumed (hours of audio cost no RAM). Reads with pread, not a memory
    map: a file truncated while it is read ends the stream early, with a warning, instead of SIGBUS."""

    def __init__(self, path: str | os.PathLike, chunk_seconds: float = 0.5) -> None:
        # Imported here, not at the top: stdin and the microphone need no WAV reader (with `wave`, ~0.15 MB resident).
        from .wav import FileBytes, layout, open_file

        self.name, fd = open_file(path)
        try:
            self.layout = layout(self.name, FileBytes(fd))
        finally:
            os.close(fd)
        self.sample_rate = self.layout.sample_rate
        self._chunk = max(1, int(chunk_seconds * self.sample_rate))

    def __iter__(self) -> Iterator[np.ndarray]:
        lay = self.layout
        from .wav import decode_frames, float_frames, open_file

        _, fd = open_file(self.name)
        try:
            for start in range(0, lay.frames, self._chunk):
                want = min(self._chunk, lay.frames - start) * lay.frame_bytes
                data = os.pread(fd, want, lay.offset + start * lay.frame_bytes)
                raw = decode_frames(lay, data)
                if len(raw):
                    yield float_frames(raw, lay.is_float)
                if len(data) < want:
                    log.warning("%s: the file shrank while it was read; stopped at %.1f s", self.name,
                                (start + len(raw)) / lay.sample_rate)
                    return
        finally:
            os.close(fd)


class RawStdinSource:
    """Raw 16-bit little-endian PCM from a pipe (`arecord -f S16_LE -r 16000 | wakeword run --input -`).

    Reads with select() so that `close()` (SIGTERM) ends the iteration within a quarter second even while
    no audio arrives.
    """

    def __init__(self, stream, sample_rate: int = 16000, channels: int = 1, chunk_frames: int = 1600) -> None:
        self.fd = stream.fileno()
        self.sample_rate, self.channels = sample_rate, channels
        self._bytes = chunk_frames * 2 * channels
        self._closed = threading.Event()
        self.name = "-"

    def close(self) -> None:
        self._closed.set()

    def __iter__(self) -> Iterator[np.ndarray]:
        pending = b""
        frame = 2 * self.channels
        while not self._closed.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.25)
            if not ready:
                continue
            data = os.read(self.fd, self._bytes)
            if not data:
                break
            data = pending + data
            usable = len(data) - len(data) % frame
            pending = data[usable:]
            if usable:
                yield np.frombuffer(data[:usable], "<i2").reshape(-1, self.channels)
