"""Train the seed model on the cached features (Keras 3 on tensorflow-cpu).

Features are stored as float16 to halve memory; a PyDataset casts one shuffled batch at a time.
A small slice of windows is kept for a validation loss (a sanity check only: synthetic validation loss
does not predict real-speech accuracy, notes/data.md).
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from .keras_model import build
from .recipe import Training


def fit(features_dir: Path, out_dir: Path, cfg: Training, seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    x = np.load(features_dir / "x.npy", mmap_mode="r")
    y = np.load(features_dir / "y.npy")
    n = len(x)
    n_val = max(1, n // 20) if n >= 40 else 0
    idx = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(idx[:n_val]), idx[n_val:]

    class Batches(keras.utils.PyDataset):
        def __init__(self, indices: np.ndarray, shuffle: bool) -> None:
            super().__init__()
            self.indices, self.shuffle = indices, shuffle
            self.rng = np.random.default_rng(seed)

        def __len__(self) -> int:
            return math.ceil(len(self.indices) / cfg.batch_size)

        def __getitem__(self, i: int):
            sel = np.sort(self.indices[i * cfg.batch_size:(i + 1) * cfg.batch_size])
            return np.asarray(x[sel], np.float32), y[sel][..., None]

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self.rng.shuffle(self.indices)

    model = build(cfg.dropout)
    steps = len(Batches(train_idx, True)) * cfg.epochs
    lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc"), keras.metrics.Recall(name="recall"),
                           keras.metrics.Precision(name="precision")])
    hist = model.fit(Batches(train_idx, True), validation_data=Batches(val_idx, False) if n_val else None,
                     epochs=cfg.epochs, verbose=1 if sys.stdout.isatty() else 2)
    model.save(out_dir / "model.keras")
    (out_dir / "history.json").write_text(json.dumps({k: [float(v) for v in vs] for k, vs in hist.history.items()}, indent=1))
    del tf
