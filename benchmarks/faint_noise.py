"""Recall of each held-out voice family in digital silence and under faint noise.

The evaluate stage scores the held-out voices over music and noise at 0-20 dB SNR. This isolates one thing: does
a family stay detected when the only change is a noise floor far below the speech (40 dB under it, well under what
a quiet room adds), and at 20 dB? A family detected in silence but not under a faint floor is recognised by fine
spectral detail that any microphone's own noise hides, not by the phrase's sound.

Each of the first `--clips` held-out clips of a family is said alone (0.5 s of silence before, 1 s after) at -26 dBFS
RMS; a hit is a peak probability above the card's threshold. Noises are white, pink, brown, and held-out music
(the recipe's cached evaluation music), a fresh draw per clip.

    .venv/bin/python benchmarks/faint_noise.py RECIPE CARD [CARD ...] [--clips 24] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from wakeword import evaluation as ev
from wakeword.audio.signal import NOISE_KINDS, colored_noise, excerpt, rms
from wakeword.engine import Engine
from wakeword.model.card import ModelCard
from wakeword.train.data import clips
from wakeword.train.data.clips import load_audio
from wakeword.train.data.voices import Voice
from wakeword.train.dataset import recipe_stages
from wakeword.train.recipe import Recipe

CONDITIONS = [("silence", None)] + [(kind, snr) for kind in (*NOISE_KINDS, "music") for snr in (40, 20)]


def noise(kind: str, n: int, music: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise of `kind`: white, pink (1/f), brown (1/f^2) or a random stretch of held-out music."""
    x = excerpt(music, n, rng) if kind == "music" else colored_noise(n, rng, kind)
    return (x / max(rms(x), 1e-9)).astype(np.float32)


def family_recall(card_path: str, pos: clips.ClipSet, music: list[np.ndarray], n_clips: int) -> dict[str, dict[str, float]]:
    card = ModelCard.load(card_path)
    engine = Engine([card])
    threshold = float(card.detector.get("threshold", 0.5))
    out: dict[str, dict[str, float]] = {}
    families = [Voice.parse(v).family for v in pos.voices]
    for family in sorted(set(families)):
        idx = [i for i, f in enumerate(families) if f == family][:n_clips]
        row = {}
        for kind, snr in CONDITIONS:
            hits = 0
            for i in idx:
                rng = np.random.default_rng(i)
                speech = pos.clips[i] * (0.05 / max(rms(pos.clips[i]), 1e-6))
                x = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(16000, np.float32)])
                if snr is not None:
                    x = x + noise(kind, len(x), music, rng) * 0.05 * 10 ** (-snr / 20)
                hits += float(ev.probabilities(engine, [x])[card.name].max()) > threshold
            row[kind if snr is None else f"{kind} {snr} dB"] = round(hits / len(idx), 3)
        out[family] = row
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("cards", nargs="+")
    ap.add_argument("--clips", type=int, default=24, help="clips per held-out family")
    ap.add_argument("--cache", default=".cache/train")
    ap.add_argument("--out", help="write the results as JSON here")
    a = ap.parse_args()
    recipe, cache = Recipe.load(a.recipe), Path(a.cache)
    pos_dir, bg = recipe_stages(recipe, cache, "eval_positives", "backgrounds")
    pos = clips.ClipSet.load(pos_dir / "clips.npz")
    music = load_audio(bg / "music_eval.npz")
    results = {}
    for card in a.cards:
        results[card] = family_recall(card, pos, music, a.clips)
        print(card)
        for family, row in results[card].items():
            print(f"  {family:24s} " + "  ".join(f"{k} {100 * v:.0f}%" for k, v in row.items()))
    if a.out:
        Path(a.out).write_text(json.dumps({"conditions": [c[0] if c[1] is None else f"{c[0]} {c[1]} dB" for c in CONDITIONS],
                                           "clips_per_family": a.clips, "recall": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
