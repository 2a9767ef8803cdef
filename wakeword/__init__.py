"""On-device wake-word detection: streaming STFT → TFLite step model(s) → trigger detector → events.

Public API: `Engine`, `Detection`, `DetectorConfig`, `ModelCard`.
"""
from .detector import DetectorConfig
from .engine import Engine
from .events import Detection
from .errors import AudioError, ConfigError, ModelError, WakewordError
from .model.card import ModelCard

__all__ = ["Engine", "Detection", "DetectorConfig", "ModelCard", "WakewordError", "AudioError", "ModelError", "ConfigError"]
__version__ = "0.1.0"
