"""Can the dev tuning speakers' speech set a threshold that holds on speakers never heard?

    .venv/bin/python benchmarks/threshold_rules.py --pair DEV.json TEST.json ... [--model voyager] [--out FILE.json]

Each pair is one training draw scored by benchmarks/real_speech.py on both halves (`--part dev`, `--part test`).
Each rule reads only the dev file's sweep (false accepts on the 75 tuning speakers' 0.81 h of speech without the
phrase, clean and at 10 dB) and picks the lowest threshold from which on it holds; the test file then says what
that threshold gives on 2.3 h of other speakers' speech: false accepts per hour and the isolated clips missed.
The card rule asks for at most 0.5 false accepts per hour of tuning speech, which on 0.81 h means none: a rule
that one utterance can move, and this measures how well any such rule carries to the test speakers.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from recipe_arms import lowest_holding, within_matched_fa

TARGET = 0.5  # FA/h on the test speakers that a rule should keep
RULES: dict[str, Callable[[dict], bool]] = {
    "clean: none (the card rule's real speech)": lambda r: r["fa_per_hour_clean"] == 0,
    "clean: at most one": lambda r: r["fa_per_hour_clean"] <= 1.5,
    "clean and 10 dB pooled: at most one (recipe_arms' matched point)": within_matched_fa,
    "clean and 10 dB: none": lambda r: r["fa_per_hour_clean"] + r["fa_per_hour_10db"] == 0,
}
TEST_FIGURES = ("fa_per_hour_clean", "fa_per_hour_10db", "frr_isolated_clean", "frr_isolated_10db")
RATE_AT = (0.5, 0.8, 0.9, 0.95, 0.97)  # thresholds at which the two halves' false-accept rates are set side by side


def sweep(path: str, model: str) -> dict[float, dict]:
    try:
        res = json.loads(Path(path).read_text())["models"][model]
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"threshold_rules: {path}: no results for {model!r} ({e})") from None
    return {row["threshold"]: row for row in res["sweep"]}


def mean_rate(sweeps: list[dict[float, dict]], t: float) -> float:
    """Where the halves part: the draws' mean FA/h at threshold `t`, clean and 10 dB averaged."""
    return round(statistics.fmean((s[t]["fa_per_hour_clean"] + s[t]["fa_per_hour_10db"]) / 2 for s in sweeps), 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pair", nargs=2, action="append", required=True, metavar=("DEV", "TEST"))
    ap.add_argument("--model", default="voyager", help="the model's name in the results files (default: voyager)")
    ap.add_argument("--out", help="also write every draw's figures and the summary as JSON")
    a = ap.parse_args(argv)
    pairs = [(sweep(dev, a.model), sweep(test, a.model), dev) for dev, test in a.pair]
    out = {}
    for name, rule in RULES.items():
        draws = {}
        for dev, test, label in pairs:
            t = lowest_holding(list(dev.values()), rule)["threshold"]
            draws[label] = {"threshold": t, **{k: round(test[t][k], 4) for k in TEST_FIGURES}}
        summary = {k: round(statistics.fmean(d[k] for d in draws.values()), 4) for k in ("threshold", *TEST_FIGURES)}
        summary["draws_over_target_clean"] = sum(d["fa_per_hour_clean"] > TARGET for d in draws.values())
        summary["draws_over_target_10db"] = sum(d["fa_per_hour_10db"] > TARGET for d in draws.values())
        out[name] = {"summary": summary, "draws": draws}
        print(f"{name}: threshold {summary['threshold']:.3f}; test FA/h {summary['fa_per_hour_clean']:.2f} / "
              f"{summary['fa_per_hour_10db']:.2f} (over {TARGET} in {summary['draws_over_target_clean']} / "
              f"{summary['draws_over_target_10db']} of {len(draws)} draws); test FRR isolated "
              f"{100 * summary['frr_isolated_clean']:.1f} / {100 * summary['frr_isolated_10db']:.1f} %")
    halves = {"dev": [p[0] for p in pairs], "test": [p[1] for p in pairs]}
    rates = {f"{t:g}": {half: mean_rate(sweeps, t) for half, sweeps in halves.items()}
             for t in RATE_AT if all(t in s for sweeps in halves.values() for s in sweeps)}
    print("FA/h, dev / test halves, at " + ", ".join(f"{t}: {r['dev']:.2f} / {r['test']:.2f}" for t, r in rates.items()))
    if a.out:
        Path(a.out).write_text(json.dumps({"model": a.model, "target_fa_per_hour": TARGET, "rules": out,
                                           "fa_per_hour_by_threshold": rates}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
