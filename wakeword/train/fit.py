"""Train the seed model on cached features (Keras 3 on tensorflow-cpu).

Features are stored as float16 to halve memory; a PyDataset casts one shuffled batch at a time from one or
more feature sets (the mixed windows, plus mined hard negatives when fine-tuning). A slice of the first set
is kept for a validation loss (a sanity check only: synthetic validation loss does not predict real-speech
accuracy, notes/data.md).
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from .keras_model import build
from .recipe import Training


def warp_frequencies(x: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Vocal-tract length perturbation on spectrograms (batch, frames, bins): window i's frequency axis is
    scaled by factors[i] (>1 moves formants up), by linear interpolation between bins. A new factor every
    epoch makes each synthetic voice stand for a family of speakers with shorter or longer vocal tracts, which
    audio resampling alone (mixing.warp) ties to speed and pitch."""
    bins = x.shape[-1]
    src = np.clip(np.arange(bins)[None, :] / factors[:, None], 0, bins - 1)  # (batch, bins): where each bin reads
    lo = np.minimum(src.astype(np.int64), bins - 2)
    frac = (src - lo).astype(x.dtype)
    out = np.empty_like(x)
    for k in range(len(x)):  # one window at a time: a plain column gather, far cheaper than a batched one
        out[k] = x[k][:, lo[k]] * (1 - frac[k]) + x[k][:, lo[k] + 1] * frac[k]
    return out


def colour_channel(x: np.ndarray, rng: np.random.Generator, max_db: float) -> np.ndarray:
    """A random channel on log10-power spectrograms (batch, frames, bins): each window gets a tilt of up to
    ± max_db from the bottom bin to the top one and three cosine ripples of up to ± max_db / 5, one smooth curve
    added to every frame. Real speakers' clips made brighter (a pre-emphasis) were missed more than twice as
    often by models trained without it (benchmarks/channel_tilt.py): microphones and lines tilt the spectrum,
    and the synthetic clips hardly differ in tilt."""
    u = np.linspace(0.0, 1.0, x.shape[-1])
    tilt = rng.uniform(-max_db, max_db, (len(x), 1)) * (u - 0.5)
    ripple = rng.uniform(-max_db / 5, max_db / 5, (len(x), 3)) @ np.cos(np.pi * np.arange(1, 4)[:, None] * u)
    return x + ((tilt + ripple) / 10.0).astype(x.dtype)[:, None, :]  # dB → log10 power


def step_loss(y_true, y_pred):
    """Per-step binary cross-entropy, averaged per window: every step of a window is labelled (mixing.make_window)."""
    import keras
    from keras import ops

    return ops.mean(keras.losses.binary_crossentropy(y_true, y_pred), axis=-1)


def fit(feature_dirs: list[Path], out_dir: Path, cfg: Training, seed: int, initial: Path | None = None) -> None:
    import keras

    keras.utils.set_random_seed(seed)
    xs = [np.load(d / "x.npy", mmap_mode="r") for d in feature_dirs]
    ys = [np.load(d / "y.npy") for d in feature_dirs]
    owner = np.concatenate([np.full(len(x), k) for k, x in enumerate(xs)])
    local = np.concatenate([np.arange(len(x)) for x in xs])
    n0 = len(xs[0])
    n_val = n0 // 20 if n0 >= 40 else 0
    perm = np.random.default_rng(seed).permutation(n0)
    val_idx = np.sort(perm[:n_val])
    train_idx = np.concatenate([perm[n_val:], np.arange(n0, len(owner))])

    class Batches(keras.utils.PyDataset):
        def __init__(self, indices: np.ndarray, shuffle: bool) -> None:
            super().__init__()
            self.indices, self.shuffle = indices.copy(), shuffle
            self.rng = np.random.default_rng(seed)
            if shuffle:
                self.rng.shuffle(self.indices)

        def __len__(self) -> int:
            return math.ceil(len(self.indices) / cfg.batch_size)

        def __getitem__(self, i: int):
            sel = self.indices[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            xb = np.stack([xs[owner[j]][local[j]] for j in sel]).astype(np.float32)
            yb = np.stack([ys[owner[j]][local[j]] for j in sel])[..., None]
            if self.shuffle and cfg.freq_warp:
                xb = warp_frequencies(xb, self.rng.uniform(1 - cfg.freq_warp, 1 + cfg.freq_warp, len(xb)))
            if self.shuffle and cfg.channel_eq:
                xb = colour_channel(xb, self.rng, cfg.channel_eq)
            return xb, yb

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self.rng.shuffle(self.indices)

    model = keras.models.load_model(initial, compile=False) if initial else build(cfg.dropout)
    steps = len(Batches(train_idx, False)) * cfg.epochs
    lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=steps, alpha=0.05)
    metrics = [keras.metrics.AUC(name="auc"), keras.metrics.Recall(name="recall"),
               keras.metrics.Precision(name="precision")]
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=step_loss, metrics=metrics)
    hist = model.fit(Batches(train_idx, True), validation_data=Batches(val_idx, False) if n_val else None,
                     epochs=cfg.epochs, verbose=1 if sys.stdout.isatty() else 2)
    model.save(out_dir / "model.keras")
    (out_dir / "history.json").write_text(json.dumps({k: [float(v) for v in vs] for k, vs in hist.history.items()}, indent=1))
