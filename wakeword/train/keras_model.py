"""The seed's model, exactly: Conv1D(196, 15, stride 4) → BN → ReLU → Dropout → GRU(128) → Dropout → BN →
GRU(128) → Dropout → BN → Dropout → per-step Dense(1, sigmoid).

A plain Dense on the 3-D tensor (not TimeDistributed) keeps conversion free of per-step unrolling
(notes/platform.md). The dropout rate is a recipe setting; it changes no parameter count.
"""
from __future__ import annotations

from ..model.geometry import SEED

# Parameter counts of DESIGN.md, checked by tests/test_train.py.
EXPECTED_PARAMS = {"conv": 297_136, "bn1": 784, "gru1": 125_184, "bn2": 512, "gru2": 99_072, "bn3": 512, "dense": 129}


def build(dropout: float = 0.5, n_frames: int | None = None):
    import keras
    from keras import layers

    inp = keras.Input((n_frames, SEED.n_bins), name="spectrogram")
    x = layers.Conv1D(SEED.filters, SEED.kernel, strides=SEED.stride, padding="valid", name="conv")(inp)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.GRU(SEED.units, return_sequences=True, reset_after=True, name="gru1")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.GRU(SEED.units, return_sequences=True, reset_after=True, name="gru2")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.BatchNormalization(name="bn3")(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(1, activation="sigmoid", name="dense")(x)
    return keras.Model(inp, out, name="seed_crnn")
