"""On-device wake-word detection: streaming STFT → TFLite step model(s) → trigger detector → events.

Public API: `Engine`, `Detection`, `DetectorConfig`, `ModelCard`.

They are imported on first use, so that `wakeword run` (through wakeword.cli) can take over its signals before
numpy and the interpreter load (a SIGHUP or Ctrl-C in those first ~0.3 s once killed it or printed a traceback).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import AudioError, ConfigError, ModelError, WakewordError

if TYPE_CHECKING:
    from .detector import DetectorConfig
    from .engine import Engine
    from .events import Detection
    from .model.card import ModelCard

_LAZY = {"Engine": ".engine", "Detection": ".events", "DetectorConfig": ".detector", "ModelCard": ".model.card"}

__all__ = ["Engine", "Detection", "DetectorConfig", "ModelCard", "WakewordError", "AudioError", "ModelError", "ConfigError"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
