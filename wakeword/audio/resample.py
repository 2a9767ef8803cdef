"""Streaming polyphase resampling and channel mixing to the model's 16 kHz mono.

The streaming resampler gives the same samples as `scipy.signal.resample_poly` over the whole signal
(same Kaiser-windowed FIR, same delay compensation), except the last filter-length of samples which a
stream cannot know yet; chunk sizes do not matter. It runs on the processing thread, never in the
audio callback.
"""
from __future__ import annotations

import numpy as np

from ..errors import AudioError


def to_float32(a: np.ndarray) -> np.ndarray:
    """Samples of any shape → float32 in [-1, 1] by their type: int16, int32 (also 24-bit audio shifted into the top
    bits), uint8 (offset 128) or float. The one integer-to-float conversion, for the live path and for files."""
    if a.dtype == np.int16:
        a = np.multiply(a, np.float32(1 / 32768), dtype=np.float32)
    elif a.dtype == np.int32:
        a = np.multiply(a, np.float32(1 / 2147483648), dtype=np.float32)
    elif a.dtype == np.uint8:
        a = (a.astype(np.float32) - 128.0) / 128.0
    elif a.dtype.kind == "f":
        a = a.astype(np.float32, copy=False)
        if not np.isfinite(a).all():  # a float WAV may hold inf/nan: they would poison the features (and warn)
            a = np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=-1.0)
    else:
        raise TypeError(f"unsupported sample type {a.dtype}; use int16, int32, uint8 or float")
    return a


def to_mono_float(chunk: np.ndarray, channel: int | None = None) -> np.ndarray:
    """int or float samples, shape (n,) or (n, channels) → float32 mono (channel picked or averaged)."""
    a = np.asarray(chunk)
    if channel is not None and a.ndim == 2 and not 0 <= channel < a.shape[1]:
        raise AudioError(f"audio.channel {channel} does not exist: the input has {a.shape[1]} channel(s), 0-{a.shape[1] - 1}")
    if a.ndim == 2 and (channel is not None or a.shape[1] == 1):
        a = a[:, channel or 0]  # pick before converting: one pass over the samples
    a = to_float32(a)
    if a.ndim == 2:
        a = a.mean(axis=1, dtype=np.float32)
    elif a.ndim != 1:
        raise ValueError(f"audio chunks must be 1-D or (frames, channels), got shape {a.shape}")
    return a


def lowpass(numtaps: int, cutoff: float, beta: float = 5.0) -> np.ndarray:
    """Kaiser-windowed sinc low-pass, unit DC gain: scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta)),
    the filter resample_poly uses by default. Written out because importing scipy.signal costs the daemon ~50 MB."""
    m = np.arange(numtaps) - (numtaps - 1) / 2
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(numtaps, beta)
    return h / h.sum()


MIN_RATE, MAX_RATE = 4000, 384000  # what a microphone or a recording can have
MAX_DOWN = 1000


def check_rate(rate: object, what: str = "sample rate") -> None:
    """AudioError unless `rate` is an integer number of Hz a microphone or recording can have."""
    if not isinstance(rate, (int, np.integer)) or isinstance(rate, bool) or not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"{what} {rate!r} Hz is not supported: use {MIN_RATE}-{MAX_RATE} Hz")


class StreamingResampler:
    """Chunked equivalent of resample_poly(x, up, down) for rate_in → rate_out."""

    def __init__(self, rate_in: int, rate_out: int = 16000) -> None:
        check_rate(rate_in)
        # The filter has 20 taps per unit of max(up, down): a rate prime to 16 kHz (383987 Hz) once asked for 860 MB.
        # Every common rate reduces to a denominator <= 1000 exactly; any other is approximated within 0.01 %.
        if rate_in == rate_out:  # the usual case, 16 kHz in: `fractions` (and `decimal`, ~0.4 MB resident) not needed
            self.up = self.down = 1
        else:
            from fractions import Fraction

            ratio = Fraction(rate_out, rate_in).limit_denominator(MAX_DOWN)
            self.up, self.down = ratio.numerator, ratio.denominator
        max_rate = max(self.up, self.down)
        if self.up == self.down:
            self.h, self.delay, self._taps = np.ones(1), 0, np.ones((1, 1))
            self.reset()
            return
        self.h = lowpass(2 * 10 * max_rate + 1, 1.0 / max_rate) * self.up
        self.delay = (len(self.h) - 1) // 2  # in upsampled samples; output m ↔ global upsampled index m*down + delay
        n_q = -(-len(self.h) // self.up)
        padded = np.zeros(n_q * self.up)
        padded[: len(self.h)] = self.h
        self._taps = padded.reshape(n_q, self.up).T.copy()  # (phase, q): h[phase + q*up]
        self.reset()

    def reset(self) -> None:
        self._buf = np.zeros(0, np.float64)
        self._buf_start = 0  # global input index of _buf[0]
        self._next = 0  # next output index to emit
        self._n_in = 0

    @property
    def passthrough(self) -> bool:
        return self.up == self.down

    def process(self, x: np.ndarray) -> np.ndarray:
        """Feed input samples; returns every output sample whose inputs have all arrived."""
        if self.passthrough:
            return np.asarray(x, np.float32)
        self._buf = np.concatenate([self._buf, np.asarray(x, np.float64)])
        self._n_in += len(x)
        up, down, taps = self.up, self.down, self._taps
        # Output m is y_up[j], j = m*down + delay, y_up[j] = sum_q h[j%up + q*up] * x[j//up - q]  (polyphase form).
        last = ((self._n_in - 1) * up - self.delay) // down if self._n_in else -1
        if last < self._next:
            return np.zeros(0, np.float32)
        j = np.arange(self._next, last + 1) * down + self.delay
        base = j // up - self._buf_start
        q = np.arange(taps.shape[1])
        pos = base[:, None] - q[None, :]
        padded = np.concatenate([np.zeros(taps.shape[1]), self._buf])  # inputs before the stream start are zero
        out = np.einsum("ij,ij->i", taps[j % up], padded[pos + taps.shape[1]]).astype(np.float32)
        self._next = last + 1
        keep_from = max(0, (self._next * down + self.delay) // up - taps.shape[1])
        drop = keep_from - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start = keep_from
        return out
