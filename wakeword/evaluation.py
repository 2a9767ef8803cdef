"""Accuracy measured the way the field measures it (notes/peers.md), through the runtime's own Engine.

Positives (clips of the phrase) are placed in one continuous stream 3-5 s apart, optionally over noise
at an SNR; a hit is an event in [clip start, clip end + 1 s]. Negatives are concatenated into a
continuous stream; every event there is a false accept, counted with a 4 s lockout. Per-step
probabilities are computed once per stream; the trigger detector then sweeps thresholds (DET curve).
Used by `wakeword eval` and by the training pipeline's evaluation stage.
"""
from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from .audio.decode import decode
from .audio.resample import StreamingResampler
from .audio.signal import SR, audible_rms, background, normalize, rms, trim
from .audio.wav import read_wav
from .detector import DetectorConfig, TriggerDetector
from .errors import AudioError
from .model.geometry import StepGeometry

LOCKOUT_S = 4.0
HIT_AFTER_S = 1.0
THRESHOLDS = np.round(np.concatenate([np.arange(0.05, 0.9, 0.05), np.arange(0.9, 0.995, 0.01)]), 3)


AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def load_clips(dirs: Iterable[str]) -> list[tuple[str, np.ndarray]]:
    """Every WAV/FLAC (OGG, MP3) file under `dirs` as 16 kHz mono float32; an unreadable file is an AudioError
    naming it. WAV is read directly, other formats through ffmpeg or sox."""
    out = []
    for d in dirs:
        if not os.path.isdir(d):
            raise AudioError(f"{d}: not a directory")
        files = sorted(f for f in glob.glob(os.path.join(d, "**", "*"), recursive=True)
                       if f.lower().endswith(AUDIO_EXTENSIONS) and os.path.isfile(f))
        if not files:
            raise AudioError(f"{d}: no .wav or .flac files found")
        for f in files:
            if f.lower().endswith(".wav"):
                w = read_wav(f)
                x = StreamingResampler(w.sample_rate).process(w.samples)  # scipy-free, as every runtime path
            else:
                x = decode(f)
            out.append((f, np.asarray(x, np.float32)))
    return out


@dataclass
class PositiveStream:
    audio: np.ndarray
    spans: list[tuple[float, float]]  # (start, end) of each clip's speech, seconds


def positive_stream(clips: list[np.ndarray], snr_db: float | None, noise_pool: list[np.ndarray], rng: np.random.Generator
                    ) -> PositiveStream:
    """Clips (silence trimmed) 3-5 s apart in one stream; with `snr_db`, over background at that SNR."""
    clips = [trim(c) for c in clips]
    gaps = rng.uniform(3.0, 5.0, len(clips))
    total = int((sum(len(c) for c in clips) / SR + gaps.sum() + 2) * SR)
    bg = background(total, noise_pool, rng) if snr_db is not None else np.zeros(total, np.float32)
    audio, spans, pos = bg * 0 if snr_db is None else bg.copy(), [], int(1.5 * SR)
    for clip, gap in zip(clips, gaps):
        gain = rms(bg[pos:pos + len(clip)]) * 10 ** (snr_db / 20) / rms(clip) if snr_db is not None else \
            0.1 / max(rms(clip), 1e-4)
        audio[pos:pos + len(clip)] += clip * gain
        spans.append((pos / SR, (pos + len(clip)) / SR))
        pos += len(clip) + int(gap * SR)
    return PositiveStream(normalize(audio), spans)


def concatenated(clips: list[np.ndarray], block_s: float = 60.0, gap_s: float = 0.5) -> Iterator[np.ndarray]:
    """Negative clips back to back (with short gaps) as a stream of blocks."""
    gap = np.zeros(int(gap_s * SR), np.float32)
    block, size = [], 0
    for c in clips:
        block += [c, gap]
        size += len(c) + len(gap)
        if size >= block_s * SR:
            yield np.concatenate(block)
            block, size = [], 0
    if block:
        yield np.concatenate(block)


def with_noise(blocks: Iterable[np.ndarray], snr_db: float | None, noise_pool: list[np.ndarray],
               rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Blocks of speech over `background` at `snr_db` (RMS of the block's audible samples against the noise's);
    None passes them through unchanged."""
    for b in blocks:
        if snr_db is None:
            yield b
            continue
        gain = audible_rms(b) * 10 ** (-snr_db / 20)
        yield np.clip(b + background(len(b), noise_pool, rng) * gain, -1, 1).astype(np.float32)


def probabilities(engine, blocks: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-step probabilities of every engine model over one continuous stream (one engine.reset())."""
    got: dict[str, list[np.ndarray]] = {m.name: [] for m in engine.models}
    hook = engine.on_scores(lambda name, p: got[name].append(p))
    try:
        engine.reset()
        for b in blocks:
            engine.process(b)
    finally:
        engine.off_scores(hook)
    return {k: np.concatenate(v) if v else np.zeros(0, np.float32) for k, v in got.items()}


@dataclass(frozen=True, eq=False)
class Trace:
    """A probability trace with explicit step end times: how a peer engine's scores (or ours) enter `sweep`.

    `times[t]` is the stream time (s) at the end of the audio consumed when `probs[t]` was produced;
    `step_seconds` is the nominal step (it converts the detector's refractory period to steps);
    `duration_s`, if given, is the stream's length for FA/h (default: len(probs) * step_seconds).
    """
    probs: np.ndarray
    times: np.ndarray
    step_seconds: float
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if len(self.probs) != len(self.times):
            raise ValueError(f"Trace: {len(self.probs)} probabilities but {len(self.times)} times")

    @property
    def seconds(self) -> float:
        return self.duration_s if self.duration_s is not None else len(self.probs) * self.step_seconds

    @classmethod
    def from_geometry(cls, probs: np.ndarray, geometry: StepGeometry, duration_s: float | None = None) -> "Trace":
        """Our model's trace: step t ends at `geometry.step_end_time(t)`."""
        return cls(np.asarray(probs), geometry.step_end_times(len(probs)), geometry.step_seconds, duration_s)


def event_times(probs: np.ndarray | Trace, cfg: DetectorConfig, geometry: StepGeometry | None = None) -> np.ndarray:
    """Stream times of the detector's events on a trace (a bare array is timed by `geometry`)."""
    if isinstance(probs, Trace):
        times = probs.times
        return np.array([times[t.step] for t in TriggerDetector(cfg, probs.step_seconds).scan(probs.probs)])
    assert geometry is not None, "a bare array of probabilities is timed by the model's geometry"
    return np.array([geometry.step_end_time(t.step) for t in TriggerDetector(cfg, geometry.step_seconds).scan(probs)])


def lockout_count(times: np.ndarray, seconds: float = LOCKOUT_S) -> int:
    count, last = 0, -1e9
    for t in times:
        if t - last >= seconds:
            count, last = count + 1, t
    return count


def first_hits(times: np.ndarray, spans: list[tuple[float, float]]) -> list[float | None]:
    """For each clip span, the first event in [start, end + HIT_AFTER_S] (the hit rule), or None if missed."""
    out = []
    for start, end in spans:
        inside = times[(times >= start) & (times <= end + HIT_AFTER_S)]
        out.append(float(inside[0]) if len(inside) else None)
    return out


def score_positives(times: np.ndarray, spans: list[tuple[float, float]]) -> tuple[int, list[float]]:
    """Hits and each hit's latency after the clip's end."""
    lat = [t - end for t, (_, end) in zip(first_hits(times, spans), spans) if t is not None]
    return len(lat), lat


def missed_share(probs: np.ndarray, cfg: DetectorConfig, geometry: StepGeometry, spans: list[tuple[float, float]]
                 ) -> float:
    """Share of the clips at `spans` that raise no event (the hit rule) from one model's per-step probabilities."""
    hits, _ = score_positives(event_times(probs, cfg, geometry), spans)
    return 1 - hits / len(spans)


def sweep(positives: Mapping[str, tuple[np.ndarray | Trace, list[tuple[float, float]]]], negative_probs: np.ndarray | Trace,
          base: DetectorConfig, geometry: StepGeometry | None = None, thresholds: Iterable[float] = THRESHOLDS
          ) -> list[dict]:
    """DET curve rows: threshold, FA/h on the negatives, and per positive condition FRR and latency percentiles.

    Traces are either bare arrays of our model's steps (timed by `geometry`) or `Trace`s with explicit
    step end times (a peer engine's scores); `geometry` may be None when every trace is a `Trace`.
    """
    hours = (negative_probs.seconds if isinstance(negative_probs, Trace)
             else len(negative_probs) * geometry.step_seconds) / 3600  # type: ignore[union-attr]
    rows = []
    for thr in thresholds:
        cfg = base.replace(threshold=float(thr), rearm_threshold=min(base.rearm, float(thr) / 2))
        fa = lockout_count(event_times(negative_probs, cfg, geometry))
        row = {"threshold": float(thr), "false_accepts": fa, "fa_per_hour": fa / hours if hours else float("nan")}
        for label, (probs, spans) in positives.items():
            hits, lat = score_positives(event_times(probs, cfg, geometry), spans)
            row[f"frr_{label}"] = 1 - hits / len(spans)
            row[f"latency_p50_{label}"] = float(np.median(lat)) if lat else None
            row[f"latency_p95_{label}"] = float(np.percentile(lat, 95)) if lat else None
        rows.append(row)
    return rows


def fa_columns(negatives: Mapping[str, np.ndarray | Trace], base: DetectorConfig, geometry: StepGeometry | None = None,
               thresholds: Iterable[float] = THRESHOLDS) -> list[dict]:
    """Per threshold of `sweep`, FA/h on each further negative stream, as `fa_per_hour_<label>` columns to add to
    its rows (a curve whose operating points must hold on several negative sets)."""
    thresholds = list(thresholds)
    per = {label: sweep({}, probs, base, geometry, thresholds) for label, probs in negatives.items()}
    return [{f"fa_per_hour_{label}": rows[i]["fa_per_hour"] for label, rows in per.items()} for i in range(len(thresholds))]


def operating_points(curve: list[dict], targets: Iterable[float], ref: str,
                     fa_keys: Iterable[str] = ("fa_per_hour",)) -> dict[str, dict]:
    """For each FA/h target: the threshold with the lowest FRR on `ref` within it on every negative set named by
    `fa_keys` (highest such threshold)."""
    out, fa_keys = {}, tuple(fa_keys)
    for target in targets:
        ok = [r for r in curve if all(r[k] <= target for k in fa_keys)]
        if ok:
            best = min(r[f"frr_{ref}"] for r in ok)
            out[f"{target:g}"] = max((r for r in ok if r[f"frr_{ref}"] == best), key=lambda r: r["threshold"])
    return out


def plot_det(path: str, curve: list[dict], labels: list[str], title: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4.5))
    fa = [max(r["fa_per_hour"], 0.01) for r in curve]
    for label in labels:
        ax.plot(fa, [r[f"frr_{label}"] * 100 for r in curve], marker=".", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour (0 drawn at 0.01)")
    ax.set_ylabel("false-reject rate (%)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
