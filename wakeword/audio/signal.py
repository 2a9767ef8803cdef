"""Offline signal helpers at the model's rate, shared by evaluation, training and benchmarks.

One place for the sample rate, loudness (`rms`, `normalize`), silence trimming, noise and backgrounds, and the
one offline resampler (`resample_to_16k`; the live path streams through audio/resample.py, which gives the same
samples). numpy only at import: scipy (the [train] extra) is loaded where training resamples a file, never at run time.
"""
from __future__ import annotations

import numpy as np

SR = 16000  # the model's sample rate


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def audible_rms(x: np.ndarray) -> float:
    """RMS of the samples above -60 dBFS (the speech, not the pauses between words); of all samples if none is."""
    audible = x[np.abs(x) > 1e-3]
    return rms(audible) if len(audible) else rms(x)


def trim(audio: np.ndarray, rel_db: float = -40.0, pad_s: float = 0.02) -> np.ndarray:
    """Cut leading/trailing silence (10 ms frames below rel_db of the loudest), keeping a short pad."""
    hop = SR // 100
    n = len(audio) // hop
    if n == 0:
        return audio
    r = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    active = np.nonzero(r > r.max() * 10 ** (rel_db / 20))[0]
    pad = int(pad_s * SR)
    return audio[max(0, active[0] * hop - pad): min(len(audio), (active[-1] + 1) * hop + pad)]


NOISE_KINDS = ("white", "pink", "brown")


def colored_noise(n: int, rng: np.random.Generator, kind: str | None = None) -> np.ndarray:
    """White, pink or brown noise (`kind`, else drawn at random), unit RMS."""
    k = NOISE_KINDS.index(kind) if kind is not None else rng.integers(3)
    white = rng.standard_normal(n)
    if k == 0:
        x = white
    else:
        spec = np.fft.rfft(white) / (np.arange(n // 2 + 1) + 1.0) ** (0.5 if k == 1 else 1.0)
        x = np.fft.irfft(spec, n)
    return (x / (np.std(x) + 1e-9)).astype(np.float32)


def excerpt(pool: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples from a random start in a random track of `pool`, looped if the track is shorter."""
    track = pool[rng.integers(len(pool))]
    start = rng.integers(max(1, len(track) - n))
    return np.resize(track[start:start + n], n)


def background(n: int, pool: list[np.ndarray], rng: np.random.Generator, seg_s: float = 10.0) -> np.ndarray:
    """Unit-RMS background: 10 s segments of audio from `pool` (60%) or coloured noise."""
    out = np.zeros(n, np.float32)
    seg = int(seg_s * SR)
    for a in range(0, n, seg):
        b = min(n, a + seg)
        if pool and rng.random() < 0.6:
            x = excerpt(pool, b - a, rng)
        else:
            x = colored_noise(b - a, rng)
        out[a:b] = x / max(rms(x), 1e-4)
    return out


def normalize(audio: np.ndarray, target_rms: float = 0.05) -> np.ndarray:
    """`audio` scaled to `target_rms` (clipped to ±1): how every evaluation stream is levelled."""
    return np.clip(audio * (target_rms / max(rms(audio), 1e-6)), -1, 1).astype(np.float32)


def resample_to_16k(x: np.ndarray, rate: int) -> np.ndarray:
    """float32 audio at `rate` → float32 at 16 kHz (polyphase, scipy's resample_poly); unchanged at 16 kHz."""
    if rate == SR:
        return x
    from scipy.signal import resample_poly

    g = np.gcd(rate, SR)
    return resample_poly(x, SR // g, rate // g).astype(np.float32)
