"""Audio sources: anything that yields numpy chunks and knows its sample rate.

The engine treats every source the same (file, stdin, microphone, an app's own buffers); only where the
samples come from differs, so offline and live detection share one pipeline.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .wav import read_wav


@dataclass
class ChunkSource:
    """An iterable of numpy chunks (int16/int32/uint8/float, mono or (n, channels)) at `sample_rate`."""

    chunks: Iterable[np.ndarray]
    sample_rate: int = 16000
    name: str | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.chunks)


class WavSource:
    """A WAV file read in chunks (memory-mapped: hours of audio cost no RAM)."""

    def __init__(self, path: str | os.PathLike, chunk_seconds: float = 0.5) -> None:
        self.name = os.fspath(path)
        self.wav = read_wav(path)
        self.sample_rate = self.wav.sample_rate
        self._chunk = max(1, int(chunk_seconds * self.sample_rate))

    def __iter__(self) -> Iterator[np.ndarray]:
        for start in range(0, len(self.wav.raw), self._chunk):
            yield self.wav.to_float(start, start + self._chunk)


class RawStdinSource:
    """Raw 16-bit little-endian PCM from a binary stream (`arecord -f S16_LE -r 16000 | wakeword ...`)."""

    def __init__(self, stream, sample_rate: int = 16000, channels: int = 1, chunk_frames: int = 1600) -> None:
        self.stream, self.sample_rate, self.channels = stream, sample_rate, channels
        self._bytes = chunk_frames * 2 * channels
        self.name = "-"

    def __iter__(self) -> Iterator[np.ndarray]:
        pending = b""
        while True:
            data = self.stream.read(self._bytes)
            if not data:
                break
            data = pending + data
            usable = len(data) - len(data) % (2 * self.channels)
            pending = data[usable:]
            if usable:
                yield np.frombuffer(data[:usable], "<i2").reshape(-1, self.channels)
