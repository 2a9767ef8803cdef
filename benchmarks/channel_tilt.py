"""Real speakers through a brighter or darker channel: misses of the phrase when the spectrum is tilted.

Microphones and phone lines colour speech: a cheap electret capsule or a close-talk headset lifts the highs, a
far-field or muffled one loses them. real_speech.py scores the WUW speakers as their calls sound; this scores the
same isolated clips (real_speech.keyword_stream, the same stream) through a first-order pre-emphasis (brighter,
y[n] = x[n] - 0.9 x[n-1]: -13 dB at 500 Hz, +3 dB at 4 kHz) and de-emphasis (darker, y[n] = x[n] + 0.7 y[n-1]),
each stream brought back to the clean stream's speech level, for one or more models at one detector rule.

    .venv/bin/python benchmarks/channel_tilt.py --model CARD [--model CARD ...] \\
        --detector-from models/proxies/voyager.yaml [--part dev] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from wakeword import evaluation as ev
from wakeword.audio.signal import audible_rms
from wakeword.detector import DetectorConfig
from wakeword.engine import Engine
from wakeword.errors import WakewordError
from wakeword.model.card import ModelCard
from wakeword.train.data import real_speech as rs

CHANNELS = {"as recorded": ([1.0], [1.0]), "brighter (pre-emphasis 0.9)": ([1.0, -0.9], [1.0]),
            "darker (de-emphasis 0.7)": ([1.0], [1.0, -0.7])}


def channel_streams(stream: ev.PositiveStream) -> dict[str, ev.PositiveStream]:
    """The stream through each channel, at the recorded stream's speech level."""
    level = audible_rms(stream.audio)
    out = {}
    for name, (b, a) in CHANNELS.items():
        x = lfilter(b, a, stream.audio)
        out[name] = ev.PositiveStream(np.clip(x * level / max(audible_rms(x), 1e-6), -1, 1).astype(np.float32),
                                      stream.spans)
    return out


def main(argv: list[str] | None = None) -> int:
    return run(argv, "channel_tilt", __doc__, channel_streams)


def run(argv: list[str] | None, prog: str, doc: str | None,
        conditions: Callable[[ev.PositiveStream], dict[str, ev.PositiveStream]]) -> int:
    """The real speakers' isolated clips of each model's phrase, altered by `conditions` (name → the stream
    altered, spans moved with it), scored by each model at one detector rule; FRR per condition."""
    ap = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n")[0])
    ap.add_argument("--model", action="append", required=True, help="model card (repeat for several)")
    ap.add_argument("--detector-from", metavar="CARD", help="score every model at this card's detector settings")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--part", default="dev", choices=("dev", "test"))
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--out", help="results JSON (default: benchmarks/results/channel_tilt_<part>.json)")
    a = ap.parse_args(argv)
    t0 = time.time()
    parts = ("training", "tuning") if a.part == "dev" else ("test",)
    try:
        utts = [u for p in parts for u in rs.load(a.data, p)]
        cards = [ModelCard.load(m) for m in a.model]
        rule_card = ModelCard.load(a.detector_from) if a.detector_from else None
    except (OSError, ValueError, WakewordError) as e:
        raise SystemExit(f"{prog}: {e}") from None
    streams: dict[str, dict[str, ev.PositiveStream]] = {}  # by phrase: models of one share them
    results = {}
    for path, card in zip(a.model, cards):
        if card.phrase not in streams:
            words = rs.transcript_words(card.phrase)
            clips = [u for u in utts if u.keyword in words and u.span and u.isolated]
            if not clips:
                raise SystemExit(f"{prog}: no real speaker says {card.phrase!r} in the {a.part} half")
            streams[card.phrase] = conditions(rs.keyword_stream(clips, np.random.default_rng(a.seed)))
        altered = streams[card.phrase]
        rule = DetectorConfig.from_card((rule_card or card).detector)
        engine = Engine([card])
        row = {}
        for name, stream in altered.items():
            probs = ev.probabilities(engine, [stream.audio])[card.name]
            row[name] = round(ev.missed_share(probs, rule, card.geometry, stream.spans), 4)
        results[path] = {"clips": len(stream.spans), "frr": row}
        print(path, row, flush=True)
    out = Path(a.out or f"benchmarks/results/{prog}_{a.part}.json")
    out.write_text(json.dumps({"part": a.part, "detector": a.detector_from or "each card's own",
                               "models": results, "seconds": round(time.time() - t0, 1)}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
