"""Synthetic-vs-real invariance (`training.domain_adversarial`): a second head on the GRU features, behind a
gradient-reversal layer, learns to tell windows of synthetic speech from windows of real speech
(mixing.Domain); the reversed gradient teaches the model's own layers to carry nothing that tells them apart,
so what it learns about the phrase from synthetic voices holds for real ones (Ganin & Lempitsky 2015; Park et
al. 2024 for TTS-trained keyword spotting).

The head exists only while training: fit.py saves the seed model alone, so the exported step model is
unchanged. Only negative windows carry a domain (positives are all synthetic: mixing.Domain says why).
Imported by fit.py when the option is on: it imports TensorFlow.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

FEATURES_LAYER = "bn3"  # the second GRU's normalised output, what the per-step Dense reads
HEAD_UNITS = 64


def ramp(progress: float) -> float:
    """Ganin's schedule: the reversal's strength rises from 0 to 1 as training goes on (progress 0..1), so the
    head first learns to tell the domains apart before its gradient shapes the model."""
    return 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0


def balance(domains: np.ndarray) -> float | None:
    """The weight of a real window in the head's loss: real windows are fewer (mixing.negative_weights), and an
    unweighted head would learn to answer "synthetic". None when either kind is missing (a recipe whose real
    speech folders are not on this machine): there is nothing to tell apart."""
    n_real, n_synthetic = int(np.sum(domains == 1)), int(np.sum(domains == 0))
    return n_synthetic / n_real if n_real and n_synthetic else None


class GradientReversal(keras.layers.Layer):
    """Identity forward; backward, the gradient times -strength (a variable that StrengthRamp raises)."""

    def __init__(self, max_strength: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_strength = max_strength
        self.strength = self.add_weight(shape=(), initializer="zeros", trainable=False, name="strength")

    def call(self, x):
        s = tf.convert_to_tensor(self.strength)

        @tf.custom_gradient
        def reverse(t):
            return tf.identity(t), lambda dy: -s * dy
        return reverse(x)


class StrengthRamp(keras.callbacks.Callback):
    """Sets the reversal's strength to its maximum times `ramp` at the start of each epoch."""

    def __init__(self, reversal: GradientReversal, epochs: int) -> None:
        super().__init__()
        self.reversal, self.epochs = reversal, epochs

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.reversal.strength.assign(self.reversal.max_strength * ramp((epoch + 1) / self.epochs))


def attach(model: keras.Model, strength: float) -> tuple[keras.Model, GradientReversal]:
    """The training model: `model` with the adversarial head as a second output (named "domain"), and the
    reversal layer, whose strength StrengthRamp raises."""
    reversal = GradientReversal(strength, name="domain_reversal")
    h = reversal(model.get_layer(FEATURES_LAYER).output)
    h = layers.GlobalAveragePooling1D(name="domain_pool")(h)
    h = layers.Dense(HEAD_UNITS, activation="relu", name="domain_hidden")(h)
    domain = layers.Dense(1, activation="sigmoid", name="domain")(h)
    return keras.Model(model.input, [model.output, domain]), reversal


def domain_loss(real_weight: float):
    """Binary cross-entropy of the head on the windows with a domain (label 0 or 1); windows without one
    (label -1) add nothing."""
    def loss(y_true, y_pred):
        y_true = ops.reshape(y_true, (-1, 1))
        known = ops.cast(y_true >= 0, "float32")
        target = ops.clip(y_true, 0, 1)
        weight = known * (1.0 + (real_weight - 1.0) * target)
        return keras.losses.binary_crossentropy(target, y_pred) * ops.reshape(weight, (-1,))
    return loss
