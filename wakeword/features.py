"""Streaming STFT features, log power or PCEN: the one front end used by training and by live detection.

Why one implementation: a model only works on the features it was trained on, so the training pipeline
(`wakeword.train.dataset`) and the runtime both call this module. Frames are emitted only once all of
their samples have arrived (no padding), which is what makes chunked streaming give exactly the frames of
one pass over the whole signal.

PCEN (per-channel energy normalization, Wang et al. 2017) divides each band's power by its own running mean
before compressing it: a steady background (hiss, hum, a fan) settles near one value whatever its level or
colour, and speech stands out by how far it rises above it. The compression is log1p(E / (delta * M)), not the
paper's root: it keeps the log features' range (about 0-14) where a root grows without bound over a quiet floor.
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
    pcen: bool = False  # PCEN features instead of log10 power (card: frontend.features)

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    def num_frames(self, n_samples: int) -> int:
        """Frames a signal of `n_samples` yields (frames need all their samples)."""
        return 0 if n_samples < self.n_fft else (n_samples - self.n_fft) // self.hop + 1

    def frame_end_time(self, frame_index: int) -> float:
        """Stream time (s) of the last sample of a frame."""
        return (frame_index * self.hop + self.n_fft) / self.sample_rate

    @property
    def features(self) -> str:
        """The card's name for what the frames hold."""
        return PCEN if self.pcen else LOG_POWER


LOG_POWER, PCEN = "log10 power", "pcen"
PCEN_TIME_S = 0.4  # time constant of each band's running mean (librosa's default)
PCEN_DELTA = 2.0  # the knee: a band at its own mean reads log1p(1 / delta) = 0.41


def _window(n_fft: int) -> np.ndarray:
    # Periodic Hann, as scipy.signal.get_window("hann", n_fft) and tf.signal.hann_window(periodic=True).
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def _power(frames: np.ndarray, window: np.ndarray, floor: float) -> np.ndarray:
    # numpy's FFT, not scipy's: scipy.fft is faster on long batches but importing it costs the daemon ~28 MB of
    # memory and ~0.3 s of start-up, more than it saves (~0.5 CPU s per hour of audio). numpy 1.x computes in
    # float64: the cast keeps the frames float32 either way.
    spectrum = np.fft.rfft(frames * window, axis=-1).astype(np.complex64, copy=False)
    # In place: on the live path every call comes after a sleep (cold caches), where each temporary array counts.
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    power += np.float32(floor)
    return power


class _BandMeans:
    """Each band's running mean of the power, M[t] = (1 - s) M[t-1] + s E[t], starting at the first frame, its
    state carried from chunk to chunk, returned times PCEN_DELTA (what the power is divided by). Blocks of frames
    are one matrix product each: a Python loop per frame would double the runtime's CPU."""

    BLOCK = 32

    def __init__(self, config: FrontEndConfig) -> None:
        frames = PCEN_TIME_S * config.sample_rate / config.hop
        s = (np.sqrt(1 + 4 * frames**2) - 1) / (2 * frames**2)  # librosa.pcen's coefficient for this constant
        t = np.arange(self.BLOCK)
        # delta W[t, j] = delta s (1 - s)^(t - j) for j <= t; carry[t]: what M[-1] still weighs at frame t
        self._weights = np.tril(PCEN_DELTA * s * (1 - s) ** (t[:, None] - t[None, :])).astype(np.float32)
        self._carry = ((1 - s) ** (t + 1))[:, None].astype(np.float32)
        self._mean: np.ndarray | None = None  # M[-1] * PCEN_DELTA

    def __call__(self, power: np.ndarray) -> np.ndarray:
        out = np.empty_like(power)
        if self._mean is None and len(power):
            self._mean = power[0] * np.float32(PCEN_DELTA)
        for a in range(0, len(power), self.BLOCK):
            k = min(self.BLOCK, len(power) - a)
            m = out[a:a + k]
            np.matmul(self._weights[:k, :k], power[a:a + k], out=m)
            m += self._carry[:k] * self._mean
            self._mean = m[-1].copy()
        return out


def _features(power: np.ndarray, means: _BandMeans | None) -> np.ndarray:
    if means is None:
        return np.log10(power, out=power)
    power /= means(power)
    return np.log1p(power, out=power)


def _frames(buf: np.ndarray, n: int, config: FrontEndConfig) -> np.ndarray:
    """n overlapping frames of a contiguous float32 buf as a strided view (no copy; the ndarray constructor
    costs a few µs where as_strided / sliding_window_view cost tens)."""
    step = buf.itemsize
    return np.ndarray((n, config.n_fft), buf.dtype, buf, 0, (config.hop * step, step))


def spectrogram(signal: np.ndarray, config: FrontEndConfig = FrontEndConfig()) -> np.ndarray:
    """Feature frames (n_frames, n_bins) of a whole float signal in [-1, 1] at config.sample_rate."""
    signal = np.ascontiguousarray(signal, dtype=np.float32)
    n = config.num_frames(len(signal))
    if n == 0:
        return np.zeros((0, config.n_bins), np.float32)
    power = _power(_frames(signal, n, config), _window(config.n_fft), config.log_floor)
    return _features(power, _BandMeans(config) if config.pcen else None)


class StreamingSpectrogram:
    """Chunk-in, frames-out version of `spectrogram`: any chunk sizes give the same frames."""

    def __init__(self, config: FrontEndConfig = FrontEndConfig()) -> None:
        self.config = config
        self._window = _window(config.n_fft)
        self._pending = np.zeros(0, np.float32)
        self.frames_emitted = 0
        self._means = _BandMeans(config) if config.pcen else None

    def reset(self) -> None:
        self._pending = np.zeros(0, np.float32)
        self.frames_emitted = 0
        self._means = _BandMeans(self.config) if self.config.pcen else None

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Feed float samples; returns the frames (k, n_bins) that became complete."""
        cfg = self.config
        chunk = np.ascontiguousarray(chunk, np.float32)
        buf = np.concatenate([self._pending, chunk]) if len(self._pending) else chunk
        n = cfg.num_frames(len(buf))
        if n == 0:
            self._pending = buf
            return np.zeros((0, cfg.n_bins), np.float32)
        out = _features(_power(_frames(buf, n, cfg), self._window, cfg.log_floor), self._means)
        self._pending = buf[n * cfg.hop :].copy()
        self.frames_emitted += n
        return out
