"""Score installed model cards on a recipe's held-out evaluation set, alone or as an ensemble.

The pipeline's evaluate stage scores only the model it has just trained. This runs the same evaluation
(`wakeword.train.evaluate.evaluate_recipe`: held-out voice families at each SNR, the recipe's hours of unseen
negatives, the dev tuning speakers' real speech where the recipe names it, the detector grid) for any card: a
model shipped before, after the evaluation data changed, so the two are compared on the same streams; or, with
`--ensemble`, the per-step mean of several cards' probabilities, which is what one distilled model could at best
reach. It reads the recipe's own clip sets and backgrounds stage from the cache (the stages its pipeline made), so
run the recipe's pipeline (at least to its features) first.

    .venv/bin/python benchmarks/heldout_eval.py RECIPE CARD [CARD ...] [--ensemble] [--stream-seed N] --out DIR

`--stream-seed` draws other streams (placements, backgrounds, SNR mixes, negative order) from the same clips: one
20 h stream set moves a model's strict operating points by up to 8 points (RESULTS.md), so two sets are compared.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from wakeword.engine import Engine
from wakeword.model.card import ModelCard
from wakeword.train import evaluate
from wakeword.train.dataset import heldout_set, real_negatives
from wakeword.train.recipe import Recipe


def mean_scores(cards: list[ModelCard]):
    """A scorer for `evaluate_scores`: every card's runtime Engine on the same blocks, probabilities averaged."""
    def scores(blocks) -> np.ndarray:
        engines = [Engine([c]) for c in cards]
        traces = [[] for _ in cards]
        for e, t in zip(engines, traces):
            e.on_scores(lambda _name, p, t=t: t.append(p))
        for block in blocks:
            for e in engines:
                e.process(block)
        arrays = [np.concatenate(t) for t in traces]
        n = min(len(a) for a in arrays)
        return np.mean([a[:n] for a in arrays], axis=0)
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("cards", nargs="+", help="model cards (.yaml); scored one after another unless --ensemble")
    ap.add_argument("--ensemble", action="store_true", help="score the per-step mean of all cards as one model")
    ap.add_argument("--out", required=True, help="directory for results.json, det.png, example.png (one per card)")
    ap.add_argument("--cache", default=".cache/train")
    ap.add_argument("--stream-seed", type=int, help="draw the streams with this seed instead of the recipe's")
    a = ap.parse_args()
    recipe, cache = Recipe.load(a.recipe), Path(a.cache)
    pos, sentences, bg = heldout_set(recipe, cache)
    if a.stream_seed is not None:
        recipe = dataclasses.replace(recipe, seed=a.stream_seed)
    cards = [ModelCard.load(c) for c in a.cards]
    groups = [cards] if a.ensemble else [[c] for c in cards]
    tuning = real_negatives(recipe, "tuning")  # the dev tuning speakers, as the evaluate stage binds the threshold
    for k, group in enumerate(groups):
        out = Path(a.out) / (f"card{k}" if len(groups) > 1 else "")
        out.mkdir(parents=True, exist_ok=True)
        print(f"{', '.join(str(c.model_path) for c in group)} -> {out}")
        evaluate.evaluate_scores(recipe, group[0], mean_scores(group), pos.clips, sentences, bg, out,
                                 pos_voices=pos.voices, real_tuning=tuning)


if __name__ == "__main__":
    main()
