"""How model steps map onto front-end frames and stream time (shared by training labels and runtime)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..features import FrontEndConfig


@dataclass(frozen=True)
class StepGeometry:
    """Step t of the model sees frames [stride*t, stride*t + kernel): the Conv1D's valid windows."""

    frontend: FrontEndConfig = field(default_factory=FrontEndConfig)
    kernel: int = 15
    stride: int = 4

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
