"""Would several training draws together hear more real speakers? The real-speech benchmark (real_speech.py) on
the mean of several models' per-step probabilities, as if one model had produced it.

    .venv/bin/python benchmarks/ensemble_draws.py --out FILE --detector-from models/proxies/voyager.yaml CARD CARD...

Scores the dev half (decisions only). The ensemble is scored under the first card's name and the rule of
--detector-from. Ensembling, or distilling an ensemble into one seed model, only pays if the draws miss different
speakers.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import real_speech  # benchmarks/real_speech.py
from wakeword.engine import Engine
from wakeword.errors import WakewordError
from wakeword.model.card import ModelCard


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cards", nargs="+", help="the draws' model cards (one phrase)")
    ap.add_argument("--detector-from", metavar="CARD", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    try:
        cards = [ModelCard.load(c) for c in a.cards]
    except (OSError, ValueError, WakewordError) as e:
        raise SystemExit(f"ensemble_draws: {e}") from None
    members, name = [Engine([c]) for c in cards], cards[0].name
    single = real_speech.ev.probabilities

    def mean_probabilities(engine: Engine, blocks) -> dict[str, np.ndarray]:
        blocks = list(blocks)
        ps = [next(iter(single(m, blocks).values())) for m in members]
        n = min(len(p) for p in ps)
        return {name: np.mean([p[:n] for p in ps], axis=0)}

    real_speech.ev.probabilities = mean_probabilities  # what score_model calls for every stream
    return real_speech.main(["--part", "dev", "--model", a.cards[0], "--detector-from", a.detector_from,
                             "--out", a.out])


if __name__ == "__main__":
    sys.exit(main())
