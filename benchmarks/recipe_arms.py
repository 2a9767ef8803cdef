"""Recipe options side by side on real speakers: one row per training draw, from real_speech.py's results files.

    .venv/bin/python benchmarks/recipe_arms.py ARM:DRAW=results.json ... [--model voyager] [--out FILE.json]
        [--arms-from recipe_arms.json ARM ...]

Each file is `benchmarks/real_speech.py --part dev` (decisions) or `--part test` (reported figures) run on one
draw's card. A row gives the card's false accepts and real-speaker misses, the misses at fixed thresholds from the
sweep, and the misses at matched false accepts (`at_matched_fa`); the arm's mean and spread over its draws follow.
At one fixed threshold a draw whose scores run lower raises fewer false accepts and misses more, so only the
matched figures tell a better model from a more cautious one. An option is adopted only when its gain is larger
than the spread between draws of one arm.
`--arms-from` takes the draws of arms scored before (an earlier `--out` file, the same code and data for them),
so a new option is set beside the baseline's draws without retraining them.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

THRESHOLDS = (0.9, 0.97)
# The matched operating point: the lowest threshold from which on the false accepts on the speech without the
# phrase, clean and at 10 dB pooled, stay within this rate. On dev (0.81 h of it in each condition) that is at most
# one false accept in the 1.63 h: finer than either condition alone, where one false accept is 1.23/h.
MATCHED_FA_PER_HOUR = 0.62
CARD_FIELDS = ("card_frr_isolated_clean", "card_frr_isolated_10db", "card_frr_sentence_clean", "card_frr_sentence_10db")


def row(res: dict) -> dict[str, float]:
    """The figures of one draw: card FA/h and FRR, FRR isolated (clean) and FA/h at each of THRESHOLDS."""
    out = {"threshold": res["card_detector"]["threshold"], "fa_clean": res["card_fa_clean"]["fa_per_hour"],
           "fa_10db": res["card_fa_10db"]["fa_per_hour"], **{k.removeprefix("card_"): res[k] for k in CARD_FIELDS}}
    sweep = {r["threshold"]: r for r in res["sweep"]}
    for t in THRESHOLDS:
        out[f"frr_isolated_clean@{t}"] = sweep[t]["frr_isolated_clean"]
        out[f"fa_clean@{t}"] = sweep[t]["fa_per_hour_clean"]
    out.update(at_matched_fa(res["sweep"]))
    out["speakers_always_missed"] = res["who_is_missed_isolated"]["speakers_always_missed"]
    return out


def within_matched_fa(r: dict) -> bool:
    """The sweep row's false accepts, clean and at 10 dB pooled, are within MATCHED_FA_PER_HOUR."""
    return (r["fa_per_hour_clean"] + r["fa_per_hour_10db"]) / 2 <= MATCHED_FA_PER_HOUR


def lowest_holding(sweep: list[dict], rule: Callable[[dict], bool]) -> dict:
    """The row of the lowest threshold from which on every higher one also satisfies `rule` (the highest if none
    does): a score that rises again above a threshold puts the point above it."""
    rows = sorted(sweep, key=lambda r: r["threshold"])
    return next((r for i, r in enumerate(rows) if all(rule(u) for u in rows[i:])), rows[-1])


def at_matched_fa(sweep: list[dict]) -> dict[str, float]:
    """Threshold and isolated-clip FRR (clean, 10 dB) at the matched operating point (MATCHED_FA_PER_HOUR)."""
    r = lowest_holding(sweep, within_matched_fa)
    return {"threshold@fa": r["threshold"], "frr_isolated_clean@fa": r["frr_isolated_clean"],
            "frr_isolated_10db@fa": r["frr_isolated_10db"]}


def summarize(rows: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, tuple[float, float]]]:
    """Per arm: (mean, spread = max - min) of every figure its draws all have."""
    return {arm: {k: (round(statistics.fmean(d[k] for d in draws.values()), 4),
                      round(max(d[k] for d in draws.values()) - min(d[k] for d in draws.values()), 4))
                  for k in next(iter(draws.values())) if all(k in d for d in draws.values())}
            for arm, draws in rows.items()}


def markdown(rows: dict[str, dict[str, dict[str, float]]]) -> str:
    """One line per draw and one per arm; a figure that an earlier file's draws lack is a dash."""
    keys = list(dict.fromkeys(k for draws in rows.values() for d in draws.values() for k in d))
    lines = ["| arm | draw | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for arm, draws in rows.items():
        for draw, figures in draws.items():
            lines.append(f"| {arm} | {draw} | " + " | ".join(f"{figures[k]:g}" if k in figures else "–" for k in keys) + " |")
    for arm, figures in summarize(rows).items():
        lines.append(f"| **{arm}** | mean (spread) | " + " | ".join(
            f"{figures[k][0]:g} ({figures[k][1]:g})" if k in figures else "–" for k in keys) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", metavar="ARM:DRAW=FILE")
    ap.add_argument("--arms-from", nargs="+", metavar=("FILE", "ARM"),
                    help="an earlier --out file, then the arms to take from it (default: all)")
    ap.add_argument("--model", default="voyager", help="the model's name in the results files (default: voyager)")
    ap.add_argument("--out", help="also write the rows and the per-arm summary as JSON")
    a = ap.parse_args(argv)
    rows: dict[str, dict[str, dict[str, float]]] = {}
    if a.arms_from:
        path, *arms = a.arms_from
        try:
            earlier = json.loads(Path(path).read_text())["draws"]
            rows.update({arm: earlier[arm] for arm in arms or earlier})
        except (OSError, ValueError, KeyError) as e:
            raise SystemExit(f"recipe_arms: {path}: no draws for the arms asked ({e})") from None
    for spec in a.runs:
        label, _, path = spec.partition("=")
        arm, _, draw = label.rpartition(":")  # an arm's name may hold a colon; a draw's does not
        if not path or not draw:
            ap.error(f"{spec!r}: expected ARM:DRAW=FILE")
        try:
            res = json.loads(Path(path).read_text())["models"][a.model]
        except (OSError, ValueError, KeyError) as e:
            raise SystemExit(f"recipe_arms: {path}: no results for {a.model!r} ({e})") from None
        rows.setdefault(arm, {})[draw] = row(res)
    print(markdown(rows))
    if a.out:
        Path(a.out).write_text(json.dumps({"draws": rows, "arms": summarize(rows)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
