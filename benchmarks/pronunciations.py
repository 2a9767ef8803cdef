"""Which ways of saying the phrase does a model accept? TTS renderings of spelled variants, scored in the clear.

Real speakers say a word in more ways than the recipe's spellings: a monophthong in "fire" ("far", "fah"), a
dropped consonant ("wile fire"), another vowel. The synthetic positives say the dictionary form, so a model may
learn that form and nothing around it. This renders each `--text` with nine voices of the training engines (the
neural piper, hibari and two Kokoro styles; RHVoice slt and bdl, flite rms, pico en-US, festival kal) at three
speaking rates, each clip alone in silence 3-5 s from the next (evaluation.positive_stream), and reports per text
and model the share of clips that raise an event at the detector rule (the card's, or --detector-from's) and the
mean peak probability. Voices that do not work here are listed and skipped.

    .venv/bin/python benchmarks/pronunciations.py --model CARD [--model CARD ...] --text "Wildfire." \\
        --text "Wildfar." ... [--detector-from models/proxies/wildfire.yaml] --out FILE
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from wakeword import evaluation as ev
from wakeword.detector import DetectorConfig
from wakeword.engine import Engine
from wakeword.errors import WakewordError
from wakeword.model.card import ModelCard
from wakeword.train.data.clips import Job, render
from wakeword.train.data.voices import Prosody, Voice

VOICES = [Voice("piper", "en_US-joe-medium"), Voice("hibari", "heart"), Voice("kokoro", "jf_alpha"),
          Voice("kokoro", "jm_kumo"), Voice("rhvoice", "slt"), Voice("rhvoice", "bdl"), Voice("flite", "rms"),
          Voice("pico", "en-US"), Voice("festival", "kal_diphone")]
RATES = (0.9, 1.0, 1.15)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", required=True, help="model card (repeat for several)")
    ap.add_argument("--text", action="append", required=True, help="a way of saying the phrase (repeat)")
    ap.add_argument("--detector-from", metavar="CARD", help="score every model at this card's detector settings")
    ap.add_argument("--voice", action="append", metavar="ENGINE:NAME", help="voices to use (default: the nine above)")
    ap.add_argument("--out", required=True, help="results JSON")
    a = ap.parse_args(argv)
    try:
        cards = [ModelCard.load(m) for m in a.model]
        rule_card = ModelCard.load(a.detector_from) if a.detector_from else None
        voices = [Voice(*v.split(":", 1)) for v in a.voice] if a.voice else VOICES
    except (OSError, ValueError, TypeError, WakewordError) as e:
        raise SystemExit(f"pronunciations: {e}") from None
    jobs = [Job(v, t, Prosody(rate=r), k) for t in a.text for v in voices for k, r in enumerate(RATES)]
    got = render(jobs, "pronunciations")
    if not got.clips:
        raise SystemExit("pronunciations: none of the voices works here: run script/install-voices and "
                         "pip install '.[train]'")
    engines = [Engine([c]) for c in cards]
    report: dict = {"voices": sorted(set(got.voices)), "missing_voices": sorted({v.id for v in voices} - set(got.voices)),
                    "rates": list(RATES), "detector": a.detector_from or "each card's own", "models": {}}
    for path, card, engine in zip(a.model, cards, engines):
        rule = DetectorConfig.from_card((rule_card or card).detector)
        row = {}
        for text in a.text:
            clips = [c for c, t in zip(got.clips, got.texts) if t == text]
            if not clips:  # no voice could say it
                row[text] = {"clips": 0}
                continue
            s = ev.positive_stream(clips, None, [], np.random.default_rng(0))
            probs = ev.probabilities(engine, [s.audio])[card.name]
            t = card.geometry.step_end_times(len(probs))
            peaks = [float(probs[(t >= a0) & (t <= a1 + ev.HIT_AFTER_S)].max()) for a0, a1 in s.spans]
            row[text] = {"clips": len(clips), "heard": round(1 - ev.missed_share(probs, rule, card.geometry, s.spans), 3),
                         "mean_peak": round(float(np.mean(peaks)), 3)}
        report["models"][path] = row
        print(path, {t: r.get("heard") for t, r in row.items()}, flush=True)
    Path(a.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
