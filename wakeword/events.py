"""The event the engine emits: one `Detection` per utterance of a wake word.

A module of its own so that sinks (stdout, MQTT) and apps type their argument without importing the engine.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Detection:
    """One wake-word event. Times are seconds of stream time (from the start of the file/stream)."""

    wake_word: str
    score: float
    time: float  # when the phrase ended (first step of the above-threshold run)
    detected_at: float  # when the event fired
    wall_time: float  # time.time() when the event fired
    sequence: int
    model_version: str = ""
    file: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        extra = d.pop("extra")
        d = {k: (round(v, 4) if isinstance(v, float) and k != "wall_time" else v) for k, v in d.items() if v is not None}
        d.update(extra)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())
