"""WAV reading with errors a user can act on.

A small RIFF parser instead of `scipy.io.wavfile` because the runtime must tell a truncated file from a
good one (scipy silently returns what it could read) and must name the file and the problem in one line.
Supported: PCM 8/16/24/32-bit, IEEE float 32/64-bit, WAVE_FORMAT_EXTENSIBLE of those; any rate and
channel count (the engine converts to 16 kHz mono).
"""
from __future__ import annotations

import os
import stat
import struct
import wave
from dataclasses import dataclass

import numpy as np

from ..errors import AudioError
from .resample import MAX_RATE, MIN_RATE, to_float32

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


@dataclass
class Wav:
    raw: np.ndarray  # (frames, channels) in the file's own sample type (24-bit already widened to int32)
    sample_rate: int
    bits: int
    is_float: bool

    @property
    def channels(self) -> int:
        return self.raw.shape[1]

    @property
    def duration(self) -> float:
        return len(self.raw) / self.sample_rate

    def to_float(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames [start, stop) as float32 in [-1, 1], shape (n, channels)."""
        return float_frames(self.raw[start:stop], self.is_float)

    @property
    def samples(self) -> np.ndarray:
        """The whole file as mono float32 (channels averaged)."""
        x = self.to_float()
        return x[:, 0] if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)


# Channel counts a microphone or a recording can have (rates: resample.MIN_RATE-MAX_RATE). Outside them a header is
# broken (or hostile: the chunk buffers grow with the channels, the resampler with the rate).
MAX_CHANNELS = 64


@dataclass(frozen=True)
class WavLayout:
    """Where a WAV file's samples are and how they are coded."""

    sample_rate: int
    channels: int
    bits: int
    is_float: bool
    offset: int  # of the first sample, in bytes
    frames: int

    @property
    def frame_bytes(self) -> int:
        return self.bits // 8 * self.channels


def open_file(path: str | os.PathLike) -> tuple[str, int]:
    """(name, read-only fd) of a regular file; AudioError naming the file for anything else. A FIFO would block
    until a writer came (`--input -` is for pipes), a socket or a device is no recording."""
    name = os.fspath(path)
    try:
        st = os.stat(name)
        if stat.S_ISDIR(st.st_mode):
            raise AudioError(f"{name}: is a directory, not a WAV file")
        if not stat.S_ISREG(st.st_mode):
            raise AudioError(f"{name}: not a regular file (a pipe, socket or device); pipe raw audio to `--input -` instead")
        if st.st_size == 0:
            raise AudioError(f"{name}: empty file")
        return name, os.open(name, os.O_RDONLY)
    except FileNotFoundError:
        raise AudioError(f"{name}: no such file") from None
    except PermissionError:
        raise AudioError(f"{name}: permission denied") from None
    except (OSError, ValueError) as e:  # ELOOP, ENAMETOOLONG, ENOTDIR, ENXIO, a NUL in the name ...
        raise AudioError(f"{name!r}: cannot open ({getattr(e, 'strerror', None) or e})") from None


class FileBytes:
    """An open file's bytes read on demand (os.pread) for the header parser. No mmap: a file that shrinks while
    it is read then gives short reads, where a mapping raised SIGBUS."""

    def __init__(self, fd: int) -> None:
        self.fd, self.size = fd, os.fstat(fd).st_size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, s: slice) -> bytes:
        return os.pread(self.fd, max(0, min(s.stop, self.size) - s.start), s.start)


def read_wav(path: str | os.PathLike) -> Wav:
    """Read a whole WAV file; raises AudioError('<path>: <problem>') for anything unusable."""
    name, fd = open_file(path)
    try:
        with os.fdopen(fd, "rb") as f:
            data = f.read()
    except OSError as e:
        raise AudioError(f"{name}: cannot read ({e.strerror})") from None
    lay = layout(name, data)
    return Wav(decode_frames(lay, data[lay.offset:lay.offset + lay.frames * lay.frame_bytes]), lay.sample_rate,
               lay.bits, lay.is_float)


def layout(name: str, buf: bytes | FileBytes) -> WavLayout:
    """Parse the RIFF header of `buf` (the file's bytes, or a FileBytes)."""
    if len(buf) < 12 or buf[0:4] not in (b"RIFF", b"RIFX") or buf[8:12] != b"WAVE":
        raise AudioError(f"{name}: not a WAV file (no RIFF/WAVE header); convert it with e.g. `sox {name} -r 16000 -c 1 out.wav`")
    if buf[0:4] == b"RIFX":
        raise AudioError(f"{name}: big-endian RIFX WAV is not supported; convert it to little-endian PCM")
    pos, fmt = 12, None
    while pos + 8 <= len(buf):
        cid, csize = buf[pos:pos + 4], struct.unpack("<I", buf[pos + 4:pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            if csize < 16 or body + 16 > len(buf):
                raise AudioError(f"{name}: truncated WAV (fmt chunk cut off)")
            tag, channels, rate, _, block, bits = struct.unpack("<HHIIHH", buf[body:body + 16])
            if tag == _EXTENSIBLE and csize >= 40:
                if body + 26 > len(buf):
                    raise AudioError(f"{name}: truncated WAV (fmt chunk cut off)")
                tag = struct.unpack("<H", buf[body + 24:body + 26])[0]
            fmt = (tag, channels, rate, block, bits)
        elif cid == b"data":
            if fmt is None:
                raise AudioError(f"{name}: malformed WAV (data chunk before fmt chunk)")
            available = len(buf) - body
            if csize > available and csize != 0xFFFFFFFF:
                raise AudioError(f"{name}: truncated WAV (header promises {csize} bytes of audio, file has {available})")
            return _checked(name, body, min(csize, available), fmt)
        pos = body + csize + (csize & 1)
    if pos < len(buf) or fmt:
        raise AudioError(f"{name}: truncated WAV (file ends before the audio data)")
    raise AudioError(f"{name}: malformed WAV (no fmt chunk)")


def _checked(name: str, offset: int, nbytes: int, fmt: tuple[int, int, int, int, int]) -> WavLayout:
    tag, channels, rate, block, bits = fmt
    if not (1 <= channels <= MAX_CHANNELS and MIN_RATE <= rate <= MAX_RATE):
        raise AudioError(f"{name}: implausible WAV header ({channels} channels at {rate} Hz; this reads 1-{MAX_CHANNELS} "
                         f"channels at {MIN_RATE}-{MAX_RATE} Hz)")
    if tag == _PCM and bits in (8, 16, 24, 32):
        is_float = False
    elif tag == _FLOAT and bits in (32, 64):
        is_float = True
    else:
        kind = {1: "PCM", 3: "float", 6: "A-law", 7: "mu-law", 2: "ADPCM"}.get(tag, f"format 0x{tag:04x}")
        raise AudioError(f"{name}: unsupported WAV encoding ({kind}, {bits}-bit); use 8/16/24/32-bit PCM or 32/64-bit float")
    frames = nbytes // (bits // 8 * channels)
    if frames == 0:
        raise AudioError(f"{name}: WAV holds no audio samples")
    return WavLayout(rate, channels, bits, is_float, offset, frames)


def float_frames(raw: np.ndarray, is_float: bool) -> np.ndarray:
    """Decoded frames as float32 in [-1, 1], always a copy (`raw` views the file's read-only bytes)."""
    return raw.astype(np.float32) if is_float else to_float32(raw)


def decode_frames(lay: WavLayout, data: bytes) -> np.ndarray:
    """Whole frames of `data` → (frames, channels) in the file's own sample type (24-bit widened to int32)."""
    n = len(data) // lay.frame_bytes
    raw = np.frombuffer(data, np.uint8, count=n * lay.frame_bytes)
    if lay.bits == 24:
        b = raw.reshape(-1, 3).astype(np.int32)
        return ((b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)).reshape(n, lay.channels)
    dtype = np.dtype({8: "u1", 16: "<i2", 32: "<f4" if lay.is_float else "<i4", 64: "<f8"}[lay.bits])
    return raw.view(dtype).reshape(n, lay.channels)


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int = 16000) -> None:
    """Write float samples in [-1, 1] (mono or (n, channels)) as 16-bit PCM (stdlib `wave`: the daemon's
    detection recorder writes these, and the runtime imports no scipy)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
