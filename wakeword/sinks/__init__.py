"""Event sinks: where `Detection` events go besides Python callbacks.

`StdoutSink` (JSON lines) is in `wakeword.sinks.stdout`, `MqttSink` (plain JSON + Rhasspy Hermes over MQTT) in
`wakeword.sinks.mqtt`; the MQTT one is imported lazily here so that `import wakeword.sinks` does not pull in
paho-mqtt for users who never publish over MQTT.
"""
from __future__ import annotations

__all__ = ["MqttConfig", "MqttSink"]


def __getattr__(name: str):
    if name in __all__:
        from . import mqtt

        return getattr(mqtt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
