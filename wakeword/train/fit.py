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


def tilt_spectra(x: np.ndarray, db: np.ndarray) -> np.ndarray:
    """Add a linear slope across frequency to log10-power spectrograms (batch, frames, bins): window i rises by
    db[i] decibels from its lowest to its highest bin (negative: darker). Held-out voices the model misses most
    are far darker than the training voices (RHVoice clb: spectral centroid ~280 Hz against 350-1700 Hz), and a
    cheap microphone or a wall colours every voice; a new slope every epoch covers that range."""
    ramp = (np.arange(x.shape[-1], dtype=np.float32) / (x.shape[-1] - 1) - 0.5)[None, None, :]
    return x + (db.astype(np.float32) / 10)[:, None, None] * ramp


def AverageLastEpochs(last: int, epochs: int):
    """Keras callback: at the end of training, replace the weights by their mean over the last `last` epochs.

    Strict operating points swing a lot from one checkpoint to the next while the validation loss barely moves
    (notes/data.md); the mean of the last few sits in the middle of the region they explore. Batch-norm moving
    statistics are averaged too."""
    import keras

    class Average(keras.callbacks.Callback):
        def on_train_begin(self, logs=None) -> None:
            self.sum, self.count = None, 0

        def on_epoch_end(self, epoch: int, logs=None) -> None:
            if epoch >= epochs - last:
                w = [np.asarray(v, np.float64) for v in self.model.get_weights()]
                self.sum = w if self.sum is None else [a + b for a, b in zip(self.sum, w)]
                self.count += 1

        def on_train_end(self, logs=None) -> None:
            if self.count:
                self.model.set_weights([(a / self.count).astype(np.float32) for a in self.sum])
                print(f"weights averaged over the last {self.count} epochs")

    return Average()


def step_loss(max_pool: float):
    """Per-step binary cross-entropy, plus `max_pool` times a max-pooling term per window.

    The detector fires on a window's highest step, and the strict operating points are set by a few such peaks:
    a positive window only needs one confident step inside its label span, and a negative window's loss is
    that of its worst step. Per-step cross-entropy alone spends most of its gradient on easy steps (every
    step of the label span, every quiet step of a negative); the max-pooling term (max-pooling loss for
    keyword spotting, Hou et al. 2019) puts it on the steps the detector acts on."""
    import keras
    from keras import ops

    def loss(y_true, y_pred):
        per_step = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred), axis=-1)
        if not max_pool:
            return per_step
        p = ops.clip(y_pred, 1e-7, 1 - 1e-7)
        positive = ops.max(y_true, axis=(1, 2))
        best_in_label = ops.max(p * y_true, axis=(1, 2))
        worst = ops.max(p, axis=(1, 2))
        pooled = -positive * ops.log(ops.maximum(best_in_label, 1e-7)) - (1 - positive) * ops.log(1 - worst)
        return per_step + max_pool * pooled

    return loss


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
            if self.shuffle and cfg.spectral_tilt:
                xb = tilt_spectra(xb, self.rng.uniform(-cfg.spectral_tilt, cfg.spectral_tilt, len(xb)))
            return xb, yb

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self.rng.shuffle(self.indices)

    model = keras.models.load_model(initial, compile=False) if initial else build(cfg.dropout)
    steps = len(Batches(train_idx, False)) * cfg.epochs
    lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=step_loss(cfg.max_pool_loss),
                  metrics=[keras.metrics.AUC(name="auc"), keras.metrics.Recall(name="recall"),
                           keras.metrics.Precision(name="precision")])
    callbacks = [AverageLastEpochs(cfg.average_last, cfg.epochs)] if cfg.average_last > 1 else []
    hist = model.fit(Batches(train_idx, True), validation_data=Batches(val_idx, False) if n_val else None,
                     epochs=cfg.epochs, verbose=1 if sys.stdout.isatty() else 2, callbacks=callbacks)
    model.save(out_dir / "model.keras")
    (out_dir / "history.json").write_text(json.dumps({k: [float(v) for v in vs] for k, vs in hist.history.items()}, indent=1))
