"""Pick the best of several training draws on a validation set that neither training nor the evaluation uses.

Draws of one recipe differ only in their initial weights and batch order, yet they land anywhere between ~14 and
~55 % FRR at 0.5 FA/h on the held-out families (benchmarks/RESULTS.md): which of the many solutions a run finds
decides how well it hears voices unlike the training ones. Training `training.draws` of them and keeping the one
that does best on other unseen voices turns that spread into a gain, without looking at the test set.

- Positives: the validation voices (voices.VALIDATION_VOICES: in no training or held-out list), the recipe's
  spellings with `POSITIVE_DRAWS` prosody draws each, in one continuous stream at 10 dB over the training music.
- Negatives: `validation.hours` of sentences no other stage uses, said by the training voices, over the training
  music (the evaluation keeps its own held-out music, sentences and recordings).
- Score: the mean FRR at 0.5, 1 and 2 FA/h (smoothing 1): one strict point alone rests on a handful of peaks.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from .. import evaluation as ev
from ..engine import Engine
from ..model.card import ModelCard
from .clips import Job
from .evaluate import BASE, negative_blocks
from .voices import VALIDATION_VOICES, Prosody

TARGETS = (0.5, 1.0, 2.0)  # FA/h
SNR_DB = 10.0
POSITIVE_DRAWS = 3  # prosody draws per voice and spelling


def positive_jobs(recipe, per_text: int = POSITIVE_DRAWS, seed: int = 0) -> list[Job]:
    """Every validation voice saying each of its spellings `per_text` times with random speed and pitch."""
    rng = np.random.default_rng(seed)
    return [Job(voice, text, Prosody(rate=float(rng.uniform(0.85, 1.15)), pitch=float(rng.uniform(0.85, 1.2))), seed)
            for voice in VALIDATION_VOICES for text in recipe.texts_for(voice) for _ in range(per_text)]


def score(recipe, card: ModelCard, positives: list[np.ndarray], sentences: list[np.ndarray],
          music: list[np.ndarray]) -> dict:
    """One model's FRR at each validation target (1.0 where the target is never reached) and their mean."""
    engine = Engine([card], detector=asdict(BASE))
    stream = ev.positive_stream(positives, SNR_DB, music, np.random.default_rng(recipe.seed + 10))
    pos = ev.probabilities(engine, [stream.audio])[card.name]
    blocks = negative_blocks(recipe.validation.hours, sentences, music, np.random.default_rng(recipe.seed + 11), deal=True)
    neg = ev.probabilities(engine, blocks)[card.name]
    curve = ev.sweep({"val": (pos, stream.spans)}, neg, BASE.replace(smoothing=1, patience=1), card.geometry)
    ops = ev.operating_points(curve, TARGETS, "val")
    frr = {f"{t:g} FA/h": round(ops[f"{t:g}"]["frr_val"], 4) if f"{t:g}" in ops else 1.0 for t in TARGETS}
    return {"frr": frr, "score": round(float(np.mean(list(frr.values()))), 4)}
