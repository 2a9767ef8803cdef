"""How far would a model get if it had heard the held-out voices? An upper bound for "more voices".

The evaluation holds whole voice families out of training. This fine-tunes one training draw as the pipeline's
finetune stage does (its trained model, the features plus its mined windows twice, the recipe's mining epochs and
learning rate), with one change: 2,000 more positive and 2,000 more negative windows, mixed like training from new
clips by the held-out voices themselves (the recipe's spellings with other prosody draws than the test clips,
its near-misses, and sentences that no other stage uses). Then it exports the model and runs the pipeline's own
evaluation (the recipe's held-out streams and negative hours). If FRR falls far, what the models lack is voices
like the held-out ones, not capacity or negatives. The fine-tuned model breaks the hold-out, so it is never shipped.

    .venv/bin/python benchmarks/heard_voices.py RECIPE --features DIR --train DIR --mine DIR --out DIR

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

from wakeword.model.geometry import StepGeometry  # noqa: E402
from wakeword.train import backgrounds, clips  # noqa: E402
from wakeword.train.pipeline import SHIPPED, _load_list, sentence_texts, split_voices  # noqa: E402
from wakeword.train.recipe import Recipe  # noqa: E402
from wakeword.train.voices import available_voices  # noqa: E402
from heldout_eval import heldout_set, recipe_stages  # noqa: E402

WINDOWS = 2000  # positive and negative windows each


def heard_windows(recipe: Recipe, cache: Path, out: Path) -> Path:
    """Training windows made from new clips by the held-out voices; the directory of their x.npy / y.npy."""
    from wakeword.train.mixing import Sources, make_features

    feat = out / "windows"
    if (feat / "y.npy").exists():
        return feat
    _, held = split_voices(recipe, available_voices())
    *_, texts = sentence_texts(recipe, recipe.validation.sentence_clips, 800)  # after every stage's sentences
    rng = np.random.default_rng(4242)
    jobs = {"positives": clips.spread_jobs(held, recipe.texts_for, 600, rng),
            "near_misses": clips.spread_jobs(held, recipe.near_misses or ["hey"], 600, rng),
            "sentences": clips.spread_jobs(held, list(texts), 800, rng)}
    sets = {}
    for name, job_list in jobs.items():
        path = out / f"{name}.npz"
        if not path.exists():
            clips.render(job_list, f"held-out voices: {name}").save(path)
        sets[name] = clips.ClipSet.load(path)
    (bg,) = recipe_stages(recipe, cache, "backgrounds")
    banned = clips.phrase_words(recipe.phrase_texts, recipe.near_misses)
    src = Sources(positives=sets["positives"].clips, near_misses=sets["near_misses"].clips,
                  sentences=sets["sentences"].without(banned).clips, real_speech=_load_list(bg / "real_train.npz"),
                  music=_load_list(bg / "music_train.npz"), irs=backgrounds.impulse_responses(np.random.default_rng(77)))
    x, y = make_features(src, recipe.mixing, StepGeometry(), WINDOWS, WINDOWS, 78)
    feat.mkdir(parents=True, exist_ok=True)
    np.save(feat / "x.npy", x)
    np.save(feat / "y.npy", y)
    return feat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("--features", required=True, type=Path)
    ap.add_argument("--train", required=True, type=Path, help="the draw's train stage (its model.keras)")
    ap.add_argument("--mine", required=True, type=Path, help="the draw's mine stage")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--cache", default=".cache/train", type=Path)
    a = ap.parse_args()
    from wakeword.train.evaluate import evaluate_recipe
    from wakeword.train.export_stage import export_all
    from wakeword.train.fit import fit

    recipe = Recipe.load(a.recipe)
    heard = heard_windows(recipe, a.cache, a.out)
    m = recipe.mining
    tune = dataclasses.replace(recipe.training, epochs=m.epochs, learning_rate=m.learning_rate)
    if not (a.out / "model.keras").exists():
        fit([a.features, heard] + [a.mine] * m.copies, a.out, tune, recipe.training_seed + 1,
            initial=a.train / "model.keras")
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
