"""A recipe's data as cached stages: its voices split into training and held-out ones, the clip sets they say,
the sentences, the backgrounds, the mixed training windows, and the held-out evaluation set.

Benchmarks import this module (and no other part of the pipeline) to find the very clips and recordings a
recipe's pipeline made: every stage here is found by its key, never by age, since another recipe's stages
may hold other voices or other recordings.
"""
from __future__ import annotations

import functools
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from ..model.geometry import StepGeometry
from .cache import PIPELINE_VERSION, Stage, stage_key
from .data import backgrounds, clips, confusables, real_speech
from .data.clips import ClipSet, Job, load_audio, save_audio
from .data.voices import ENGINE_REVISIONS, Voice, available_voices
from .recipe import Recipe

ClipStages = dict[str, tuple[Stage, list[Job]]]
Loader = Callable[[str], list[np.ndarray]]
# The clip sets the training windows are mixed from: a new evaluation or mining set must not retrain the model.
WINDOW_SETS = ("positives", "near_misses", "confusables", "sentences")


def backgrounds_stage(recipe: Recipe, cache_dir: str | Path, quick: bool = False) -> Stage:
    """The music and real-recording stage a recipe trains and evaluates with (shared by recipes with the same
    real negative directories); benchmarks read the held-out halves from it."""
    return Stage(Path(cache_dir) / "shared", "backgrounds", stage_key(PIPELINE_VERSION, recipe.real_negative_dirs, quick))


def write_backgrounds(dirpath: Path, recipe: Recipe, cache_dir: str | Path, quick: bool) -> None:
    """The backgrounds stage: music and the recipe's real recordings, each split into training and held-out
    halves (`music_train.npz`, `music_eval.npz`, `real_train.npz`, `real_eval.npz`)."""
    music = [] if quick else backgrounds.music_tracks(Path(cache_dir) / "downloads")
    real = backgrounds.real_clips(recipe.real_negative_dirs)
    for label, items in (("music", music), ("real", real)):
        tr, ev = backgrounds.split(items, eval_fraction=0.3 if label == "music" else 0.5)
        save_audio(dirpath / f"{label}_train.npz", tr)
        save_audio(dirpath / f"{label}_eval.npz", ev)


def split_voices(recipe: Recipe, voices: list[Voice]) -> tuple[list[Voice], list[Voice]]:
    held = set(recipe.holdout_families)
    return [v for v in voices if v.family not in held], [v for v in voices if v.family in held]


def clip_stages(recipe: Recipe, cache_dir: str | Path, quick: bool = False, announce: bool = False) -> ClipStages:
    """Every clip set a recipe synthesizes, as (stage, jobs) by name; the stage key is the exact job list, so a
    benchmark that asks for a recipe's held-out clips gets the very set its pipeline made (or none). Nothing is
    synthesized here (beyond one probe per voice family, `available_voices`)."""
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


def make_clip_sets(stages: ClipStages) -> dict[str, Path]:
    """Synthesize the clip sets of `clip_stages` that are not cached yet; their `clips.npz` paths by name."""
    def synthesize(name: str, jobs: list[Job], d: Path) -> None:
        clips.render(jobs, name).save(d / "clips.npz")

    for name, (st, jobs) in stages.items():
        st.run(functools.partial(synthesize, name, jobs))
    return {name: st.dir / "clips.npz" for name, (st, _) in stages.items()}


def banned_words(recipe: Recipe) -> set[str]:
    """The phrase's words that no negative (TTS sentence or real utterance) may say."""
    return clips.phrase_words(recipe.phrase_texts, recipe.near_misses)


def clip_loader(recipe: Recipe, clip_dirs: dict[str, Path]) -> Loader:
    """Loads a clip set by name; sentence sets come without the clips that say a word of the phrase."""
    return functools.partial(_load_clips, clip_dirs, banned_words(recipe))


def _load_clips(clip_dirs: dict[str, Path], banned: set[str], name: str) -> list[np.ndarray]:
    cs = ClipSet.load(clip_dirs[name])
    return cs.without(banned).clips if "sentences" in name else cs.clips


def features_stage(recipe: Recipe, cache_dir: str | Path, clip_dirs: dict[str, Path], backgrounds_key: str) -> Stage:
    """The training windows' stage: keyed by the clip sets they are mixed from, the backgrounds and `mixing`."""
    clips_key = stage_key(*(str(clip_dirs[n]) for n in WINDOW_SETS))
    return Stage(Path(cache_dir) / recipe.name, "features",
                 stage_key(PIPELINE_VERSION, clips_key, backgrounds_key, recipe.mixing, *real_speech_key(recipe)))


def real_negatives(recipe: Recipe, part: str) -> list[np.ndarray]:
    """The recipe's real-speech `part` (data/real_speech.py) without the utterances that say its phrase; none when
    the recipe names no real-speech folder."""
    if not recipe.real_speech_dir:
        return []
    return real_speech.negatives(real_speech.load(recipe.real_speech_dir, part), banned_words(recipe))


def real_speech_key(recipe: Recipe) -> list:
    """What the real speech in training depends on, for stage keys: nothing when the recipe uses none (so the keys of
    recipes without real speech are what they were), else the folder's name, the dev cut and `real_positives`."""
    if not recipe.real_speech_dir:
        return []
    return [Path(recipe.real_speech_dir).name, real_speech.TUNING_SHARE] + (
        ["real_positives", recipe.real_positives] if recipe.real_positives else [])


def real_positives(recipe: Recipe) -> list[np.ndarray]:
    """The proxy measurement `real_positives`: that share of the dev training speakers' renditions of the phrase."""
    if not recipe.real_positives:
        return []
    clips = real_speech.phrase_clips(real_speech.load(recipe.real_speech_dir, "training"), banned_words(recipe),
                                     recipe.real_positives) if recipe.real_speech_dir else []
    if not clips:
        raise SystemExit(f"real_positives: no dev training speaker says {recipe.phrase!r} in the real_speech_dir "
                         f"{recipe.real_speech_dir!r} (it measures the proxy phrases, which WUW's speakers say)")
    return clips


def mining_speech(recipe: Recipe, load: Loader, backgrounds_dir: Path) -> list[np.ndarray]:
    """What hard-negative mining scans (train/mine.py): training-side speech only, and the fresh sentences that
    nothing else uses."""
    return (load("mining_sentences") + load("sentences") + load("near_misses") + load("confusables")
            + load_audio(backgrounds_dir / "real_train.npz") + real_negatives(recipe, "training"))


def mix_windows(dirpath: Path, recipe: Recipe, load: Loader, backgrounds_dir: Path, n_pos: int, n_neg: int,
                seed: int, embed: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
    """Training windows (`x.npy`, `y.npy`: features and labels; with `embed`, `e.npy`: each window's audio through
    it, for benchmarks/embedding_frontend.py) in `dirpath`, mixed by
    `mixing.make_features` from the clip sets `load` gives by name, the training halves of the backgrounds stage's
    real recordings and music, and room impulse responses."""
    from .data.mixing import Sources, make_features

    src = Sources(positives=load("positives") + real_positives(recipe),
                  near_misses=load("near_misses") + load("confusables"), sentences=load("sentences"),
                  real_speech=load_audio(backgrounds_dir / "real_train.npz") + real_negatives(recipe, "training"),
                  music=load_audio(backgrounds_dir / "music_train.npz"),
                  irs=backgrounds.impulse_responses(np.random.default_rng(seed)))
    x, y, e = make_features(src, recipe.mixing, StepGeometry(), n_pos, n_neg, seed + 1, embed)
    dirpath.mkdir(parents=True, exist_ok=True)
    for name, a in (("x", x), ("y", y), ("e", e)):
        if a is not None:
            np.save(dirpath / f"{name}.npy", a)


def recipe_stages(recipe: Recipe, cache: Path, *names: str) -> list[Path]:
    """The directories of the recipe's own finished stages: clip sets (`eval_positives`, `eval_sentences`) or
    `backgrounds`. Not merely the newest: another recipe's sets may hold other voices or other recordings."""
    clip_sets = clip_stages(recipe, cache) if set(names) - {"backgrounds"} else {}  # probes every voice: once
    dirs = []
    for name in names:
        stage = backgrounds_stage(recipe, cache) if name == "backgrounds" else clip_sets[name][0]
        if not stage.done:
            raise SystemExit(f"no finished {name} stage for {recipe.name} in {cache}: run the recipe's pipeline first")
        dirs.append(stage.dir)
    return dirs


def heldout_set(recipe: Recipe, cache: Path) -> tuple[ClipSet, list[np.ndarray], Path]:
    """The recipe's evaluation material: held-out positives, held-out sentences (the phrase's words removed) and
    the backgrounds stage directory."""
    pos_dir, sentences_dir, bg = recipe_stages(recipe, cache, "eval_positives", "eval_sentences", "backgrounds")
    sentences = ClipSet.load(sentences_dir / "clips.npz").without(banned_words(recipe)).clips
    return ClipSet.load(pos_dir / "clips.npz"), sentences, bg
