"""Does a draw's synthetic held-out figure say how well it hears real people?

    .venv/bin/python benchmarks/synthetic_vs_real.py --recipe recipes/proxies/voyager.yaml
        --detector-from models/proxies/voyager.yaml --draw CARD DEV.json TEST.json ... [--out FILE.json]

Each draw is a proxy model (its card) with its real-speech results on both halves (benchmarks/real_speech.py
`--part dev` and `--part test`). The recipe's synthetic held-out clips (six TTS families no draw trains on, the
pipeline's own evaluation set) are run through each draw at the proxy card's detector, clean and at 10 dB over
white, pink and brown noise, and set beside the share of real speakers' isolated clips the draw misses. Pearson's r
across the draws says whether the synthetic figure ranks draws as real speakers do; the real dev half against the
real test half is the reference for what a figure that does looks like.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

from wakeword import evaluation as ev
from wakeword.audio.signal import NOISE_KINDS, colored_noise
from wakeword.detector import DetectorConfig
from wakeword.engine import Engine
from wakeword.errors import WakewordError
from wakeword.model.card import ModelCard
from wakeword.train.data.clips import ClipSet
from wakeword.train.dataset import recipe_stages
from wakeword.train.recipe import Recipe

CONDITIONS = ("clean", "10db")


def real_frr(path: str, model: str) -> dict[str, float]:
    """A draw's share of real isolated clips missed, clean and at 10 dB, from a real_speech.py results file."""
    try:
        res = json.loads(Path(path).read_text())["models"][model]
        return {"clean": res["card_frr_isolated_clean"], "10db": res["card_frr_isolated_10db"]}
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"synthetic_vs_real: {path}: no real-speaker FRR for {model!r} ({e})") from None


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r, or None where either side does not vary."""
    if len(xs) < 3 or statistics.pstdev(xs) == 0 or statistics.pstdev(ys) == 0:
        return None
    return round(statistics.correlation(xs, ys), 2)


def correlations(draws: list[dict]) -> dict[str, float | None]:
    """r between synthetic and real FRR (each condition, each half) and between the two real halves."""
    out = {}
    for c in CONDITIONS:
        for half in ("dev", "test"):
            out[f"synthetic_{c}~real_{half}_{c}"] = pearson([d["synthetic"][c] for d in draws],
                                                            [d[f"real_{half}"][c] for d in draws])
        out[f"real_dev_{c}~real_test_{c}"] = pearson([d["real_dev"][c] for d in draws],
                                                     [d["real_test"][c] for d in draws])
    return out


def synthetic_streams(recipe_path: str, cache: str, seed: int) -> tuple[dict[str, ev.PositiveStream], int]:
    [positives] = recipe_stages(Recipe.load(recipe_path), Path(cache), "eval_positives")
    clips = ClipSet.load(positives / "clips.npz").clips
    rng = np.random.default_rng(seed)
    noise = [colored_noise(16000 * 60, rng, kind).astype(np.float32) for kind in NOISE_KINDS]
    streams = {"clean": ev.positive_stream(clips, None, [], rng), "10db": ev.positive_stream(clips, 10.0, noise, rng)}
    return streams, len(clips)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", required=True, help="the proxy's recipe (its held-out clips must be in --cache)")
    ap.add_argument("--detector-from", required=True, metavar="CARD", help="the detector every draw is scored at")
    ap.add_argument("--draw", nargs=3, action="append", required=True, metavar=("CARD", "DEV", "TEST"))
    ap.add_argument("--cache", default=".cache/train")
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--out", help="also write every draw's figures and the correlations as JSON")
    a = ap.parse_args(argv)
    try:
        rule = DetectorConfig.from_card(ModelCard.load(a.detector_from).detector)
        cards = [ModelCard.load(card) for card, _, _ in a.draw]
    except (OSError, ValueError, WakewordError) as e:
        raise SystemExit(f"synthetic_vs_real: {e}") from None
    streams, n = synthetic_streams(a.recipe, a.cache, a.seed)
    draws = []
    for card, (path, dev, test) in zip(cards, a.draw):
        engine, synthetic = Engine([card]), {}
        for c, st in streams.items():
            probs = ev.probabilities(engine, [st.audio])[card.name]
            synthetic[c] = round(ev.missed_share(probs, rule, card.geometry, st.spans), 4)
        draws.append({"card": path, "synthetic": synthetic, "real_dev": real_frr(dev, card.name),
                      "real_test": real_frr(test, card.name)})
        d = draws[-1]
        print(f"{path}: missed synthetic {100 * synthetic['clean']:.1f} / {100 * synthetic['10db']:.1f} %, real dev "
              f"{100 * d['real_dev']['clean']:.1f} / {100 * d['real_dev']['10db']:.1f} %, real test "
              f"{100 * d['real_test']['clean']:.1f} / {100 * d['real_test']['10db']:.1f} %")
    r = correlations(draws)
    print("Pearson r over the draws: " + ", ".join(f"{k} {v}" for k, v in r.items()))
    if a.out:
        Path(a.out).write_text(json.dumps({"recipe": a.recipe, "detector": a.detector_from, "synthetic_clips": n,
                                           "draws": draws, "pearson": r}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
