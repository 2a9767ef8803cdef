"""Recall on fresh voices: TTS voices that no recipe trains or evaluates on.

The pipeline's own evaluation (models/<name>.yaml `accuracy:`) scores six held-out voice families, and a run
chosen on those scores can be lucky on them. These 18 voices are a second check, outside every training and
held-out list (voices.FRESH_VOICES: 16 MBROLA diphone voices of native speakers of other languages reading
English, festival's rab and don; `script/install-voices` installs them), each spelling said three times with
random speed and pitch.

Each clip is said alone (0.5 s before, 1 s after) in pink noise at `--snr` dB and run through the runtime
Engine with the model card's own detector, i.e. at the card's threshold (its 0.5 FA/h point on the
pipeline's 5 h of negatives). A hit is any event.

    .venv/bin/python benchmarks/fresh_voices.py RECIPE MODEL.yaml [MODEL.yaml ...] [--snr 10] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from wakeword.audio.signal import colored_noise, normalize, rms
from wakeword.engine import Engine
from wakeword.train.data.clips import ClipSet, Job, render
from wakeword.train.data.voices import FRESH_VOICES, Prosody
from wakeword.train.recipe import Recipe

HERE = Path(__file__).resolve().parent

DRAWS = 3  # prosody draws per voice and spelling


def fresh_jobs(recipe: Recipe, seed: int = 0) -> list[Job]:
    """Every fresh voice saying each of its spellings `DRAWS` times with random speed and pitch."""
    rng = np.random.default_rng(seed)
    return [Job(voice, text, Prosody(rate=float(rng.uniform(0.85, 1.15)), pitch=float(rng.uniform(0.85, 1.2))), seed)
            for voice in FRESH_VOICES for text in recipe.texts_for(voice) for _ in range(DRAWS)]


def fresh_clips(recipe: Recipe, seed: int = 0) -> tuple[ClipSet, list[str]]:
    """The recipe's spellings said by every fresh voice that works here (rendered like training clips), and the
    ids of the voices that do not."""
    got = render(fresh_jobs(recipe, seed), "fresh voices")
    return got, [v.id for v in FRESH_VOICES if v.id not in got.voices]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe", help="the model's recipe (its spellings and phonemes)")
    ap.add_argument("models", nargs="+", help="model cards (.yaml) to score")
    ap.add_argument("--snr", type=float, default=10.0)
    ap.add_argument("--out", default=None, help="default: benchmarks/results/fresh_voices_<recipe name>.json")
    a = ap.parse_args()
    recipe = Recipe.load(a.recipe)
    clips, missing = fresh_clips(recipe)
    if not clips.clips:
        raise SystemExit("none of the fresh voices works here: run script/install-voices")
    rng = np.random.default_rng(1)
    streams = []
    for audio in clips.clips:
        x = np.concatenate([np.zeros(8000, np.float32), audio, np.zeros(16000, np.float32)])
        streams.append(normalize(x + colored_noise(len(x), rng) * rms(audio) * 10 ** (-a.snr / 20)))
    report = {"snr_db": a.snr, "clips": len(clips.clips), "voices": sorted(set(clips.voices)), "missing_voices": missing,
              "models": {}}
    for card in a.models:
        engine = Engine([card])
        hits = [bool(list(engine.detect(x))) for x in streams]
        per_voice: dict[str, list[bool]] = {}
        for voice, hit in zip(clips.voices, hits):
            per_voice.setdefault(voice, []).append(hit)
        report["models"][card] = {
            "threshold": engine.detector_config(engine.models[0].name).threshold,
            "recall": round(float(np.mean(hits)), 4),
            "voices_below_half": sorted(v for v, h in per_voice.items() if np.mean(h) < 0.5),
            "recall_by_voice": {v: round(float(np.mean(h)), 3) for v, h in sorted(per_voice.items())},
        }
        m = report["models"][card]
        print(f"{card}: threshold {m['threshold']}, recall {m['recall']:.1%} on {len(clips.clips)} clips, "
              f"{len(m['voices_below_half'])} of {len(per_voice)} voices below 50 %")
    out = Path(a.out or HERE / "results" / f"fresh_voices_{recipe.name}.json")
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
