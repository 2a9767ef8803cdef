"""Mix clips into labelled training windows (trigger-word style) and compute their features.

A positive window holds one phrase placed at a random offset over a background at a random SNR (RMS
based), optionally reverberated and band-limited, with per-step labels that turn on from the end of the
phrase for `label_s` seconds. Negative windows hold near-misses, sentences or real speech over the same
kinds of background, all labels zero. Features come from the runtime's own front end.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt
from tqdm import tqdm

from ...features import spectrogram
from ...model.geometry import StepGeometry
from ...audio.signal import SR, audible_rms, colored_noise, excerpt, rms
from ..recipe import Mixing
from .real_speech import telephone


@dataclass
class Sources:
    positives: list[np.ndarray]
    near_misses: list[np.ndarray]
    sentences: list[np.ndarray]
    real_speech: list[np.ndarray]
    music: list[np.ndarray]
    irs: list[np.ndarray]


def warp(clip: np.ndarray, factor: float) -> np.ndarray:
    """Resample by `factor` (>1: shorter, higher pitch and formants): a cheap vocal-tract/speaker warp."""
    n = len(clip)
    return np.interp(np.arange(0, n - 1, factor), np.arange(n), clip).astype(np.float32)


def reverberate(clip: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """`clip` as heard through the room `ir`: its 0.25 s tail kept, its peak level restored."""
    wet = fftconvolve(clip, ir)[: len(clip) + SR // 4]
    return (wet / (np.abs(wet).max() + 1e-9) * np.abs(clip).max()).astype(np.float32)


def channel(clip: np.ndarray, rng: np.random.Generator, irs: list[np.ndarray], cfg: Mixing) -> np.ndarray:
    """Room and microphone: reverb from a real or synthetic RIR, low-pass / high-pass like cheap mics."""
    if irs and rng.random() < cfg.reverb:
        clip = reverberate(clip, irs[rng.integers(len(irs))])
    if rng.random() < cfg.lowpass:
        clip = sosfilt(butter(4, rng.uniform(*cfg.lowpass_hz), "low", fs=SR, output="sos"), clip).astype(np.float32)
    if rng.random() < cfg.highpass:
        clip = sosfilt(butter(2, rng.uniform(*cfg.highpass_hz), "high", fs=SR, output="sos"), clip).astype(np.float32)
    return clip


def augment_speech(clip: np.ndarray, rng: np.random.Generator, irs: list[np.ndarray], cfg: Mixing
                   ) -> tuple[np.ndarray, int]:
    """Warped and channel-augmented clip, and the sample index where its dry speech ends."""
    clip = warp(clip, rng.uniform(*cfg.warp))
    return channel(clip, rng, irs, cfg), len(clip)


def background(n: int, src: Sources, rng: np.random.Generator, cfg: Mixing) -> np.ndarray:
    """Unit-RMS background of n samples: music, real speech, babble or coloured noise (evaluation streams use
    audio.signal.background, which has no babble: their sentences are the negatives being scored)."""
    kinds = ["noise", "babble"] + (["music"] if src.music else []) + (["real"] if src.real_speech else [])
    kind = kinds[rng.integers(len(kinds))]
    x: np.ndarray
    if kind == "music":
        x = excerpt(src.music, n, rng)
    elif kind in ("real", "babble"):
        pool = src.real_speech if kind == "real" else src.sentences
        x = np.zeros(n, np.float32)
        for _ in range(1 if kind == "real" else rng.integers(*cfg.babble_voices)):
            c = pool[rng.integers(len(pool))]
            off = int(rng.integers(-len(c) // 2, n))
            a, b = max(0, off), min(n, off + len(c))
            if b > a:
                x[a:b] += c[a - off:b - off] * rng.uniform(*cfg.background_speech_gain)
    else:
        x = colored_noise(n, rng)
    r = rms(x)
    return (x / r).astype(np.float32) if r > 1e-4 else colored_noise(n, rng)


def place(dst: np.ndarray, clip: np.ndarray, offset: int, gain: float) -> None:
    a, b = max(0, offset), min(len(dst), offset + len(clip))
    if b > a:
        dst[a:b] += clip[a - offset:b - offset] * gain


def make_window(src: Sources, positive: bool, cfg: Mixing, geom: StepGeometry, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """One window of audio and its per-step labels."""
    n = int(cfg.window_s * SR)
    speech = np.zeros(n, np.float32)
    labels = np.zeros(geom.num_steps(geom.frontend.num_frames(n)), np.float32)
    if positive:
        clip, end = augment_speech(src.positives[rng.integers(len(src.positives))], rng, src.irs, cfg)
        end_at = int(rng.uniform(min(end, n - SR // 10), n - SR // 20))  # phrase ends inside the window
        place(speech, clip, end_at - end, 1.0)
        t_end = end_at / SR
        ends = geom.step_end_times(len(labels))
        labels[(ends >= t_end) & (ends <= t_end + cfg.label_s)] = 1.0
        if rng.random() < cfg.command and src.sentences:  # "hey saffy, turn on the lights"
            s, _ = augment_speech(src.sentences[rng.integers(len(src.sentences))], rng, src.irs, cfg)
            place(speech, s, end_at + int(rng.uniform(*cfg.command_gap_s) * SR), rng.uniform(*cfg.speech_gain))
        if rng.random() < cfg.preamble and src.sentences:
            s, s_end = augment_speech(src.sentences[rng.integers(len(src.sentences))], rng, src.irs, cfg)
            place(speech, s, end_at - end - s_end - int(rng.uniform(*cfg.preamble_gap_s) * SR),
                  rng.uniform(*cfg.speech_gain))
    else:
        pools = [p for p in (src.near_misses, src.sentences, src.real_speech) if p]
        weights = np.array(cfg.negative_weights[: len(pools)])
        for _ in range(rng.choice(cfg.negative_clips)):  # often dense speech: false accepts hide in running speech
            pool = pools[rng.choice(len(pools), p=weights / weights.sum())]
            clip, end = augment_speech(pool[rng.integers(len(pool))], rng, src.irs, cfg)
            place(speech, clip, int(rng.uniform(-0.5 * end, n - 0.3 * end)), rng.uniform(*cfg.speech_gain))
    mix = background(n, src, rng, cfg)
    if rms(speech) > 1e-4:
        snr = rng.uniform(*cfg.snr_db) if rng.random() > cfg.clean else rng.uniform(*cfg.clean_snr_db)
        mix = mix * (audible_rms(speech) / 10 ** (snr / 20)) + speech
    else:
        mix = mix * rng.uniform(*cfg.quiet_gain)
    if cfg.telephone and rng.random() < cfg.telephone:
        mix = telephone(mix, rng)
    level = 10 ** (rng.uniform(*cfg.level_dbfs) / 20)
    mix = np.clip(mix * (level / rms(mix)), -1, 1).astype(np.float32)
    return mix, labels


def make_features(src: Sources, cfg: Mixing, geom: StepGeometry, n_pos: int, n_neg: int, seed: int,
                  embed: Callable[[np.ndarray], np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Features (N, frames, bins) float16 and labels (N, steps) for shuffled positive+negative windows, and with
    `embed` each window's audio through it (N, ...) float16 (benchmarks/embedding_frontend.py: its embeddings)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(np.r_[np.ones(n_pos, bool), np.zeros(n_neg, bool)])
    frames = geom.frontend.num_frames(int(cfg.window_s * SR))
    x = np.zeros((len(order), frames, geom.frontend.n_bins), np.float16)
    y = np.zeros((len(order), geom.num_steps(frames)), np.float32)
    e = None
    for i, positive in enumerate(tqdm(order, desc="mix+features")):
        audio, y[i] = make_window(src, bool(positive), cfg, geom, rng)
        x[i] = spectrogram(audio, geom.frontend)
        if embed is not None:
            target = embed(audio)
            e = np.zeros((len(order), *target.shape), np.float16) if e is None else e
            e[i] = target
    return x, y, e
