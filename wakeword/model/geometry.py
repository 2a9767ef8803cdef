"""The model's shape (`ModelSpec`), and how its steps map onto front-end frames and stream time (shared by
training labels and runtime)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..features import FrontEndConfig


@dataclass(frozen=True)
class ModelSpec:
    """The seed architecture's sizes, written once: the Keras model, its step-model export, the model card and
    the step geometry's defaults derive from these (DESIGN.md, "The model")."""

    n_bins: int = FrontEndConfig().n_bins  # 101: n_fft 200
    kernel: int = 15  # Conv1D window, in frames
    stride: int = 4  # frames per model step
    filters: int = 196
    units: int = 128  # each GRU's state

    @property
    def tensor_shapes(self) -> dict[str, list[int]]:
        """The step model's tensors by card role: one conv window and two GRU states in, their updates out."""
        state = [1, self.units]
        return {"window": [1, self.kernel, self.n_bins], "state1": state, "state2": state,
                "probability": [1, 1], "state1_out": state, "state2_out": state}


SEED = ModelSpec()


@dataclass(frozen=True)
class StepGeometry:
    """Step t of the model sees frames [stride*t, stride*t + kernel): the Conv1D's valid windows."""

    frontend: FrontEndConfig = field(default_factory=FrontEndConfig)
    kernel: int = SEED.kernel
    stride: int = SEED.stride

    def num_steps(self, n_frames: int) -> int:
        return 0 if n_frames < self.kernel else (n_frames - self.kernel) // self.stride + 1

    def step_end_time(self, step: int) -> float:
        """Stream time (s) of the last audio sample step `step` has seen."""
        return self.frontend.frame_end_time(self.stride * step + self.kernel - 1)

    def step_end_times(self, n_steps: int) -> np.ndarray:
        return np.array([self.step_end_time(t) for t in range(n_steps)])

    @property
    def step_seconds(self) -> float:
        return self.stride * self.frontend.hop / self.frontend.sample_rate
