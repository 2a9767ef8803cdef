"""Evaluation the way the field measures it (notes/peers.md), through the runtime's own model runner.

- Positives: clips of held-out voices placed in a continuous stream, 3-5 s apart, over background noise
  at each SNR; a hit is an event in [clip start, clip end + 1 s].
- Negatives: hours of continuous negative audio never used in training (held-out sentences, held-out
  music, the held-out half of the real speech), events counted with a 4 s lockout.
- A threshold sweep gives the DET curve; the operating point for the recipe's target FA/h becomes the
  card's default threshold.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..detector import DetectorConfig, TriggerDetector
from ..features import StreamingSpectrogram
from ..model.card import ModelCard
from ..model.runner import StepModel
from .backgrounds import colored_noise
from .card_writer import SHAPES
from .mixing import rms

SR = 16000
LOCKOUT_S = 4.0
HIT_AFTER_S = 1.0
THRESHOLDS = np.round(np.concatenate([np.arange(0.05, 0.9, 0.05), np.arange(0.9, 0.995, 0.01)]), 3)
BASE = DetectorConfig(threshold=0.5, smoothing=3, patience=2, refractory_s=2.0)


@dataclass
class PositiveStream:
    audio: np.ndarray
    spans: list[tuple[float, float]]  # (start, end) of each clip's speech, seconds


def positive_stream(clips: list[np.ndarray], snr_db: float, backgrounds: list[np.ndarray], rng: np.random.Generator
                    ) -> PositiveStream:
    gaps = rng.uniform(3.0, 5.0, len(clips))
    total = int((sum(len(c) for c in clips) / SR + gaps.sum() + 2) * SR)
    bg = _background(total, backgrounds, rng)
    audio, spans, pos = bg.copy(), [], int(1.5 * SR)
    for clip, gap in zip(clips, gaps):
        local = rms(bg[pos:pos + len(clip)])
        audio[pos:pos + len(clip)] += clip * (local * 10 ** (snr_db / 20) / rms(clip))
        spans.append((pos / SR, (pos + len(clip)) / SR))
        pos += len(clip) + int(gap * SR)
    return PositiveStream(_level(audio), spans)


def _background(n: int, pool: list[np.ndarray], rng: np.random.Generator, seg_s: float = 10.0) -> np.ndarray:
    """Unit-RMS background of n samples made of segments of held-out music and noise."""
    out = np.zeros(n, np.float32)
    seg = int(seg_s * SR)
    for a in range(0, n, seg):
        b = min(n, a + seg)
        if pool and rng.random() < 0.6:
            track = pool[rng.integers(len(pool))]
            s = rng.integers(max(1, len(track) - (b - a)))
            x = np.resize(track[s:s + (b - a)], b - a)
        else:
            x = colored_noise(b - a, rng)
        out[a:b] = x / max(rms(x), 1e-4)
    return out


def _level(audio: np.ndarray) -> np.ndarray:
    return np.clip(audio * (0.05 / max(rms(audio), 1e-6)), -1, 1).astype(np.float32)


def negative_blocks(hours: float, speech: list[np.ndarray], backgrounds: list[np.ndarray], rng: np.random.Generator,
                    block_s: float = 60.0):
    """Yield one-minute blocks of negative audio (speech over music/noise) until `hours` are produced."""
    n_blocks = int(np.ceil(hours * 3600 / block_s))
    n = int(block_s * SR)
    for _ in range(n_blocks):
        bg = _background(n, backgrounds, rng)
        sp = np.zeros(n, np.float32)
        pos = int(rng.uniform(0, 2) * SR)
        while pos < n and speech:
            c = speech[rng.integers(len(speech))]
            seg = c[: n - pos]
            sp[pos:pos + len(seg)] += seg / max(rms(c), 1e-4)
            pos += len(c) + int(rng.uniform(0.2, 2.5) * SR)
        snr = rng.uniform(5, 25)
        yield _level(sp + bg * 10 ** (-snr / 20) if speech else bg)


def step_card(export_dir: Path, name: str, variant: str = "model") -> ModelCard:
    """A card for an exported (not yet installed) step model, so evaluation runs it through the runtime."""
    export = json.loads((export_dir / "export.json").read_text())
    tensors = {r: {"name": export[variant]["tensors"][r], "shape": s} for r, s in SHAPES.items()}
    data = {"name": name, "phrase": name, "model_file": f"{variant}.tflite", "tensors": tensors,
            "frontend": {"sample_rate": SR, "n_fft": 200, "hop": 80, "log_floor": 1e-10}, "step": {"kernel": 15, "stride": 4}}
    return ModelCard.from_dict(data, export_dir / "card.yaml")


class Scorer:
    """Per-step probabilities for continuous streams, through the runtime's StepModel."""

    def __init__(self, card: ModelCard) -> None:
        self.model = StepModel(card)
        self.step_s = card.geometry.step_seconds
        self.geometry = card.geometry

    def probabilities(self, blocks) -> np.ndarray:
        self.model.reset()
        fe = StreamingSpectrogram(self.model.card.frontend)
        return np.concatenate([self.model.process_frames(fe.process(b)) for b in blocks] or [np.zeros(0)])

    def event_times(self, probs: np.ndarray, cfg: DetectorConfig) -> np.ndarray:
        trig = TriggerDetector(cfg, self.step_s).scan(probs)
        return np.array([self.geometry.step_end_time(t.step) for t in trig])


def lockout(times: np.ndarray, seconds: float = LOCKOUT_S) -> int:
    count, last = 0, -1e9
    for t in times:
        if t - last >= seconds:
            count, last = count + 1, t
    return count


def score_positives(times: np.ndarray, spans: list[tuple[float, float]]) -> tuple[int, list[float]]:
    hits, lat = 0, []
    for start, end in spans:
        inside = times[(times >= start) & (times <= end + HIT_AFTER_S)]
        if len(inside):
            hits += 1
            lat.append(float(inside[0] - end))
    return hits, lat


def evaluate_recipe(recipe, export_dir: Path, variant: str, clips_dir: Path, bg_dir: Path, out_dir: Path,
                    quick: bool = False) -> dict:
    from .clips import ClipSet
    from .pipeline import _load_list

    rng = np.random.default_rng(recipe.seed + 7)
    scorer = Scorer(step_card(export_dir, recipe.name, variant))
    pos_clips = ClipSet.load(clips_dir / "eval_positives.npz").clips
    music = _load_list(bg_dir / "music_eval.npz")
    real = _load_list(bg_dir / "real_eval.npz")
    sentences = ClipSet.load(clips_dir / "eval_sentences.npz").clips
    ev = recipe.evaluation

    pos_probs = {}
    streams = {}
    for snr in ev.snr_db:
        st = positive_stream(pos_clips, snr, music, np.random.default_rng(recipe.seed + int(snr)))
        streams[snr] = st
        pos_probs[snr] = scorer.probabilities([st.audio])
    neg_probs = scorer.probabilities(negative_blocks(ev.negative_hours, sentences + real, music, rng))
    neg_hours = len(neg_probs) * scorer.step_s / 3600

    curve = []
    for thr in THRESHOLDS:
        cfg = BASE.replace(threshold=float(thr), rearm_threshold=float(thr) / 2)
        fa = lockout(scorer.event_times(neg_probs, cfg)) / neg_hours
        row = {"threshold": float(thr), "fa_per_hour": fa}
        for snr in ev.snr_db:
            hits, lat = score_positives(scorer.event_times(pos_probs[snr], cfg), streams[snr].spans)
            row[f"frr_{snr:g}db"] = 1 - hits / len(streams[snr].spans)
            row[f"latency_median_{snr:g}db"] = float(np.median(lat)) if lat else None
            row[f"latency_p95_{snr:g}db"] = float(np.percentile(lat, 95)) if lat else None
        curve.append(row)

    ref_snr = 10.0 if 10.0 in ev.snr_db else ev.snr_db[0]
    operating = {}
    for target in ev.fa_per_hour:
        ok = [r for r in curve if r["fa_per_hour"] <= target]
        if ok:
            best = min(r[f"frr_{ref_snr:g}db"] for r in ok)
            pick = max((r for r in ok if r[f"frr_{ref_snr:g}db"] == best), key=lambda r: r["threshold"])
            operating[f"{target:g}"] = pick
    default_target = "0.5" if "0.5" in operating else (next(iter(operating)) if operating else None)
    threshold = operating[default_target]["threshold"] if default_target else 0.9
    detector = asdict(BASE.replace(threshold=threshold, rearm_threshold=round(threshold / 2, 3)))

    accuracy = {
        "positives": f"{len(pos_clips)} clips of held-out voice families {recipe.holdout_families}, in continuous streams 3-5 s apart "
                     f"over held-out music and coloured noise; hit = event within [clip start, clip end + {HIT_AFTER_S:g} s]",
        "negatives": f"{neg_hours:.2f} h of continuous negative audio never used in training: {len(sentences)} held-out TTS sentences"
                     f" and {len(real)} held-out real recordings, over held-out music/noise at 5-25 dB; false accepts counted "
                     f"with a {LOCKOUT_S:g} s lockout",
        "operating_points": {f"{k} FA/h": {"threshold": v["threshold"], "fa_per_hour": round(v["fa_per_hour"], 3),
                                           **{f"frr_{s:g}db": round(v[f"frr_{s:g}db"], 4) for s in ev.snr_db},
                                           f"latency_median_{ref_snr:g}db_s": v[f"latency_median_{ref_snr:g}db"]}
                             for k, v in operating.items()},
    }
    results = {"detector": detector, "accuracy": accuracy, "curve": curve, "negative_hours": neg_hours}
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    _plots(out_dir, curve, ev.snr_db, streams[ref_snr], pos_probs[ref_snr], scorer, threshold, recipe.name)
    print(json.dumps(accuracy["operating_points"], indent=1))
    return results


def _plots(out_dir: Path, curve: list[dict], snrs, stream: PositiveStream, probs: np.ndarray, scorer: Scorer,
           threshold: float, name: str) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plots (pip install .[train])")
        return
    from ..features import spectrogram

    fig, ax = plt.subplots(figsize=(6, 4.5))
    fa = [max(r["fa_per_hour"], 0.01) for r in curve]
    for snr in snrs:
        ax.plot(fa, [r[f"frr_{snr:g}db"] * 100 for r in curve], marker=".", label=f"{snr:g} dB SNR")
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour (0 drawn at 0.01)")
    ax.set_ylabel("false-reject rate (%)")
    ax.set_title(f"{name}: DET on held-out voices")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "det.png", dpi=110)
    plt.close(fig)

    start, end = stream.spans[0][0] - 1.0, stream.spans[2][1] + 1.5
    a, b = int(start * SR), int(end * SR)
    spec = spectrogram(stream.audio[a:b])
    t_steps = np.array([scorer.geometry.step_end_time(i) for i in range(len(probs))])
    sel = (t_steps >= start) & (t_steps <= end)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    ax1.imshow(spec.T, origin="lower", aspect="auto", extent=[start, start + len(spec) * 0.005, 0, 8000], cmap="magma")
    ax1.set_ylabel("Hz")
    ax1.set_title(f"{name}: held-out voice clips at 10 dB SNR")
    ax2.plot(t_steps[sel], probs[sel], label="probability")
    ax2.axhline(threshold, color="r", ls="--", label=f"threshold {threshold:g}")
    for s, e in stream.spans[:3]:
        ax2.axvspan(s, e, color="g", alpha=0.15)
    ax2.set_xlabel("stream time (s); green: phrase")
    ax2.set_ylim(0, 1.02)
    ax2.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(out_dir / "example.png", dpi=110)
    plt.close(fig)
