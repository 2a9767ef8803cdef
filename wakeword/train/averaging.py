"""Weight averaging over the end of a training run (SWA, Izmailov et al. 2018; SWAD, Cha et al. 2021).

Why: our models are trained on synthetic voices and used on real ones, a domain shift; averaging the weights a run
passes through near its end lands in a flatter region of the loss, which carries better to data unlike the
training data (SWAD's domain-generalization result), and it damps the draw-to-draw spread that hides recipe
changes (benchmarks/RESULTS.md). The average is uniform, taken after every batch of the last `share` of the run,
and covers every weight, BatchNorm's running statistics included, so the averaged model is as consistent as the
weights it averages.
"""
from __future__ import annotations

import keras
import numpy as np


class WeightAverage(keras.callbacks.Callback):
    """Averages `target`'s weights over the last `share` of `total_steps` batches; the model ends with the average."""

    def __init__(self, target: keras.Model, share: float, total_steps: int) -> None:
        super().__init__()
        self.target, self.first = target, int(round(total_steps * (1 - share)))
        self.step, self.count, self.sums = 0, 0, None

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self.step += 1
        if self.step <= self.first:
            return
        weights = self.target.get_weights()
        if self.sums is None:
            self.sums = [w.astype(np.float64) for w in weights]
        else:
            for s, w in zip(self.sums, weights):
                s += w
        self.count += 1

    def on_train_end(self, logs=None) -> None:
        if self.count:
            self.target.set_weights([(s / self.count).astype(w.dtype)
                                     for s, w in zip(self.sums, self.target.get_weights())])
