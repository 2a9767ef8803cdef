"""Hard-negative mining: find what the first model wrongly fires on, so fine-tuning can learn it.

The first model (converted to the int8 step model, run by the runtime Engine) scores hours of continuous
negative audio made of training-side material only (sentences, near-misses, sound-alikes, the training half
of the real recordings, training music) plus a set of fresh sentences that nothing else uses: a model
rarely fires on windows it was trained on, so the unseen sentences are where its real false accepts show.
Every probability peak above `min_prob` becomes a 2 s window ending just after the peak, with all-zero
labels. False accepts in real use come from such confusable stretches of ordinary speech, which random
windows rarely contain (notes/data.md). Evaluation material is never mined.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import evaluation as ev
from ..audio.signal import SR
from ..engine import Engine
from ..features import spectrogram
from ..model.card import ModelCard
from .card_writer import step_card
from .evaluate import negative_blocks
from .export import convert, fold_weights, signature_tensors
from .recipe import Mining, Mixing


def scorer_card(keras_path: Path, out_dir: Path) -> ModelCard:
    """The int8 step model of a Keras checkpoint, with a card, for scoring through the runtime."""
    import keras

    data = convert(fold_weights(keras.models.load_model(keras_path, compile=False)), quantize=True)
    (out_dir / "scorer.tflite").write_bytes(data)
    return step_card(out_dir / "scorer.tflite", signature_tensors(data), "scorer")


def peaks(probs: np.ndarray, min_prob: float) -> list[int]:
    """Index of the maximum of every run of steps above `min_prob`."""
    above = np.nonzero(probs > min_prob)[0]
    if not len(above):
        return []
    runs = np.split(above, np.nonzero(np.diff(above) > 1)[0] + 1)
    return [int(r[np.argmax(probs[r])]) for r in runs]


def mine(keras_path: Path, out_dir: Path, cfg: Mining, speech: list[np.ndarray], music: list[np.ndarray], mixing: Mixing,
         seed: int) -> None:
    card = scorer_card(keras_path, out_dir)
    engine = Engine([card])
    geom = card.geometry
    rng = np.random.default_rng(seed)
    n_win = int(mixing.window_s * SR)
    windows, scanned, n_peaks = [], 0.0, 0
    blocks = negative_blocks(cfg.hours, speech, music, rng)
    for block in tqdm(blocks, total=int(np.ceil(cfg.hours * 60)), desc="mining"):
        probs = ev.probabilities(engine, [block])["scorer"]
        scanned += len(block) / SR
        for p in peaks(probs, cfg.min_prob):
            n_peaks += 1
            end = int((geom.step_end_time(p) + rng.uniform(0.05, 0.4)) * SR)
            if n_win <= end <= len(block):
                windows.append(block[end - n_win:end])
        if len(windows) >= cfg.max_windows:
            break
    windows = windows[: cfg.max_windows]
    frames = geom.frontend.num_frames(n_win)
    x = np.zeros((len(windows), frames, geom.frontend.n_bins), np.float16)
    for i, w in enumerate(windows):
        x[i] = spectrogram(w * 10 ** (rng.uniform(-20, 10) / 20), geom.frontend)  # vary the level like training
    np.save(out_dir / "x.npy", x)
    np.save(out_dir / "y.npy", np.zeros((len(windows), geom.num_steps(frames)), np.float32))
    stats = {"hours_scanned": scanned / 3600, "peaks": n_peaks, "windows": len(windows),
             "peaks_per_hour": n_peaks / max(scanned / 3600, 1e-9)}
    (out_dir / "mining.json").write_text(json.dumps(stats, indent=1))
    print(f"mining: {n_peaks} peaks > {cfg.min_prob} in {scanned / 3600:.2f} h of negatives; kept {len(windows)} windows")
