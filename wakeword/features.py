"""Streaming log-power STFT: the one front end used by training and by live detection.

Why one implementation: a model only works on the features it was trained on, so the training pipeline
(`wakeword.train.dataset`) and the runtime both call this module. Frames are emitted only once all of
their samples have arrived (no padding), which is what makes chunked streaming give exactly the frames of
one pass over the whole signal.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FrontEndConfig:
    """Front-end parameters; a model card carries these and the runtime refuses a mismatch."""

    sample_rate: int = 16000
    n_fft: int = 200
    hop: int = 80
    log_floor: float = 1e-10

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    def num_frames(self, n_samples: int) -> int:
        """Frames a signal of `n_samples` yields (frames need all their samples)."""
        return 0 if n_samples < self.n_fft else (n_samples - self.n_fft) // self.hop + 1

    def frame_end_time(self, frame_index: int) -> float:
        """Stream time (s) of the last sample of a frame."""
        return (frame_index * self.hop + self.n_fft) / self.sample_rate


def _window(n_fft: int) -> np.ndarray:
    # Periodic Hann, as scipy.signal.get_window("hann", n_fft) and tf.signal.hann_window(periodic=True).
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def _log_power(frames: np.ndarray, window: np.ndarray, floor: float) -> np.ndarray:
    # numpy's FFT, not scipy's: scipy.fft is faster on long batches but importing it costs the daemon ~28 MB of
    # memory and ~0.3 s of start-up, more than it saves (~0.5 CPU s per hour of audio). numpy 1.x computes in
    # float64: the cast keeps the frames float32 either way.
    spectrum = np.fft.rfft(frames * window, axis=-1).astype(np.complex64, copy=False)
    # In place: on the live path every call comes after a sleep (cold caches), where each temporary array counts.
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    power += np.float32(floor)
    return np.log10(power, out=power)


def _frames(buf: np.ndarray, n: int, config: FrontEndConfig) -> np.ndarray:
    """n overlapping frames of a contiguous float32 buf as a strided view (no copy; the ndarray constructor
    costs a few µs where as_strided / sliding_window_view cost tens)."""
    step = buf.itemsize
    return np.ndarray((n, config.n_fft), buf.dtype, buf, 0, (config.hop * step, step))


def spectrogram(signal: np.ndarray, config: FrontEndConfig = FrontEndConfig()) -> np.ndarray:
    """Log-power frames (n_frames, n_bins) of a whole float signal in [-1, 1] at config.sample_rate."""
    signal = np.ascontiguousarray(signal, dtype=np.float32)
    n = config.num_frames(len(signal))
    if n == 0:
        return np.zeros((0, config.n_bins), np.float32)
    return _log_power(_frames(signal, n, config), _window(config.n_fft), config.log_floor)


class StreamingSpectrogram:
    """Chunk-in, frames-out version of `spectrogram`: any chunk sizes give the same frames."""

    def __init__(self, config: FrontEndConfig = FrontEndConfig()) -> None:
        self.config = config
        self._window = _window(config.n_fft)
        self._pending = np.zeros(0, np.float32)
        self.frames_emitted = 0

    def reset(self) -> None:
        self._pending = np.zeros(0, np.float32)
        self.frames_emitted = 0

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Feed float samples; returns the frames (k, n_bins) that became complete."""
        cfg = self.config
        chunk = np.ascontiguousarray(chunk, np.float32)
        buf = np.concatenate([self._pending, chunk]) if len(self._pending) else chunk
        n = cfg.num_frames(len(buf))
        if n == 0:
            self._pending = buf
            return np.zeros((0, cfg.n_bins), np.float32)
        out = _log_power(_frames(buf, n, cfg), self._window, cfg.log_floor)
        self._pending = buf[n * cfg.hop :].copy()
        self.frames_emitted += n
        return out
