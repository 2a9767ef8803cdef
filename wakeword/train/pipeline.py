"""`wakeword train RECIPE.yaml`: the whole pipeline as cached stages (cache.py), run in order.

The recipe's data (clip sets, backgrounds, training windows) comes from dataset.py; this module runs the model's
stages after it: train → mine → fine-tune → export → evaluate, then installs the model and its card. A fixed
recipe seed makes every random choice reproducible.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path

import yaml

from . import dataset
from .cache import PIPELINE_VERSION, Stage, stage_key
from .data.clips import ClipSet, load_audio
from .recipe import Recipe

# Bumped when the evaluate stage scores the same model differently, so its cached results are redone without
# retraining anything. 2: the negative streams deal their clips (evaluate.negative_blocks).
EVALUATION_REVISION = 2
# The shipped model is the dynamic-range int8 step model: ~8 µs per step against ~35-70 µs for float32 on
# the same CPU (XNNPACK), probabilities within ~5e-3 of the float model, and it is the one evaluated and
# whose accuracy the card states. The float32 twin goes to models/reports/<name>/ with its own card.
SHIPPED, OTHER = "model_int8", "model"
MODEL_STAGES = ("train", "mine", "finetune", "export", "evaluate")


def model_stages(recipe: Recipe, cache_dir: str | Path, features_key: str, quick: bool = False) -> dict[str, Stage]:
    """The stages after the features, by name, each keyed by the one before it and its part of the recipe."""
    root, v = Path(cache_dir) / recipe.name, PIPELINE_VERSION
    train = Stage(root, "train", stage_key(v, features_key, recipe.training, recipe.seed))
    mine = Stage(root, "mine", stage_key(v, train.key, recipe.mining))
    finetune = Stage(root, "finetune", stage_key(v, mine.key))
    export = Stage(root, "export", stage_key(v, finetune.key))
    evaluate = Stage(root, "evaluate", stage_key(v, export.key, recipe.evaluation, quick, EVALUATION_REVISION,
                                                 *dataset.real_speech_key(recipe)))
    return dict(zip(MODEL_STAGES, (train, mine, finetune, export, evaluate)))


def fine_tune(recipe: Recipe, out: Path, trained: Path, features: Path, mined: Path) -> None:
    """The fine-tune after mining: the trained model, again on the features and `mining.copies` copies of the
    mined windows, for `mining.epochs` at `mining.learning_rate`."""
    from .fit import fit

    m = recipe.mining
    tune = dataclasses.replace(recipe.training, epochs=m.epochs, learning_rate=m.learning_rate)
    fit([features] + [mined] * m.copies, out, tune, recipe.training_seed + 1, initial=trained)


def run(recipe_path: str, out_dir: str = "models", cache_dir: str = ".cache/train", stop_after: str | None = None,
        quick: bool = False) -> Path:
    """Run every stage; returns the directory of the exported model. `quick` shrinks everything (tests)."""
    recipe = Recipe.load(recipe_path)
    if quick:
        _shrink(recipe)
    root = Path(cache_dir) / recipe.name
    root.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    clip_dirs = dataset.make_clip_sets(dataset.clip_stages(recipe, cache_dir, quick, announce=True))
    load = dataset.clip_loader(recipe, clip_dirs)
    b_stage = dataset.backgrounds_stage(recipe, cache_dir, quick).run(
        lambda d: dataset.write_backgrounds(d, recipe, cache_dir, quick))
    if stop_after == "backgrounds":
        return root
    m = recipe.mixing
    f_stage = dataset.features_stage(recipe, cache_dir, clip_dirs, b_stage.key).run(
        lambda d: dataset.mix_windows(d, recipe, load, b_stage.dir, m.positive_windows, m.negative_windows, recipe.seed + 1))
    if stop_after == "features":
        return root
    st = model_stages(recipe, cache_dir, f_stage.key, quick)

    def train(dirpath: Path) -> None:
        from .fit import fit

        fit([f_stage.dir], dirpath, recipe.training, recipe.training_seed)

    def mine(dirpath: Path) -> None:
        from .mine import mine

        mine(st["train"].dir / "model.keras", dirpath, recipe.mining,
             speech=dataset.mining_speech(recipe, load, b_stage.dir),
             music=load_audio(b_stage.dir / "music_train.npz"), mixing=recipe.mixing, seed=recipe.seed + 3)

    def export(dirpath: Path) -> None:
        from .export import export_all

        export_all(st["finetune"].dir / "model.keras", dirpath, f_stage.dir)

    def evaluate(dirpath: Path) -> None:
        from .evaluate import evaluate_recipe

        evaluate_recipe(recipe, st["export"].dir, SHIPPED, load("eval_positives"), load("eval_sentences"), b_stage.dir,
                        dirpath, pos_voices=ClipSet.load(clip_dirs["eval_positives"]).voices,
                        real_tuning=dataset.real_negatives(recipe, "tuning"))

    st["train"].run(train)
    st["mine"].run(mine)
    st["finetune"].run(lambda d: fine_tune(recipe, d, st["train"].dir / "model.keras", f_stage.dir, st["mine"].dir))
    st["export"].run(export)
    if stop_after == "export":
        return st["export"].dir
    st["evaluate"].run(evaluate)
    _install(recipe, st["export"].dir, st["evaluate"].dir, Path(out_dir), time.time() - t_start)
    return Path(out_dir)


def _install(recipe: Recipe, export_dir: Path, eval_dir: Path, out: Path, seconds: float) -> None:
    """Copy the model, its int8 variant, and its card (with the evaluation results) to `out`."""
    from .card_writer import write_card

    out.mkdir(parents=True, exist_ok=True)
    results = json.loads((eval_dir / "results.json").read_text())
    report = out / "reports" / recipe.name
    report.mkdir(parents=True, exist_ok=True)
    for variant, path in ((SHIPPED, out / f"{recipe.name}.tflite"), (OTHER, report / f"{recipe.name}_float32.tflite")):
        shutil.copy(export_dir / f"{variant}.tflite", path)
        write_card(path.with_suffix(".yaml"), recipe, export_dir, results, variant=variant, shipped=variant == SHIPPED)
    for f in eval_dir.iterdir():
        if f.suffix in (".png", ".json", ".md"):
            shutil.copy(f, report / f.name)
    print(f"installed {out / recipe.name}.tflite (+ .yaml, reports/) — pipeline run took {seconds / 60:.1f} min this time")


def _shrink(recipe: Recipe) -> None:
    """The smallest full run: a few clips, one epoch (used by the pipeline test)."""
    recipe.synthesis.positives_per_voice = {k: 1 for k in recipe.synthesis.positives_per_voice}
    recipe.synthesis.near_miss_clips = recipe.synthesis.sentence_clips = recipe.synthesis.confusable_clips = 6
    recipe.synthesis.mining_sentence_clips = 6
    recipe.synthesis.eval_positive_clips = recipe.synthesis.eval_sentence_clips = 4
    recipe.mixing.positive_windows, recipe.mixing.negative_windows = 16, 16
    recipe.training.epochs, recipe.training.batch_size = 1, 8
    recipe.mining.hours, recipe.mining.epochs, recipe.mining.max_windows = 0.02, 1, 8
    recipe.evaluation.negative_hours = 0.01
    recipe.real_negative_dirs = []


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="wakeword train", description="Train a wake-word model from a recipe.")
    ap.add_argument("recipe")
    ap.add_argument("--out", default="models", help="where the .tflite and card go (default: models)")
    ap.add_argument("--cache", default=os.environ.get("WAKEWORD_CACHE", ".cache/train"))
    ap.add_argument("--stop-after", choices=["backgrounds", "features", "export"])
    ap.add_argument("--quick", action="store_true", help="tiny run of every stage (smoke test)")
    a = ap.parse_args(argv)
    try:
        Recipe.load(a.recipe)  # a bad recipe is one line, not a traceback
    except (OSError, ValueError, TypeError, yaml.YAMLError) as e:
        raise SystemExit(f"wakeword train: {e}") from None
    run(a.recipe, a.out, a.cache, a.stop_after, a.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
