"""Materialize the evaluation sets as plain directories of WAV files, for `wakeword eval` and the peer benchmark.

    .venv/bin/python benchmarks/make_eval_dirs.py RECIPE.yaml OUTDIR [--real DIR]

OUTDIR/positives/: the recipe's held-out-voice clips of the phrase (from the pipeline's cache: run
`wakeword train RECIPE` first). OUTDIR/real_negatives/: symlinks to the held-out half of the real recordings
under --real (the half the pipeline never trained on, by the same file-name hash split).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

from wakeword.audio.wav import write_wav
from wakeword.train.data.backgrounds import in_share
from wakeword.train.data.clips import ClipSet
from wakeword.train.recipe import Recipe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("out")
    ap.add_argument("--real", default="../shared/data/precise-community-data")
    ap.add_argument("--cache", default=".cache/train")
    a = ap.parse_args()
    recipe = Recipe.load(a.recipe)
    sets = sorted(glob.glob(os.path.join(a.cache, recipe.name, "clips_eval_positives-*", "clips.npz")), key=os.path.getmtime)
    if not sets:
        sys.exit(f"no cached eval clips for {recipe.name}: run `wakeword train {a.recipe}` first")
    pos = Path(a.out) / "positives"
    pos.mkdir(parents=True, exist_ok=True)
    cs = ClipSet.load(Path(sets[-1]))
    for i, (clip, voice) in enumerate(zip(cs.clips, cs.voices)):
        write_wav(pos / f"{i:04d}-{voice.replace(':', '_').replace('+', '_')}.wav", clip * 0.5)
    neg = Path(a.out) / "real_negatives"
    neg.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in sorted(glob.glob(os.path.join(a.real, "**", "*.wav"), recursive=True)):
        rel = os.path.relpath(f, a.real)
        if in_share(rel, 0.5):
            link = neg / rel.replace(os.sep, "__")
            if not link.exists():
                link.symlink_to(os.path.abspath(f))
            n += 1
    print(f"{len(cs.clips)} positives in {pos}, {n} held-out real negatives in {neg}")


if __name__ == "__main__":
    main()
