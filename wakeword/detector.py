"""Trigger detector: per-step probabilities → one event per utterance.

smoothed score = mean of the last `smoothing` probabilities; an event fires when the smoothed score
stays above `threshold` for `patience` consecutive steps; then nothing fires for `refractory_s`, and the
detector re-arms only once the score has fallen below `rearm_threshold` — so a long plateau, or a phrase
that keeps the score high, gives one event. Defaults come from the model card; every field is
overridable (config, CLI, API).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError


@dataclass(frozen=True)
class DetectorConfig:
    threshold: float = 0.5
    smoothing: int = 3
    patience: int = 2
    refractory_s: float = 2.0
    rearm_threshold: float | None = None  # default: threshold / 2

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise ConfigError(f"detector.threshold must be between 0 and 1, got {self.threshold}")
        if not (1 <= self.smoothing <= 1000 and 1 <= self.patience <= 1000):  # steps; 1000 steps are 20 s
            raise ConfigError("detector.smoothing and detector.patience must be between 1 and 1000 (steps)")
        if not 0 <= self.refractory_s <= 3600:
            raise ConfigError("detector.refractory_s must be between 0 and 3600 (seconds)")
        if self.rearm_threshold is not None and not 0 <= self.rearm_threshold <= self.threshold:
            raise ConfigError("detector.rearm_threshold must be between 0 and the threshold")

    @property
    def rearm(self) -> float:
        return self.threshold / 2 if self.rearm_threshold is None else self.rearm_threshold

    def replace(self, **overrides: Any) -> "DetectorConfig":
        """A copy with the non-None overrides applied; unknown names are a ConfigError.

        A new threshold without a new re-arm level moves the re-arm level with it (the same ratio), so that
        lowering the sensitivity (`--threshold 0.2` on a card that re-arms at 0.46) just works."""
        names = {f.name for f in dataclasses.fields(self)}
        bad = set(overrides) - names
        if bad:
            raise ConfigError(f"unknown detector setting(s) {sorted(bad)}; known: {sorted(names)}")
        given = {k: v for k, v in overrides.items() if v is not None}
        if "threshold" in given and "rearm_threshold" not in given and self.rearm_threshold is not None:
            given["rearm_threshold"] = self.rearm_threshold * float(given["threshold"]) / self.threshold
        return dataclasses.replace(self, **given)

    @classmethod
    def from_card(cls, settings: dict[str, Any]) -> "DetectorConfig":
        return cls().replace(**{k: v for k, v in settings.items() if k in {f.name for f in dataclasses.fields(cls)}})


@dataclass(frozen=True)
class Trigger:
    step: int  # step at which the event fired
    onset_step: int  # first step of the above-threshold run (≈ when the phrase ended)
    score: float  # peak smoothed score up to the firing step


class TriggerDetector:
    """Streaming state machine; `update(prob)` returns a Trigger when an event fires."""

    def __init__(self, config: DetectorConfig, step_seconds: float = 0.02) -> None:
        self.config = config
        self._refractory_steps = int(round(config.refractory_s / step_seconds))
        self.reset()

    def reset(self) -> None:
        self._window = np.zeros(self.config.smoothing, np.float64)
        self._step = -1
        self._run = 0
        self._peak = 0.0
        self._armed = True
        self._blocked_until = -1

    def update(self, prob: float) -> Trigger | None:
        k = self.config.smoothing
        self._step += 1
        self._window[self._step % k] = prob
        return self._advance(float(self._window.sum() / min(self._step + 1, k)))

    def feed(self, probs: np.ndarray) -> list[tuple[int, Trigger]]:
        """`update` over a chunk of probabilities; returns (index in the chunk, trigger) for each event.

        A chunk that cannot fire is skipped in one step: while armed with no run under way, if no probability
        in the chunk or the smoothing window exceeds the threshold, no mean of them can. Only the step clock and
        the window move. On the live path that is almost every chunk, and the per-step loop is saved."""
        cfg, k, n = self.config, self.config.smoothing, len(probs)
        if n and self._armed and self._run == 0 and max(float(probs.max()), float(self._window.max())) <= cfg.threshold:
            tail = probs[-k:]
            first = self._step + n - len(tail) + 1  # step index of tail[0]
            self._window[(first + np.arange(len(tail))) % k] = tail
            self._step += n
            return []
        return [(i, t) for i, t in enumerate(map(self.update, probs)) if t is not None]

    def _advance(self, score: float) -> Trigger | None:
        """The state machine on one smoothed score (self._step already counts this step)."""
        cfg, t = self.config, self._step
        if not self._armed:
            if t >= self._blocked_until and score < cfg.rearm:
                self._armed = True
            return None
        if score > cfg.threshold:
            self._run += 1
            self._peak = max(self._peak, score) if self._run > 1 else score
            if self._run >= cfg.patience:
                trig = Trigger(t, t - self._run + 1, self._peak)
                self._armed, self._run = False, 0
                self._blocked_until = t + self._refractory_steps
                return trig
        else:
            self._run = 0
        return None

    def scan(self, probs: np.ndarray) -> list[Trigger]:
        """All triggers of a whole probability trace from a fresh state (evaluation sweeps over hours of steps).

        Same state machine as `update`, with the smoothing done once in numpy.
        """
        self.reset()
        k = self.config.smoothing
        c = np.cumsum(np.asarray(probs, np.float64))
        n = np.arange(1, len(c) + 1)
        sums = c - np.concatenate([np.zeros(k), c[:-k]])[: len(c)]
        scores = (sums / np.minimum(n, k)).tolist()
        out = []
        for score in scores:
            self._step += 1
            trig = self._advance(score)
            if trig is not None:
                out.append(trig)
        return out
