"""`wakeword train RECIPE.yaml`: the whole pipeline as cached stages.

Each stage writes into `<cache>/<recipe name>/<stage>-<key>/`, where the key hashes the recipe parts the
stage reads and the keys of the stages before it; a finished stage leaves a `done` marker, so a rerun (or
a session that was cut off) only redoes what changed or never finished. A fixed recipe seed makes every
random choice reproducible.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import sys
import time
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from ..model.geometry import StepGeometry
from . import backgrounds, clips, confusables
from .recipe import Recipe, stage_key
from .voices import ENGINE_REVISIONS, Voice, available_voices

PIPELINE_VERSION = 2
# Bumped when the evaluate stage scores the same model differently, so its cached results are redone without
# retraining anything. 2: the negative streams deal their clips (evaluate.negative_blocks).
EVALUATION_REVISION = 2
# The shipped model is the dynamic-range int8 step model: ~8 µs per step against ~35-70 µs for float32 on
# the same CPU (XNNPACK), probabilities within ~5e-3 of the float model, and it is the one evaluated and
# whose accuracy the card states. The float32 twin goes to models/reports/<name>/ with its own card.
SHIPPED, OTHER = "model_int8", "model"


class Stage:
    def __init__(self, root: Path, name: str, key: str) -> None:
        self.name, self.key = name, key
        self.dir = root / f"{name}-{key}"

    @property
    def done(self) -> bool:
        return (self.dir / "done").exists()

    def run(self, fn: Callable[[Path], None]) -> "Stage":
        if self.done:
            print(f"[{self.name}] cached ({self.dir})")
            return self
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        t0 = time.time()
        print(f"[{self.name}] running -> {self.dir}")
        fn(self.dir)
        (self.dir / "done").write_text(f"{time.time() - t0:.1f}\n")
        print(f"[{self.name}] done in {time.time() - t0:.0f} s")
        return self


def backgrounds_stage(recipe: Recipe, cache_dir: str | Path, quick: bool = False) -> Stage:
    """The music and real-recording stage a recipe trains and evaluates with (shared by recipes with the same
    real negative directories); benchmarks read the held-out halves from it."""
    return Stage(Path(cache_dir) / "shared", "backgrounds", stage_key(PIPELINE_VERSION, recipe.real_negative_dirs, quick))


def split_voices(recipe: Recipe, voices: list[Voice]) -> tuple[list[Voice], list[Voice]]:
    held = set(recipe.holdout_families)
    return [v for v in voices if v.family not in held], [v for v in voices if v.family in held]


def clip_stages(recipe: Recipe, cache_dir: str | Path, quick: bool = False,
                announce: bool = False) -> dict[str, tuple[Stage, list]]:
    """Every clip set a recipe synthesizes, as (stage, jobs) by name; the stage key is the exact job list, so a
    benchmark that asks for a recipe's held-out clips gets the very set its pipeline made (or none)."""
    voices = available_voices()
    if not voices:
        raise SystemExit("no TTS voice is usable: run script/install-voices")
    train_voices, eval_voices = split_voices(recipe, voices)
    if not eval_voices:  # hold out at least one family so evaluation never scores a voice it trained on
        fam = sorted({v.family for v in voices})[-1]
        train_voices, eval_voices = [v for v in voices if v.family != fam], [v for v in voices if v.family == fam]
    if announce:
        print(f"voices: {len(train_voices)} training setups, {len(eval_voices)} held-out setups "
              f"({', '.join(sorted({v.family for v in eval_voices}))})")
    s = recipe.synthesis
    root = Path(cache_dir) / recipe.name
    shared = Path(cache_dir) / "shared"  # stages that do not depend on the phrase, reused by every recipe

    def set_rng(name: str) -> np.random.Generator:
        return np.random.default_rng([recipe.seed, zlib.crc32(name.encode())])

    # Sentences do not depend on the phrase (sentences that contain it are filtered out when used), so every
    # recipe with the same seed shares them; each clip set is a stage of its own, keyed by its exact jobs.
    train_texts, eval_texts, mining_texts = sentence_texts(recipe)
    lexicon = confusables.lexicon(shared / "lexicon-quick.tsv", 3000) if quick else confusables.lexicon(shared / "lexicon.tsv")
    sound_alikes = confusables.phrases(recipe.phrase_texts[0], lexicon, clips.phrase_words(recipe.phrase_texts, []),
                                       max(1, s.confusable_clips // 4), set_rng("confusables"), rhythm=s.rhythm_alikes)
    sets = {
        "positives": (root, clips.phrase_jobs(train_voices, s.positives_per_voice, recipe.texts_for, set_rng("positives"))),
        "eval_positives": (root, clips.spread_jobs(eval_voices, recipe.texts_for, s.eval_positive_clips,
                                                   set_rng("eval_positives"))),
        "near_misses": (root, clips.spread_jobs(train_voices, recipe.near_misses or ["hey"], s.near_miss_clips,
                                                set_rng("near_misses"))),
        "confusables": (root, clips.spread_jobs(train_voices, sound_alikes or ["hey"], s.confusable_clips,
                                                set_rng("confusables"))),
        "sentences": (shared, clips.spread_jobs(train_voices, list(train_texts), s.sentence_clips, set_rng("s"))),
        "eval_sentences": (shared, clips.spread_jobs(voices, list(eval_texts), s.eval_sentence_clips, set_rng("e"))),
        "mining_sentences": (shared, clips.spread_jobs(train_voices, list(mining_texts), s.mining_sentence_clips,
                                                       set_rng("m"))),
    }
    return {name: (Stage(where, f"clips_{name}", stage_key(PIPELINE_VERSION, name, jobs, ENGINE_REVISIONS)), jobs)
            for name, (where, jobs) in sets.items()}


def sentence_texts(recipe: Recipe) -> list[np.ndarray]:
    """The recipe's sentence texts, one order cut into consecutive slices: training, evaluation and mining."""
    s = recipe.synthesis
    counts = [s.sentence_clips, s.eval_sentence_clips, s.mining_sentence_clips]
    texts = clips.sentences(sum(counts), np.random.default_rng([recipe.seed, zlib.crc32(b"sentences")]))
    return np.split(np.array(texts, object), np.cumsum(counts)[:-1])


def mix_windows(dirpath: Path, recipe: Recipe, load: Callable[[str], list[np.ndarray]], backgrounds_dir: Path,
                n_pos: int, n_neg: int, seed: int) -> None:
    """Training windows (`x.npy`, `y.npy` in `dirpath`) mixed by `mixing.make_features` from the clip sets `load`
    gives by name, the training halves of the backgrounds stage's real recordings and music, and room impulse
    responses."""
    from .mixing import Sources, make_features

    src = Sources(positives=load("positives"), near_misses=load("near_misses") + load("confusables"),
                  sentences=load("sentences"),
                  real_speech=_load_list(backgrounds_dir / "real_train.npz"),
                  music=_load_list(backgrounds_dir / "music_train.npz"),
                  irs=backgrounds.impulse_responses(np.random.default_rng(seed)))
    x, y = make_features(src, recipe.mixing, StepGeometry(), n_pos, n_neg, seed + 1)
    dirpath.mkdir(parents=True, exist_ok=True)
    np.save(dirpath / "x.npy", x)
    np.save(dirpath / "y.npy", y)


def fine_tune(recipe: Recipe, out: Path, trained: Path, features: Path, mined: Path) -> None:
    """The fine-tune after mining: the trained model, again on the features and `mining.copies` copies of the
    mined windows, for `mining.epochs` at `mining.learning_rate`."""
    from .fit import fit

    m = recipe.mining
    tune = dataclasses.replace(recipe.training, epochs=m.epochs, learning_rate=m.learning_rate)
    fit([features] + [mined] * m.copies, out, tune, recipe.training_seed + 1, initial=trained)


def make_clip_sets(stages: dict[str, tuple[Stage, list]]) -> dict[str, Path]:
    """Synthesize the clip sets of `clip_stages` that are not cached yet; their `clips.npz` paths by name."""
    for name, (st, jobs) in stages.items():
        st.run(lambda d, name=name, jobs=jobs: clips.render(jobs, name).save(d / "clips.npz"))
    return {name: st.dir / "clips.npz" for name, (st, _) in stages.items()}


def run(recipe_path: str, out_dir: str = "models", cache_dir: str = ".cache/train", stop_after: str | None = None,
        quick: bool = False) -> Path:
    """Run every stage; returns the directory of the exported model. `quick` shrinks everything (tests)."""
    recipe = Recipe.load(recipe_path)
    if quick:
        _shrink(recipe)
    root = Path(cache_dir) / recipe.name
    root.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    clip_dirs = make_clip_sets(clip_stages(recipe, cache_dir, quick, announce=True))
    rng_seed = recipe.seed
    banned = clips.phrase_words(recipe.phrase_texts, recipe.near_misses)

    load = functools.partial(_load_clips, clip_dirs, banned)

    def bg_stage(dirpath: Path) -> None:
        music = [] if quick else backgrounds.music_tracks(Path(cache_dir) / "downloads")
        real = backgrounds.real_clips(recipe.real_negative_dirs)
        for label, items in (("music", music), ("real", real)):
            tr, ev = backgrounds.split(items, eval_fraction=0.3 if label == "music" else 0.5)
            _save_list(dirpath / f"{label}_train.npz", tr)
            _save_list(dirpath / f"{label}_eval.npz", ev)

    b_stage = backgrounds_stage(recipe, cache_dir, quick).run(bg_stage)
    if stop_after == "backgrounds":
        return root

    # Only the clip sets the features are mixed from: a new evaluation or mining set must not retrain the model.
    clips_key = stage_key(*(str(clip_dirs[n]) for n in ("positives", "near_misses", "confusables", "sentences")))

    def feat_stage(dirpath: Path) -> None:
        m = recipe.mixing
        mix_windows(dirpath, recipe, load, b_stage.dir, m.positive_windows, m.negative_windows, rng_seed + 1)

    f_stage = Stage(root, "features", stage_key(PIPELINE_VERSION, clips_key, b_stage.key, recipe.mixing)).run(feat_stage)
    if stop_after == "features":
        return root

    e_stage = train_draw(recipe, root, f_stage, b_stage, load)
    if stop_after == "export":
        return e_stage.dir

    def eval_stage(dirpath: Path) -> None:
        from .evaluate import evaluate_recipe

        evaluate_recipe(recipe, e_stage.dir, SHIPPED, load("eval_positives"), load("eval_sentences"), b_stage.dir, dirpath,
                        pos_voices=clips.ClipSet.load(clip_dirs["eval_positives"]).voices)

    v_key = stage_key(PIPELINE_VERSION, e_stage.key, recipe.evaluation, quick, EVALUATION_REVISION)
    v_stage = Stage(root, "evaluate", v_key).run(eval_stage)
    _install(recipe, e_stage.dir, v_stage.dir, Path(out_dir), time.time() - t_start)
    return Path(out_dir)


def train_draw(recipe: Recipe, root: Path, f_stage: Stage, b_stage: Stage,
               load: Callable[[str], list[np.ndarray]]) -> Stage:
    """train → mine → fine-tune → export for the recipe's `training.run`; returns the export stage."""

    def train_stage(dirpath: Path) -> None:
        from .fit import fit

        fit([f_stage.dir], dirpath, recipe.training, recipe.training_seed)

    t_stage = Stage(root, "train", stage_key(PIPELINE_VERSION, f_stage.key, recipe.training, recipe.seed)).run(train_stage)

    def mine_stage(dirpath: Path) -> None:
        from .mine import mine

        mine(t_stage.dir / "model.keras", dirpath, recipe.mining,
             speech=load("mining_sentences") + load("sentences") + load("near_misses") + load("confusables")
             + _load_list(b_stage.dir / "real_train.npz"),
             music=_load_list(b_stage.dir / "music_train.npz"), mixing=recipe.mixing, seed=recipe.seed + 3)

    m_stage = Stage(root, "mine", stage_key(PIPELINE_VERSION, t_stage.key, recipe.mining)).run(mine_stage)

    def finetune_stage(dirpath: Path) -> None:
        fine_tune(recipe, dirpath, t_stage.dir / "model.keras", f_stage.dir, m_stage.dir)

    ft_stage = Stage(root, "finetune", stage_key(PIPELINE_VERSION, m_stage.key)).run(finetune_stage)

    def export_stage(dirpath: Path) -> None:
        from .export_stage import export_all

        export_all(ft_stage.dir / "model.keras", dirpath, recipe, f_stage.dir)

    return Stage(root, "export", stage_key(PIPELINE_VERSION, ft_stage.key)).run(export_stage)


def _load_clips(clip_dirs: dict[str, Path], banned: set[str], name: str) -> list[np.ndarray]:
    cs = clips.ClipSet.load(clip_dirs[name])
    return cs.without(banned).clips if "sentences" in name else cs.clips


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


def _save_list(path: Path, arrays: list[np.ndarray]) -> None:
    lengths = np.array([len(a) for a in arrays], np.int64)
    audio = np.concatenate(arrays) if arrays else np.zeros(0, np.float32)
    np.savez(path, audio=(np.clip(audio, -1, 1) * 32767).astype(np.int16), lengths=lengths)


def _load_list(path: Path) -> list[np.ndarray]:
    z = np.load(path)
    audio = z["audio"].astype(np.float32) / 32767
    b = np.concatenate([[0], np.cumsum(z["lengths"])])
    return [audio[i:j] for i, j in zip(b[:-1], b[1:])]


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
        raise SystemExit(f"wakeword train: {e}")
    run(a.recipe, a.out, a.cache, a.stop_after, a.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
