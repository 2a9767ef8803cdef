"""Evaluation stage: the exported model on held-out voices and hours of unseen negative audio.

- Positives: clips of held-out voice families in continuous streams at each recipe SNR, over held-out music
  and coloured noise (wakeword.evaluation.positive_stream).
- Negatives: `negative_hours` of continuous audio never used in training: held-out TTS sentences and the
  held-out half of the real recordings, dealt once each before any repeats, over held-out music/noise at 5-25 dB.
- The operating point with the lowest FRR at 10 dB within the recipe's default FA/h target becomes the
  card's threshold, with the smoothing and patience (DETECTOR_GRID) that reach it fastest. Everything runs
  through the runtime Engine, as users will run it.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from .. import evaluation as ev
from ..audio.signal import SR, background, normalize, rms
from ..detector import DetectorConfig
from ..engine import Engine
from ..model.card import ModelCard
from .card_writer import step_card
from .data.clips import load_audio
from .data.voices import Voice

BASE = DetectorConfig(threshold=0.5, smoothing=3, patience=2, refractory_s=2.0)
DEFAULT_TARGET = 0.5  # FA/h whose operating point becomes the card's default threshold
# (smoothing, patience) candidates for the card: on 5 h of negatives they reach the same DET within a point or
# two, while each step of smoothing or patience adds ~20 ms of latency; the evaluation keeps the one with the
# lowest FRR at the default target, and among equals the fastest.
DETECTOR_GRID = [(1, 1), (2, 1), (3, 2)]


def exported_card(export_dir: Path, name: str, variant: str) -> ModelCard:
    """A card for an exported (not yet installed) step model, so evaluation runs it through the runtime."""
    export = json.loads((export_dir / "export.json").read_text())
    return step_card(export_dir / f"{variant}.tflite", export[variant]["tensors"], name)


def deal_indices(n: int, rng: np.random.Generator) -> Iterator[int]:
    """0..n-1 in shuffled rounds, endlessly: every index once before any index twice."""
    while True:
        yield from (int(i) for i in rng.permutation(n))


def negative_blocks(hours: float, speech: list[np.ndarray], noise_pool: list[np.ndarray], rng: np.random.Generator,
                    block_s: float = 60.0, deal: bool = False):
    """One-minute blocks of speech (0.2-2.5 s apart) over music/noise at 5-25 dB, until `hours` are produced.

    With `deal`, clips come from a shuffled deck, so each is used once before any is used again. Evaluation
    deals: its hours reuse ~2,200 clips, and drawn with replacement some recur far more often than others (one
    recurred 6 times in 5 h where the mean was 2), so one confusable clip alone could set the 0.5 FA/h threshold.
    Mining draws with replacement (its pool is large enough that repeats are rare)."""
    n = int(block_s * SR)
    dealt = deal_indices(len(speech), rng) if deal else None
    for _ in range(int(np.ceil(hours * 3600 / block_s))):
        bg = background(n, noise_pool, rng)
        sp = np.zeros(n, np.float32)
        pos = int(rng.uniform(0, 2) * SR)
        while pos < n and speech:
            c = speech[next(dealt) if dealt else rng.integers(len(speech))]
            seg = c[: n - pos]
            sp[pos:pos + len(seg)] += seg / max(rms(c), 1e-4)
            pos += len(c) + int(rng.uniform(0.2, 2.5) * SR)
        yield normalize(sp + bg * 10 ** (-rng.uniform(5, 25) / 20) if speech else bg)


def evaluate_recipe(recipe, export_dir: Path, variant: str, pos_clips: list[np.ndarray], sentences: list[np.ndarray],
                    bg_dir: Path, out_dir: Path, pos_voices: list[str] | None = None,
                    real_tuning: Sequence[np.ndarray] = ()) -> dict:
    """The evaluate stage: the exported `variant` through the runtime Engine."""
    card = exported_card(export_dir, recipe.name, variant)
    engine = Engine([card], detector=asdict(BASE))
    return evaluate_scores(recipe, card, lambda blocks: ev.probabilities(engine, blocks)[recipe.name], pos_clips,
                           sentences, bg_dir, out_dir, pos_voices, list(real_tuning))


REAL_CONDITIONS = {"real_clean": None, "real_10db": 10.0}  # the real tuning speech, alone and over music/noise
# The conditions that bound the threshold. Real speech at 10 dB is measured and reported but does not bind: on the
# tuning speakers it woke pymicro-wakeword's alexa 3.3 times an hour too, and binding it took our alexa to threshold
# 0.99 and 75 % misses on held-out voices (benchmarks/RESULTS.md).
BINDING = ("fa_per_hour", "fa_per_hour_real_clean")


def evaluate_scores(recipe, card: ModelCard, scores: Callable[[Iterable[np.ndarray]], np.ndarray],
                    pos_clips: list[np.ndarray], sentences: list[np.ndarray], bg_dir: Path, out_dir: Path,
                    pos_voices: list[str] | None = None, real_tuning: Sequence[np.ndarray] = ()) -> dict:
    """Score `scores` (audio blocks of one continuous stream -> per-step probabilities on `card`'s step geometry) on
    the held-out streams, pick the card's detector and write results.json and the plots into `out_dir`.

    Separate from the stage so that benchmarks/heldout_eval.py can score other models (one shipped before, or the
    mean of several) on exactly the same streams."""
    music = load_audio(bg_dir / "music_eval.npz")
    real = load_audio(bg_dir / "real_eval.npz")
    cfg = recipe.evaluation

    positives, streams = {}, {}
    for snr in cfg.snr_db:
        st = ev.positive_stream(pos_clips, snr, music, np.random.default_rng(recipe.seed + int(snr)))
        streams[f"{snr:g}db"] = st
        positives[f"{snr:g}db"] = (scores([st.audio]), st.spans)
    rng = np.random.default_rng(recipe.seed + 7)
    blocks = tqdm(negative_blocks(cfg.negative_hours, sentences + real, music, rng, deal=True),
                  total=int(np.ceil(cfg.negative_hours * 60)), desc="evaluating negatives (min)")
    neg = scores(blocks)
    neg_hours = len(neg) * card.geometry.step_seconds / 3600

    real_probs = {}
    for label, snr in REAL_CONDITIONS.items() if real_tuning else ():
        blocks = ev.with_noise(ev.concatenated(list(real_tuning)), snr, music, np.random.default_rng(recipe.seed + 11))
        real_probs[label] = scores(blocks)
    real_hours = len(next(iter(real_probs.values()))) * card.geometry.step_seconds / 3600 if real_probs else 0.0
    fa_keys = ["fa_per_hour"] + [f"fa_per_hour_{label}" for label in real_probs]
    binding = [k for k in fa_keys if k in BINDING]

    ref = "10db" if "10db" in positives else next(iter(positives))
    candidates = []
    for smoothing, patience in DETECTOR_GRID:
        base = BASE.replace(smoothing=smoothing, patience=patience)
        curve = ev.sweep(positives, neg, base, card.geometry)
        if real_probs:
            curve = [{**row, **extra} for row, extra in zip(curve, ev.fa_columns(real_probs, base, card.geometry))]
        operating = ev.operating_points(curve, cfg.fa_per_hour, ref, binding)
        pick = operating.get(f"{DEFAULT_TARGET:g}") or (next(iter(operating.values())) if operating else None)
        rank = (pick[f"frr_{ref}"], pick[f"latency_p50_{ref}"] or 0.0) if pick else (1.0, 0.0)
        candidates.append((rank, base, curve, operating, pick))
    _, base, curve, operating, pick = min(candidates, key=lambda c: c[0])
    # No threshold within even the loosest target: the one with the fewest false accepts on the worst set.
    fewest = min(curve, key=lambda r: (max(r[k] for k in binding), -r["threshold"]))
    threshold = pick["threshold"] if pick else fewest["threshold"]
    detector = asdict(base.replace(threshold=threshold, rearm_threshold=round(threshold / 2, 3)))

    accuracy = {
        "positives": f"{len(pos_clips)} clips of held-out voice families {recipe.holdout_families}, in continuous streams "
                     f"3-5 s apart over held-out music and coloured noise at {', '.join(f'{s:g}' for s in cfg.snr_db)} dB SNR; "
                     f"hit = event within [clip start, clip end + {ev.HIT_AFTER_S:g} s]",
        "negatives": f"{neg_hours:.2f} h of continuous negative audio never used in training: {len(sentences)} held-out TTS "
                     f"sentences and {len(real)} held-out real recordings (each used once before any is used again), over "
                     f"held-out music/noise at 5-25 dB; false accepts counted with a {ev.LOCKOUT_S:g} s lockout",
        "real_negatives": (f"{real_hours:.2f} h of real speech by the dev-half tuning speakers (data/real_speech.py: "
                           f"WUW Corpus II telephone calls and Speech Commands words, {len(real_tuning)} utterances "
                           f"without the phrase), alone and at 10 dB over held-out music/noise; the threshold keeps FA/h "
                           f"within the target on them clean (10 dB: reported)") if real_probs else "none",
        "detector_choice": {f"smoothing {c[1].smoothing}, patience {c[1].patience}":
                            {"frr": round(c[0][0], 4), "latency_p50_s": round(c[0][1], 3)} for c in candidates},
        "operating_points": {f"{k} FA/h": {"threshold": v["threshold"],
                                           **{key: round(v[key], 3) for key in fa_keys},
                                           **{f"frr_{s}": round(v[f"frr_{s}"], 4) for s in positives},
                                           f"latency_p50_{ref}_s": v[f"latency_p50_{ref}"]}
                             for k, v in operating.items()},
    }
    if pos_voices:
        accuracy[f"recall_by_family_{ref}"] = recall_by_family(positives[ref], pos_voices, DetectorConfig(**detector), card)
    results = {"detector": detector, "accuracy": accuracy, "curve": curve, "negative_hours": neg_hours}
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    ev.plot_det(str(out_dir / "det.png"), curve, list(positives), f"{recipe.name}: DET on held-out voices")
    _example_plot(out_dir / "example.png", streams[ref], positives[ref][0], card, threshold, recipe.name)
    print(json.dumps(accuracy["operating_points"], indent=1))
    return results


def recall_by_family(positives: tuple[np.ndarray, list[tuple[float, float]]], voices: list[str], cfg: DetectorConfig,
                     card: ModelCard) -> dict[str, float]:
    """Recall per held-out voice family at one detector setting: which voices the model does not generalise to."""
    probs, spans = positives
    hits: dict[str, list[bool]] = {}
    for hit, voice in zip(ev.first_hits(ev.event_times(probs, cfg, card.geometry), spans), voices):
        hits.setdefault(Voice.parse(voice).family, []).append(hit is not None)
    return {family: round(float(np.mean(h)), 3) for family, h in sorted(hits.items())}


def _example_plot(path: Path, stream: ev.PositiveStream, probs: np.ndarray, card: ModelCard, threshold: float,
                  name: str) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    from ..features import spectrogram

    start, end = stream.spans[0][0] - 1.0, stream.spans[min(2, len(stream.spans) - 1)][1] + 1.5
    spec = spectrogram(stream.audio[int(start * SR):int(end * SR)])
    t = card.geometry.step_end_times(len(probs))
    sel = (t >= start) & (t <= end)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    ax1.imshow(spec.T, origin="lower", aspect="auto", extent=[start, start + len(spec) * 0.005, 0, 8000], cmap="magma")
    ax1.set_ylabel("Hz")
    ax1.set_title(f"{name}: held-out voice clips in noise, spectrogram and per-step probability")
    ax2.plot(t[sel], probs[sel], label="probability")
    ax2.axhline(threshold, color="r", ls="--", label=f"threshold {threshold:g}")
    for s, e in stream.spans[:3]:
        ax2.axvspan(s, e, color="g", alpha=0.15)
    ax2.set_xlabel("stream time (s); green: phrase")
    ax2.set_ylim(0, 1.02)
    ax2.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
