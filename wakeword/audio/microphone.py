"""Live capture with sounddevice (PortAudio).

PortAudio's callback only copies samples into a preallocated ring buffer and counts overflows; the
processing thread drains the buffer. Resampling and channel mixing happen in the engine, off the audio
thread, so the device can run at its native rate (44.1/48 kHz mics work).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from ..errors import AudioError

NO_MIC_HELP = ("no microphone found (no audio input device). To run on a file instead: "
               "`wakeword detect recording.wav` or `wakeword run --input recording.wav`; "
               "or pipe audio: `arecord -f S16_LE -r 16000 -c 1 | wakeword run --input -`")


def _sd():
    try:
        import sounddevice
    except OSError:
        raise AudioError("PortAudio library not found: install it (`apt-get install libportaudio2`), "
                         "or run on a file: `wakeword detect recording.wav`") from None
    return sounddevice


def list_input_devices() -> list[dict]:
    sd = _sd()
    default_in = sd.default.device[0]
    return [{"index": i, "name": d["name"], "channels": d["max_input_channels"], "default_samplerate": d["default_samplerate"],
             "default": i == default_in} for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]


class RingBuffer:
    """Single-producer single-consumer ring of int16 frames; the writer never blocks or allocates."""

    def __init__(self, capacity: int, channels: int) -> None:
        self._buf = np.zeros((capacity, channels), np.int16)
        self._write = 0  # total frames written
        self._read = 0  # total frames read
        self.overflows = 0  # frames dropped because the reader fell behind
        self._ready = threading.Event()

    def write(self, frames: np.ndarray) -> None:
        cap = len(self._buf)
        free = cap - (self._write - self._read)
        if len(frames) > free:
            self.overflows += len(frames) - free
            frames = frames[:free]
        n = len(frames)
        start = self._write % cap
        first = min(n, cap - start)
        self._buf[start:start + first] = frames[:first]
        self._buf[: n - first] = frames[first:]
        self._write += n
        self._ready.set()

    def read(self, timeout: float) -> np.ndarray | None:
        """All frames available now (waits up to `timeout` for some); None on timeout."""
        if self._write == self._read and not self._ready.wait(timeout):
            return None
        self._ready.clear()
        cap = len(self._buf)
        n = self._write - self._read
        start = self._read % cap
        idx = (start + np.arange(n)) % cap
        out = self._buf[idx].copy()
        self._read += n
        return out


class Microphone:
    """An audio source for `Engine.start()`: yields int16 chunks (frames, channels) at the device rate."""

    def __init__(self, device: str | int | None = None, sample_rate: int | None = None, channels: int | None = None,
                 buffer_seconds: float = 10.0) -> None:
        sd = _sd()
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        try:
            info = sd.query_devices(device, "input")
        except (ValueError, sd.PortAudioError):
            if device is None:
                raise AudioError(NO_MIC_HELP) from None
            raise AudioError(f"input device {device!r} not found; `wakeword devices` lists them") from None
        self.device = device
        self.name = info["name"]
        self.channels = channels or min(int(info["max_input_channels"]), 2) or 1
        self.sample_rate = int(sample_rate or (16000 if self._supports(sd, 16000) else info["default_samplerate"]))
        self.ring = RingBuffer(int(buffer_seconds * self.sample_rate), self.channels)
        self.status_flags = 0
        self._closed = threading.Event()

    def _supports(self, sd, rate: int) -> bool:
        try:
            sd.check_input_settings(device=self.device, samplerate=rate, channels=self.channels, dtype="int16")
            return True
        except Exception:
            return False

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio thread: copy only
        if status:
            self.status_flags += 1
        self.ring.write(indata)

    def close(self) -> None:
        self._closed.set()

    def __iter__(self) -> Iterator[np.ndarray]:
        sd = _sd()
        try:
            stream = sd.InputStream(device=self.device, samplerate=self.sample_rate, channels=self.channels, dtype="int16",
                                    callback=self._callback)
        except sd.PortAudioError as e:
            raise AudioError(f"cannot open input device {self.name!r}: {e}") from None
        with stream:
            while not self._closed.is_set():
                chunk = self.ring.read(timeout=0.5)
                if chunk is not None and len(chunk):
                    yield chunk
