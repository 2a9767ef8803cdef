"""What a front end trained on real speech buys on real speakers: openWakeWord's design on the recipe's own windows.

    .venv/bin/python benchmarks/embedding_frontend.py --recipe recipes/proxies/voyager.yaml [--runs 0 1]
        [--seed-draw DEV.json TEST.json ...] [--out FILE]

Every positive is synthetic, and the seed model (kept exactly by the design card) learns all it knows from them:
on real speakers the proxies miss a fifth to a third of the clips (benchmarks/RESULTS.md). openWakeWord, also
trained on synthetic speech only, puts a small classifier on Google's speech embedding (Apache-2.0, arXiv
2002.01322), a network trained on a very large amount of real speech. This benchmark asks how much of the gap such
a front end closes, with everything else equal: the classifier is trained on the very windows the recipe mixes for
the seed model (same clips, backgrounds, real negative speech and seed; `dataset.mix_windows` with `embed`), and
scored by real_speech.py's own code on the same real speakers. Nothing of it ships.

- Embedding: `melspectrogram.onnx` and `embedding_model.onnx` of the openwakeword 0.4.0 wheel (the last one that
  carries them), fetched with `pip download --no-deps` into .cache/downloads/ and read from the zip; 96 numbers
  every 80 ms, each from the last 0.78 s.
- Classifier: openWakeWord's head: the last CONTEXT embeddings flattened, two blocks of Dense(128), LayerNorm,
  ReLU and dropout, a sigmoid; labelled by the seed model's per-step labels at each embedding's end. Then mined
  and fine-tuned as the seed pipeline does it (the recipe's `mining` block): scored both before and after.
- Operating rule, for it and for the seed draws given with `--seed-draw`: the dev matched threshold (the lowest
  from which the dev tuning speech, clean and at 10 dB pooled, raises at most 0.62 false accepts per hour;
  recipe_arms.at_matched_fa), then the test speakers at that threshold.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from wakeword.model.card import ModelCard
from wakeword.model.geometry import StepGeometry
from wakeword.train import dataset
from wakeword.train.cache import Stage, stage_key
from wakeword.train.data import backgrounds
from wakeword.train.data import real_speech as rs
from wakeword.train.data.clips import load_audio
from wakeword.train.recipe import Recipe

import real_speech  # benchmarks/real_speech.py
import wheels  # benchmarks/wheels.py
from recipe_arms import at_matched_fa, row

WHEEL = ("openwakeword", "0.4.0")
MODELS = "openwakeword/resources/models/"
DIM, MEL_HOP, MEL_WIN, SPAN, STRIDE = 96, 160, 512, 76, 8  # embedding size; mel hop, window; mel frames per embedding
CONTEXT = 12       # embeddings the classifier reads: 1.66 s of audio
EPOCHS = 6
_embedded: dict[str, np.ndarray] = {}


@functools.lru_cache(maxsize=None)
def sessions() -> tuple:
    """The mel front end and the embedding network, one thread each (the wheel fetched on first use)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    files = wheels.read(*WHEEL, [MODELS + f for f in ("melspectrogram.onnx", "embedding_model.onnx")])
    return tuple(ort.InferenceSession(f, opts, providers=["CPUExecutionProvider"]) for f in files)


def embeddings(audio: np.ndarray, chunk_frames: int = 6000) -> np.ndarray:
    """(n, DIM) embeddings of 16 kHz float audio in [-1, 1], the k-th ending at `end_times(n)[k]`. The mel frames
    are made in chunks that tile the audio exactly (a frame needs MEL_WIN samples), so a long stream costs little
    memory and gives what one call would."""
    mel_model, emb_model = sessions()
    pcm = (audio * 32767.0).astype(np.float32)
    size = chunk_frames * MEL_HOP + MEL_WIN - MEL_HOP
    starts = range(0, max(len(pcm) - MEL_WIN + 1, 0), chunk_frames * MEL_HOP)
    mel = [np.squeeze(mel_model.run(None, {"input": pcm[None, s:s + size]})[0], axis=(0, 1)) for s in starts]
    mel = np.concatenate(mel) / 10.0 + 2.0 if mel else np.zeros((0, 32), np.float32)  # openWakeWord's scaling
    firsts = np.arange(0, len(mel) - SPAN + 1, STRIDE)
    out = [emb_model.run(None, {"input_1": np.stack([mel[f:f + SPAN] for f in firsts[k:k + 512]])[..., None]})[0]
           for k in range(0, len(firsts), 512)]
    return np.concatenate(out).reshape(-1, DIM) if out else np.zeros((0, DIM), np.float32)


def end_times(n: int) -> np.ndarray:
    """Seconds from the audio's start at which each of n embeddings ends."""
    return (np.arange(n) * STRIDE * MEL_HOP + (SPAN - 1) * MEL_HOP + MEL_WIN) / 16000.0


def label_steps(n_embeddings: int, n_steps: int) -> np.ndarray:
    """For each embedding of a window, the first seed-model step ending at or after it: where its label is read."""
    return np.searchsorted(StepGeometry().step_end_times(n_steps), end_times(n_embeddings) - 1e-6)


def runs(e: np.ndarray) -> np.ndarray:
    """Every run of CONTEXT consecutive embeddings of (..., n, DIM): (..., n - CONTEXT + 1, CONTEXT, DIM), the k-th
    ending at embedding k + CONTEXT - 1 (what the classifier reads there)."""
    return np.moveaxis(np.lib.stride_tricks.sliding_window_view(e, CONTEXT, axis=-2), -1, -2)


def samples(e: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every run of CONTEXT embeddings in each window, with the window's label at the run's end (run-major)."""
    steps = label_steps(e.shape[1], y.shape[1])[CONTEXT - 1:]
    x = np.swapaxes(runs(e), 0, 1).reshape(-1, CONTEXT, DIM)
    return x.astype(np.float32), y[:, steps].T.reshape(-1).astype(np.float32)


def train_classifier(x: np.ndarray, y: np.ndarray, seed: int):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((CONTEXT, DIM))
    h = layers.Flatten()(inp)
    for _ in range(2):
        h = layers.Dropout(0.3)(layers.ReLU()(layers.LayerNormalization()(layers.Dense(128)(h))))
    model = keras.Model(inp, layers.Dense(1, activation="sigmoid")(h))
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    order = np.random.default_rng(seed).permutation(len(x))
    model.fit(x[order], y[order], batch_size=256, epochs=EPOCHS, verbose=2)
    return model


def mined_runs(model, recipe: Recipe, speech: list[np.ndarray], music: list[np.ndarray]) -> np.ndarray:
    """Hard negatives the seed pipeline's way (train/mine.py): the recipe's mining hours of its mining speech
    (dataset.mining_speech) over training music, and the run of embeddings at every peak of the classifier above
    `min_prob`."""
    from wakeword.train.evaluate import negative_blocks
    from wakeword.train.mine import peaks

    m = recipe.mining
    mined: list[np.ndarray] = []
    for block in negative_blocks(m.hours, speech, music, np.random.default_rng(recipe.seed + 3)):
        seqs = runs(embeddings(block))
        mined += [seqs[p] for p in peaks(model.predict(seqs, batch_size=2048, verbose=0).ravel(), m.min_prob)]
        if len(mined) >= m.max_windows:
            break
    return np.array(mined[: m.max_windows], np.float32).reshape(-1, CONTEXT, DIM)


def fine_tune(model, x: np.ndarray, y: np.ndarray, mined: np.ndarray, recipe: Recipe, seed: int) -> None:
    """The seed pipeline's fine-tune: the samples and `mining.copies` copies of the mined runs (label 0), for
    `mining.epochs` at `mining.learning_rate`."""
    import keras

    m = recipe.mining
    xs = np.concatenate([x] + [mined] * m.copies)
    ys = np.concatenate([y, np.zeros(len(mined) * m.copies, np.float32)])
    order = np.random.default_rng(seed).permutation(len(xs))
    model.compile(keras.optimizers.Adam(m.learning_rate), "binary_crossentropy")
    model.fit(xs[order], ys[order], batch_size=256, epochs=m.epochs, verbose=2)


def step_probs(model, blocks: list[np.ndarray]) -> np.ndarray:
    """The classifier over a stream as the seed model's per-step trace: at each step, its score on the newest
    embedding that has ended (0 before CONTEXT of them)."""
    audio = np.concatenate(blocks)
    key = hashlib.sha1(audio.tobytes()).hexdigest()  # the same streams for every draw: embedded once
    e = _embedded[key] if key in _embedded else _embedded.setdefault(key, embeddings(audio))
    scores = np.zeros(len(e), np.float32)
    if len(e) >= CONTEXT:
        scores[CONTEXT - 1:] = model.predict(runs(e), batch_size=2048, verbose=0).ravel()
    geom = StepGeometry()
    n_steps = geom.num_steps(geom.frontend.num_frames(len(audio)))
    newest = np.searchsorted(end_times(len(e)), geom.step_end_times(n_steps) + 1e-9, side="right") - 1
    return np.where(newest >= 0, scores[np.clip(newest, 0, None)], 0.0).astype(np.float32)


def windows_stage(recipe: Recipe, cache: str, clip_dirs: dict[str, Path], b_stage: Stage) -> Stage:
    """The recipe's training windows with their embeddings (the features stage's windows, mixed again)."""
    features = dataset.features_stage(recipe, cache, clip_dirs, b_stage.key)
    m = recipe.mixing
    return Stage(Path(cache) / recipe.name, "speech_embedding", stage_key(features.key, WHEEL)).run(
        lambda d: dataset.mix_windows(d, recipe, dataset.clip_loader(recipe, clip_dirs), b_stage.dir,
                                      m.positive_windows, m.negative_windows, recipe.seed + 1, embed=embeddings))


def dev_then_test(dev: dict, test: dict) -> dict:
    """The operating rule: the dev matched threshold, and the test speakers there."""
    thr = at_matched_fa(dev["sweep"])["threshold@fa"]
    at = next(r for r in test["sweep"] if r["threshold"] == thr)
    keys = ("frr_isolated_clean", "frr_isolated_10db", "frr_sentence_clean", "frr_sentence_10db",
            "fa_per_hour_clean", "fa_per_hour_10db")
    return {"threshold": thr, "dev": {k: v for k, v in row(dev).items() if k.endswith("@fa")},
            "test": {k: at[k] for k in keys}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", required=True, help="a proxy recipe (its phrase is said in WUW)")
    ap.add_argument("--card", help="the proxy card whose detector settings score it (default models/proxies/NAME.yaml)")
    ap.add_argument("--runs", type=int, nargs="+", default=[0, 1], help="classifier draws (seeds)")
    ap.add_argument("--seed-draw", nargs=2, action="append", default=[], metavar=("DEV", "TEST"),
                    help="real_speech.py results of a seed-model draw of the recipe, put under the same rule")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--cache", default=".cache/train")
    ap.add_argument("--out", help="results JSON (default benchmarks/results/embedding_frontend_NAME.json)")
    a = ap.parse_args(argv)
    t0 = time.time()
    recipe = Recipe.load(a.recipe)
    card = ModelCard.load(a.card or f"models/proxies/{recipe.name}.yaml")
    clip_dirs = dataset.make_clip_sets(dataset.clip_stages(recipe, a.cache))
    b_stage = dataset.backgrounds_stage(recipe, a.cache)
    if not b_stage.done:
        raise SystemExit(f"no finished backgrounds stage for {recipe.name}: run `wakeword train` on the recipe first")
    stage = windows_stage(recipe, a.cache, clip_dirs, b_stage)
    labels = np.load(stage.dir / "y.npy")
    x, y = samples(np.load(stage.dir / "e.npy"), labels)
    mining_speech = dataset.mining_speech(recipe, dataset.clip_loader(recipe, clip_dirs), b_stage.dir)
    mining_music = load_audio(b_stage.dir / "music_train.npz")
    _, music = backgrounds.split(backgrounds.music_tracks(Path(a.cache) / "downloads"), eval_fraction=0.3)
    tuning, training = rs.load(a.data, "tuning"), rs.load(a.data, "training")
    test = rs.load(a.data, "test")
    out: dict = {"recipe": a.recipe, "windows": len(labels), "samples": len(x), "context": CONTEXT, "epochs": EPOCHS,
                 "draws": {}}
    def score(name: str, model) -> None:
        probs = functools.partial(step_probs, model)
        res = {"dev": real_speech.score_model(card, tuning, music, 20261203, data_dir=a.data,
                                              speakers_of_phrase=tuning + training, probs=probs),
               "test": real_speech.score_model(card, test, music, 20261203, data_dir=a.data, probs=probs)}
        out["draws"][name] = {**dev_then_test(res["dev"], res["test"]), "results": res}
        print(name, json.dumps(out["draws"][name]["test"]), file=sys.stderr)

    for run in a.runs:
        model = train_classifier(x, y, 1000 + run)
        score(f"embedding run {run}", model)
        mined = mined_runs(model, recipe, mining_speech, mining_music)
        out[f"mined runs, run {run}"] = len(mined)
        fine_tune(model, x, y, mined, recipe, 2000 + run)
        score(f"embedding run {run}, mined and fine-tuned", model)
    for k, (dev, tst) in enumerate(a.seed_draw):
        models = [next(iter(json.loads(Path(f).read_text())["models"].values())) for f in (dev, tst)]
        out["draws"][f"seed model, draw {k}"] = {**dev_then_test(*models), "files": [dev, tst]}
    out["seconds"] = round(time.time() - t0, 1)
    path = Path(a.out or f"benchmarks/results/embedding_frontend_{recipe.name}.json")
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
