"""How far would a model get if it had heard the held-out voices? An upper bound for "more voices".

The evaluation holds whole voice families out of training. This fine-tunes one training draw as the pipeline's
finetune stage does (its trained model, the features plus its mined windows twice, the recipe's mining epochs and
learning rate), with one change: 2,000 more positive and 2,000 more negative windows, mixed like training from new
clips by the held-out voices themselves (the recipe's spellings with other prosody draws than the test clips,
its near-misses, and sentences that no other stage uses). Then it exports the model and runs the pipeline's own
evaluation (the recipe's held-out streams and negative hours). If FRR falls far, what the models lack is voices
like the held-out ones, not capacity or negatives. The fine-tuned model breaks the hold-out, so it is never shipped.

`--voices training` is the control: the same number of new windows, made the same way from new clips by the
training voices. It tells how much of the gain comes from fine-tuning on more windows at all. `--darken P` mixes
the added windows with that share of their speech darkened (`mixing.darken`), which imitates the held-out voice
missed most (RHVoice clb, weak above 1 kHz) with the training voices.

    .venv/bin/python benchmarks/heard_voices.py RECIPE --features DIR --train DIR --mine DIR --out DIR
        [--voices held-out|training] [--darken P]

DIR are the draw's stages under .cache/train/<recipe>/ (`features-*`, `train-*`, `mine-*`; the pipeline prints
them). Clips and windows are cached in `--out`.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from wakeword.train import clips  # noqa: E402
from wakeword.train.pipeline import (SHIPPED, fine_tune, mix_windows, recipe_voices, sentence_texts,  # noqa: E402
                                     split_voices)
from wakeword.train.recipe import Recipe  # noqa: E402
from heldout_eval import heldout_set, recipe_stages  # noqa: E402

WINDOWS = 2000  # positive and negative windows each


def heard_windows(recipe: Recipe, cache: Path, out: Path, which: str = "held-out", darken: float = 0.0) -> Path:
    """Training windows made from new clips by the held-out voices (`which="training"`: by the training voices);
    the directory of their x.npy / y.npy."""
    feat = out / "windows"
    if (feat / "y.npy").exists():
        return feat
    trained, held = split_voices(recipe, recipe_voices(recipe))
    voices = held if which == "held-out" else trained
    *_, texts = sentence_texts(recipe, recipe.validation.sentence_clips, 800)  # after every stage's sentences
    rng = np.random.default_rng(4242)
    jobs = {"positives": clips.spread_jobs(voices, recipe.texts_for, 600, rng),
            "near_misses": clips.spread_jobs(voices, recipe.near_misses or ["hey"], 600, rng),
            "sentences": clips.spread_jobs(voices, list(texts), 800, rng)}
    sets = {}
    for name, job_list in jobs.items():
        path = out / f"{name}.npz"
        if not path.exists():
            clips.render(job_list, f"{which} voices: {name}").save(path)
        sets[name] = clips.ClipSet.load(path)
    (bg,) = recipe_stages(recipe, cache, "backgrounds")
    banned = clips.phrase_words(recipe.phrase_texts, recipe.near_misses)
    load = {"positives": sets["positives"].clips, "near_misses": sets["near_misses"].clips, "confusables": [],
            "sentences": sets["sentences"].without(banned).clips}.__getitem__
    mixing = dataclasses.replace(recipe.mixing, darken=darken)
    mix_windows(feat, dataclasses.replace(recipe, mixing=mixing), load, bg, WINDOWS, WINDOWS, 77)
    return feat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("--features", required=True, type=Path)
    ap.add_argument("--train", required=True, type=Path, help="the draw's train stage (its model.keras)")
    ap.add_argument("--mine", required=True, type=Path, help="the draw's mine stage")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--cache", default=".cache/train", type=Path)
    ap.add_argument("--voices", choices=["held-out", "training"], default="held-out",
                    help="whose new clips make the added windows (training: the control)")
    ap.add_argument("--darken", type=float, default=0.0, help="share of the added windows' speech darkened")
    a = ap.parse_args()
    from wakeword.train.evaluate import evaluate_recipe
    from wakeword.train.export_stage import export_all

    recipe = Recipe.load(a.recipe)
    heard = heard_windows(recipe, a.cache, a.out, a.voices, a.darken)
    if not (a.out / "model.keras").exists():
        fine_tune(recipe, a.out, a.train / "model.keras", a.features, a.mine, extra=[heard])
    export, report = a.out / "export", a.out / "eval"
    export.mkdir(exist_ok=True)
    report.mkdir(exist_ok=True)
    if not (export / "export.json").exists():
        export_all(a.out / "model.keras", export, recipe, a.features)
    pos, sentences, bg = heldout_set(recipe, a.cache)
    evaluate_recipe(recipe, export, SHIPPED, pos.clips, sentences, bg, report, pos_voices=pos.voices)
    print(f"results: {report / 'results.json'}")


if __name__ == "__main__":
    main()
