"""Event sinks: where `Detection` events go besides Python callbacks and stdout.

`MqttSink` (plain JSON + Rhasspy Hermes over MQTT) lives in `wakeword.sinks.mqtt`; it is imported lazily here so
that `import wakeword.sinks` does not pull in paho-mqtt for users who never publish over MQTT.
"""
from __future__ import annotations

__all__ = ["MqttConfig", "MqttSink"]


def __getattr__(name: str):
    if name in __all__:
        from . import mqtt

        return getattr(mqtt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
