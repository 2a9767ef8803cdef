"""The trigger detector's smoothing and patience at matched false accepts, on the dev speakers' real speech.

    .venv/bin/python benchmarks/detector_grid.py CARD... [--out FILE]

Each card's per-step probabilities are computed once (benchmarks/real_speech.py's dev streams: the tuning
speakers' speech without the phrase, clean and at 10 dB, and every dev speaker's clips of the phrase); then for
each smoothing x patience the lowest threshold with at most one false accept in the two negative streams pooled,
and the misses there. Smoothing and patience were set on synthetic voices; this asks whether real speakers,
whose scores peak lower, want a longer or shorter look.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import real_speech as R  # benchmarks/real_speech.py
from wakeword import evaluation as ev
from wakeword.detector import DetectorConfig
from wakeword.engine import Engine
from wakeword.model.card import ModelCard
from wakeword.train.data import backgrounds
from wakeword.train.data import real_speech as rs

GRID = [(s, p) for s in (1, 2, 3, 5, 8, 12) for p in (1, 2, 3, 5)]
THRESHOLDS = np.round(np.concatenate([np.arange(0.5, 0.9, 0.02), np.arange(0.9, 0.999, 0.0025)]), 4)
SEED = 20261203


def matched(negs: dict, pos: dict, base: DetectorConfig, card: ModelCard) -> dict:
    """At the lowest threshold with <= 1 false accept pooled: FRR per positive stream."""
    for thr in THRESHOLDS:
        cfg = base.replace(threshold=float(thr), rearm_threshold=float(thr) / 2)
        fa = sum(ev.lockout_count(ev.event_times(n, cfg, card.geometry)) for n in negs.values())
        if fa <= 1:
            return {"threshold": float(thr), "false_accepts": fa,
                    **{f"frr_{k}": round(1 - ev.score_positives(ev.event_times(p, cfg, card.geometry), spans)[0]
                                         / len(spans), 4) for k, (p, spans) in pos.items()}}
    return {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cards", nargs="+")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--cache", default=".cache/train")
    ap.add_argument("--out", default="benchmarks/results/detector_grid_dev.json")
    a = ap.parse_args(argv)
    tuning = rs.load(a.data, "tuning")
    said_all = tuning + rs.load(a.data, "training")
    _, music = backgrounds.split(backgrounds.music_tracks(Path(a.cache) / "downloads"), eval_fraction=0.3)
    out = {}
    for path in a.cards:
        card = ModelCard.load(path)
        engine = Engine([card])
        words = rs.transcript_words(card.phrase)
        probs = lambda blocks, engine=engine, name=card.name: ev.probabilities(engine, blocks)[name]  # noqa: E731
        negs = {c: probs(b) for c, b in R.negative_streams(rs.negatives(tuning, words), music, SEED).items()}
        said = [u for u in said_all if u.keyword in words and u.span]
        pos = {}
        for kind, isolated in (("isolated", True), ("sentence", False)):
            stream = rs.keyword_stream([u for u in said if u.isolated == isolated], np.random.default_rng(SEED + 1))
            for c, snr in R.CONDITIONS.items():
                audio = next(ev.with_noise([stream.audio], snr, music, np.random.default_rng(SEED + 2)))
                pos[f"{kind}_{c}"] = (probs([audio]), stream.spans)
        rows = [{"smoothing": s, "patience": p,
                 **matched(negs, pos, DetectorConfig(threshold=0.97, smoothing=s, patience=p), card)} for s, p in GRID]
        out[path] = {"negative_hours_per_condition": round(len(negs["clean"]) * card.geometry.step_seconds / 3600, 3),
                     "rows": rows}
        for r in rows:
            print(path, json.dumps(r), file=sys.stderr)
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
