"""MQTT sink: detections as plain JSON and as Rhasspy Hermes messages, with availability, toggles and a bounded queue.

Topics (``S`` is the site id, ``W`` the wake word)::

    wakeword/S/available          retained "online" / "offline" (the last will is a retained "offline")
    wakeword/S/detected           Detection.to_dict() + {"site_id": S}                       QoS 1
    hermes/hotword/W/detected     Hermes payload (only with hermes=True)                      QoS 1
    hermes/hotword/toggleOff|On   subscribed with hermes=True: pause / resume detection for S

Delivery is tracked here, not left to paho's internal queue: `publish()` only appends to a bounded deque
(``queue_size``; when full the oldest event is dropped, counted in `dropped` and logged) and returns at once.
A sender thread hands events to paho only while the client is connected, one event at a time in order; an
event counts as `published` once the broker has acknowledged (PUBACK) every message of it. Under MQTT 5 a PUBACK
can also refuse a message (reason code >= 0x80: mosquitto answers 0x87 "Not authorized" when its ACL denies the
topic): such an event counts as `dropped` (and `refused`), with a warning naming the topic and the reason, once
per cause a minute; it is not re-sent, as the broker would refuse it again. MQTT 3.1.1 has no such code: there
the broker acknowledges a denied message like any other and the loss cannot be seen. On reconnect,
messages paho had already sent but that were not acknowledged are re-sent by paho first (same client
object, so it still holds them); the sender waits for those acknowledgements before draining the queue, so
events reach the broker in the order they were raised.

The sink speaks MQTT 5 so that it can bound what the broker sends it (CONNECT property Maximum Packet Size,
`MAX_PACKET_BYTES`): anyone on the broker can publish a toggle, and paho reads a packet whole before the sink can
ignore it (a 100 MB toggle once took it to 455 MB peak RSS). A broker that speaks only 3.1.1 refuses the MQTT 5
CONNECT; the sink then says so once and goes on in 3.1.1, where only the sink's own size check is left.

Nothing here blocks the caller: `start()` connects in paho's network thread (``connect_async`` +
``loop_start``) and reconnects with backoff (1 s doubling to 30 s); an unreachable broker is a warning,
logged once per outage, never an exception. The password (``password``, else ``password_file``, else
``$WAKEWORD_MQTT_PASSWORD``) is never logged and is hidden from ``repr(MqttConfig)``.
"""
from __future__ import annotations

import collections
import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Callable

from .. import threads
from ..errors import ConfigError
from ..events import Detection

if TYPE_CHECKING:  # paho is imported when a sink starts: the config parser and a daemon without MQTT never load it
    import paho.mqtt.client as mqtt

log = logging.getLogger("wakeword.mqtt")

PASSWORD_ENV = "WAKEWORD_MQTT_PASSWORD"
TOGGLE_OFF = "hermes/hotword/toggleOff"
TOGGLE_ON = "hermes/hotword/toggleOn"
# After a reconnect, how long the sender waits for paho's re-sent, unacknowledged messages before draining the
# queue anyway (they stay in paho's session queue either way; this only bounds a stall).
_RESEND_GRACE_S = 5.0
# A Hermes toggle is ~100 bytes. Anything far bigger is a mistake or an attack: it is ignored unparsed.
TOGGLE_MAX_BYTES = 64 * 1024
# The largest packet the broker may send the sink (MQTT 5 Maximum Packet Size; a larger one it drops for this client
# alone). The biggest thing the sink receives is a toggle: a payload of TOGGLE_MAX_BYTES plus at most 5 bytes of fixed
# header, 2 + 24 of topic, 2 of packet id and the properties a publisher may attach (message expiry, content type,
# user properties...), for which 1 KiB leaves room. Everything else it receives (CONNACK, PUBACK, SUBACK) is tiny.
MAX_PACKET_BYTES = TOGGLE_MAX_BYTES + 1024
_UNSUPPORTED_PROTOCOL = 0x84  # CONNACK reason; paho also reports a 3.1.1 broker's return code 1 as this one
# Per cause, at most one warning this often about messages the sink ignores (a flood stays a line a minute).
_IGNORED_LOG_EVERY_S = 60.0


# ---- configuration ----------------------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _opt_str(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v != "")


# field -> (check, what it must be). Shared with wakeword.config, which adds the file name and line number.
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "host": (lambda v: isinstance(v, str) and v.strip() != "" and not any(c.isspace() for c in v),
             "must be a host name or IP address"),
    "port": (lambda v: _is_int(v) and 1 <= v <= 65535, "must be an integer between 1 and 65535"),
    "site_id": (lambda v: isinstance(v, str) and v != "" and not any(c in v for c in "/+#\0"),
                "must be a non-empty string without '/', '+' or '#'"),
    "hermes": (lambda v: isinstance(v, bool), "must be true or false"),
    "username": (_opt_str, "must be a non-empty string"),
    "password": (lambda v: v is None or isinstance(v, str), "must be a string"),
    "password_file": (_opt_str, "must be a path to a file"),
    "tls": (lambda v: isinstance(v, bool), "must be true or false"),
    "ca_certs": (_opt_str, "must be a path to a CA certificate file"),
    "queue_size": (lambda v: _is_int(v) and 1 <= v <= 1_000_000, "must be an integer between 1 and 1000000"),
    "keepalive": (lambda v: _is_int(v) and 1 <= v <= 65535, "must be an integer number of seconds between 1 and 65535"),
    "client_id": (lambda v: v is None or (isinstance(v, str) and 0 < len(v.encode()) <= 65535),
                  "must be a non-empty string of at most 65535 bytes"),
}


def check_field(name: str, value: Any) -> str | None:
    """None if `value` is valid for MqttConfig field `name`, else what it must be (e.g. 'must be true or false')."""
    ok, what = _CHECKS[name]
    return None if ok(value) else what


def check_combination(cfg: dict[str, Any]) -> tuple[str, str] | None:
    """Checks across fields: (offending field, message) or None. `cfg` holds the fields that were given."""
    if cfg.get("password") is not None and cfg.get("password_file") is not None:
        return "password_file", "set only one of mqtt.password and mqtt.password_file"
    for key in ("password", "password_file"):
        if cfg.get(key) is not None and not cfg.get("username"):
            return key, f"mqtt.{key} needs mqtt.username"
    if cfg.get("ca_certs") is not None and not cfg.get("tls"):
        return "ca_certs", "mqtt.ca_certs needs mqtt.tls: true"
    return None


@dataclass
class MqttConfig:
    host: str
    port: int = 1883
    site_id: str = "default"
    hermes: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: str | None = None
    tls: bool = False
    ca_certs: str | None = None
    queue_size: int = 1000
    keepalive: int = 30
    client_id: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            what = check_field(f.name, value)
            if what:
                shown = "<hidden>" if f.name == "password" else repr(value)
                raise ConfigError(f"mqtt.{f.name} {what} (got {shown})")
        bad = check_combination({f.name: getattr(self, f.name) for f in fields(self)})
        if bad:
            raise ConfigError(bad[1])

    @property
    def available_topic(self) -> str:
        return f"wakeword/{self.site_id}/available"

    @property
    def detected_topic(self) -> str:
        return f"wakeword/{self.site_id}/detected"

    def resolve_password(self) -> str | None:
        """`password`, else the first line of `password_file`, else (only with a username) the systemd credential
        `mqtt_password` (LoadCredential=, for a 0600 file the unit's DynamicUser cannot read), else
        $WAKEWORD_MQTT_PASSWORD."""
        if self.password is not None:
            return self.password
        path = self.password_file
        credential = os.path.join(os.environ.get("CREDENTIALS_DIRECTORY", ""), "mqtt_password")
        if not path and self.username and os.environ.get("CREDENTIALS_DIRECTORY") and os.path.exists(credential):
            path = credential
        if path:
            try:
                with open(path, encoding="utf-8") as fh:
                    return fh.read().rstrip("\r\n")
            except OSError as e:
                raise ConfigError(f"mqtt.password_file {path}: cannot read it ({e.strerror})") from None
            except UnicodeDecodeError:
                raise ConfigError(f"mqtt.password_file {path}: not UTF-8 text") from None
        if self.username:
            return os.environ.get(PASSWORD_ENV) or None
        return None


def hermes_topic(wake_word: str) -> str:
    return f"hermes/hotword/{_topic_safe(wake_word)}/detected"


def _topic_safe(name: str) -> str:
    return "".join("_" if c in "/+#\0" else c for c in name) or "_"


# ---- the sink ---------------------------------------------------------------------------------------------
class _PahoLog(logging.LoggerAdapter):
    """paho's own log (logger wakeword.mqtt.paho). Its socket errors on a lost connection are demoted to DEBUG:
    the sink already reports the outage once, as a warning. Exceptions raised in our callbacks stay errors."""

    def log(self, level, msg, *args, **kwargs):
        if level >= logging.WARNING and not str(msg).startswith(("Caught exception", "Error")):
            level = logging.DEBUG
        super().log(level, msg, *args, **kwargs)


class _LimitedLog:
    """One warning per cause per `every` seconds; the next one says how many were held back meanwhile."""

    def __init__(self, every: float = _IGNORED_LOG_EVERY_S) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, cause: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        if cause in self._last and now - self._last[cause] < self.every:
            self._held[cause] = self._held.get(cause, 0) + 1
            return
        self._last[cause] = now
        held = self._held.pop(cause, 0)
        if held:
            msg, args = msg + " (and %d more like it since the last report)", (*args, held)
        log.warning(msg, *args)


class _Event:
    __slots__ = ("messages", "unacked", "gen", "topics", "refused")

    def __init__(self, messages: list[tuple[str, str]]) -> None:
        self.messages = messages
        self.unacked: set[int] = set()
        self.gen = 0
        self.topics: dict[int, str] = {}  # mid -> topic, for the warning when the broker refuses a message
        self.refused: tuple[str, str] | None = None  # (topic, reason) of the first message the broker refused


class MqttSink:
    """Publishes `Detection` events to an MQTT broker. Thread-safe; `publish()` never blocks.

    Use as ``sink.start(); engine.on_detection(sink.publish); ...; sink.stop()`` or as a context manager.
    Attributes: `enabled` (False while a Hermes toggleOff for this site is in force), `published` (events the
    broker acknowledged), `dropped` (events lost to the queue bound or refused by the broker), `refused` (those
    the broker refused, MQTT 5 only), `on_toggle` (called with the new
    `enabled` value when a Hermes toggle changes it; runs on paho's network thread, keep it short).
    """

    def __init__(self, config: MqttConfig, *, on_toggle: Callable[[bool], None] | None = None) -> None:
        self.config = config
        self.enabled = True
        self.on_toggle = on_toggle
        self.published = 0
        self.dropped = 0
        self.refused = 0
        self._password = config.resolve_password()
        if config.tls:  # a CA file that cannot be used is a config error now, not a crash when paho connects
            import ssl

            try:
                ssl.create_default_context(cafile=config.ca_certs)
            except (OSError, ssl.SSLError) as e:
                raise ConfigError(f"mqtt.ca_certs {config.ca_certs}: cannot use it as CA certificates "
                                  f"({getattr(e, 'strerror', None) or e})") from None
        self._queue: collections.deque[_Event] = collections.deque()
        self._cond = threading.Condition()
        self._pending: dict[int, _Event] = {}  # mid -> event handed to paho, waiting for its PUBACK
        self._early: dict[int, Any] = {}  # mid -> PUBACK reason code that arrived before the sender recorded the mid
        self._in_transit = False  # the sender is inside client.publish() (no lock held there)
        self._avail_mids: set[int] = set()
        self._online = True  # what availability says: False while detection is impossible (microphone gone)
        self._connected = False
        self._subscribed = False
        self._toggle_sub_mid: int | None = None
        self._gen = 0  # connection generation, +1 per successful CONNACK
        self._connected_at = 0.0
        self._outage_logged = False
        self._refusal_logged = False
        self._closing = False
        self._silence_check: threading.Timer | None = None
        self._ignored = _LimitedLog()
        self._client: mqtt.Client | None = None
        self._client_id = ""
        self._protocol: mqtt.MQTTProtocolVersion | None = None  # MQTTv5, or MQTTv311 after a refusal
        self._sender: threading.Thread | None = None

    # ---- public API --------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def subscribed(self) -> bool:
        """True once the broker confirmed the Hermes toggle subscriptions (hermes=True) on this connection."""
        return self._subscribed

    @property
    def queued(self) -> int:
        """Events raised but not yet handed to the broker."""
        with self._cond:
            return len(self._queue)

    def start(self) -> "MqttSink":
        """Connect in the background and return at once (idempotent)."""
        if self._client is not None:
            return self
        cfg = self.config
        import uuid

        import paho.mqtt.client as mqtt

        self._client_id = cfg.client_id or f"wakeword-{cfg.site_id}-{uuid.uuid4().hex[:8]}"
        if self._password and not cfg.tls:
            log.warning("MQTT: the password goes to %s:%d in clear text (set mqtt.tls: true)", cfg.host, cfg.port)
        self._closing = False
        self._connect(mqtt.MQTTv5)
        # A broker that accepts the TCP connection and never answers CONNACK fails no callback: say so once.
        self._silence_check = threading.Timer(cfg.keepalive + 5.0, self._check_answered)
        self._silence_check.daemon = True
        self._silence_check.start()
        self._sender = threads.start(self._send_loop, "ww-mqtt-sender")
        return self

    def _new_client(self, protocol: mqtt.MQTTProtocolVersion) -> mqtt.Client:
        """A paho client speaking `protocol` (MQTT 5, or 3.1.1 after a refusal), with every option and callback set."""
        import paho.mqtt.client as mqtt

        cfg = self.config
        if protocol == mqtt.MQTTv5:  # no clean_session: MQTT 5 says clean_start at connect_async instead
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self._client_id, protocol=protocol)
        else:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self._client_id, clean_session=True,
                                 protocol=protocol)
        # paho never logs the password; a LoggerAdapter is all paho needs of a Logger
        client.enable_logger(_PahoLog(logging.getLogger("wakeword.mqtt.paho"), {}))  # type: ignore[arg-type]
        # An exception in any callback is logged (through _PahoLog, as an error) instead of ending paho's network
        # thread, which would leave MQTT dead for good.
        client.suppress_exceptions = True
        if cfg.username:
            client.username_pw_set(cfg.username, self._password)
        if cfg.tls:
            client.tls_set(ca_certs=cfg.ca_certs)
        client.will_set(cfg.available_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        if cfg.hermes:
            client.message_callback_add(TOGGLE_OFF, self._on_toggle_message)
            client.message_callback_add(TOGGLE_ON, self._on_toggle_message)
        return client

    def _connect(self, protocol: mqtt.MQTTProtocolVersion) -> None:
        """Make a client for `protocol` the sink's own and start it connecting (paho's thread)."""
        import paho.mqtt.client as mqtt

        cfg = self.config
        client = self._new_client(protocol)
        with self._cond:
            if self._closing:
                return
            # A new client after stop() or a protocol fallback: events the old one sent but never saw acknowledged
            # go out again, first (the old client's queue and message ids go with it).
            unacked = list(dict.fromkeys(self._pending.values()))
            for event in reversed(unacked):
                event.unacked.clear()
                self._queue.appendleft(event)
            while len(self._queue) > cfg.queue_size:
                self._queue.popleft()
                self.dropped += 1
            self._pending.clear()
            self._early.clear()
            self._avail_mids.clear()
            self._client = client
            self._protocol = protocol
            # Still under the lock (nothing here waits on paho), so a concurrent stop() stops this very client.
            if protocol == mqtt.MQTTv5:
                from paho.mqtt.packettypes import PacketTypes
                from paho.mqtt.properties import Properties

                properties = Properties(PacketTypes.CONNECT)
                properties.MaximumPacketSize = MAX_PACKET_BYTES
                client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive, clean_start=True,
                                     properties=properties)
            else:
                client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive)
            client.loop_start()

    def publish(self, detection: Detection) -> None:
        """Queue one detection for delivery (plain topic, plus the Hermes topic with hermes=True). Never blocks.

        While a Hermes toggleOff is in force (`enabled` is False) the event is dropped silently.
        """
        if not self.enabled:
            return
        cfg = self.config
        body = dict(detection.to_dict())
        body["site_id"] = cfg.site_id
        messages = [(cfg.detected_topic, json.dumps(body))]
        if cfg.hermes:
            messages.append((hermes_topic(detection.wake_word), json.dumps({
                "modelId": detection.wake_word,
                "modelVersion": detection.model_version,
                "modelType": "universal",
                "currentSensitivity": body.get("score", float(detection.score)),  # as on the plain topic
                "siteId": cfg.site_id,
                "sessionId": None,
                "sendAudioCaptured": None,
                "lang": None,
            })))
        event = _Event(messages)
        dropped = 0
        with self._cond:
            if len(self._queue) >= cfg.queue_size:
                self._queue.popleft()
                self.dropped += 1
                dropped = self.dropped
            self._queue.append(event)
            self._cond.notify_all()
        if dropped:
            self._ignored.warning("queue", "MQTT queue full (%d events): dropped the oldest event (%d dropped in all)",
                                  cfg.queue_size, dropped)

    __call__ = publish

    def set_available(self, online: bool) -> None:
        """Say on the availability topic whether detection is running (False while the microphone is gone)."""
        if online == self._online:
            return
        self._online = online
        client = self._client
        if client is not None and self._connected:
            # not under self._cond: paho may hold its own locks while calling _on_publish, which takes self._cond
            client.publish(self.config.available_topic, "online" if online else "offline", qos=1, retain=True)

    def stop(self, timeout: float = 2.0) -> None:
        """Flush (up to `timeout` s while connected), publish availability 'offline', disconnect."""
        client = self._client
        if client is None:
            return
        if self._silence_check is not None:
            self._silence_check.cancel()
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._connected and (self._queue or self._pending or self._in_transit)
                   and time.monotonic() < deadline):
                self._cond.wait(max(0.0, min(0.1, deadline - time.monotonic())))
            self._closing = True  # from here on no fallback replaces the client
            client = self._client or client  # a protocol fallback may have replaced it
            self._cond.notify_all()
        if self._sender is not None:
            self._sender.join(timeout=2.0)
        with self._cond:
            left = len(self._queue) + len({id(e) for e in self._pending.values()})
        if left:
            log.warning("MQTT: %d event(s) not delivered to %s:%d before shutdown", left, self.config.host,
                        self.config.port)
        if self.dropped:  # the warnings are rate-limited: the total is said once more here
            log.warning("MQTT: %d event(s) dropped in all (%d to the queue bound, mqtt.queue_size: %d; %d refused by "
                        "the broker)", self.dropped, self.dropped - self.refused, self.config.queue_size, self.refused)
        if self._connected:
            try:
                info = client.publish(self.config.available_topic, "offline", qos=1, retain=True)
                with self._cond:
                    self._avail_mids.add(info.mid)
                info.wait_for_publish(timeout=1.0)
            except (RuntimeError, ValueError):
                pass  # lost the connection meanwhile: the broker publishes the will ("offline") instead
        client.disconnect()
        client.loop_stop()
        self._client = None
        self._sender = None
        self._connected = False

    def __enter__(self) -> "MqttSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- sender thread -----------------------------------------------------------------------------------
    def _ready_to_send(self) -> bool:
        if not (self._connected and self._queue):
            return False
        # Unacknowledged messages from an earlier connection are re-sent by paho after the CONNACK: let them go
        # first, so the broker sees events in order (bounded wait).
        if any(e.gen < self._gen for e in self._pending.values()):
            return time.monotonic() - self._connected_at > _RESEND_GRACE_S
        return True

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closing and not self._ready_to_send():
                    # Every change that can make an event sendable notifies (publish, connect, acks, stop); only
                    # the re-send grace period after a reconnect needs a timed look. An idle sink never wakes.
                    self._cond.wait(0.5 if self._connected and self._queue else None)
                if self._closing:
                    return
                event = self._queue.popleft()
                event.gen = self._gen
                self._in_transit = True
                client = self._client
            # No lock held while paho runs: paho calls on_publish with its own mutex held.
            mids = []
            for topic, payload in event.messages:
                # QoS 1: paho keeps the message (and re-sends it after a reconnect) even if the connection just
                # dropped and this returns MQTT_ERR_NO_CONN, so the event is never lost between here and the broker.
                mids.append(client.publish(topic, payload, qos=1).mid)  # type: ignore[union-attr]
            with self._cond:
                if client is not self._client:  # replaced meanwhile (protocol fallback): the new client sends it
                    self._queue.appendleft(event)
                    self._in_transit = False
                    self._early.clear()
                    self._cond.notify_all()
                    continue
                for mid, (topic, _) in zip(mids, event.messages):
                    event.topics[mid] = topic
                    if mid in self._early:
                        self._note_refusal(event, mid, self._early.pop(mid))
                    else:
                        event.unacked.add(mid)
                        self._pending[mid] = event
                self._early.clear()
                self._in_transit = False
                refused = self._complete(event) if not event.unacked else None
                self._cond.notify_all()
            if refused:
                self._warn_refused(*refused)

    # ---- paho callbacks (paho's network thread) ----------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        cfg = self.config
        import paho.mqtt.client as mqtt  # loaded already

        if reason_code == _UNSUPPORTED_PROTOCOL and self._protocol == mqtt.MQTTv5 and client is self._client:
            log.warning("MQTT broker %s:%d does not speak MQTT 5: using MQTT 3.1.1, in which it cannot be asked to "
                        "drop oversized Hermes toggles (they are read whole, then ignored)", cfg.host, cfg.port)
            client.disconnect()  # in a callback: this ends the old client's network thread once the callback returns
            self._connect(mqtt.MQTTv311)
            return
        if reason_code.is_failure:
            if not self._refusal_logged:
                self._refusal_logged = True
                log.error("MQTT broker %s:%d refused the connection (%s); retrying, queueing events",
                          cfg.host, cfg.port, reason_code)
            return
        info = client.publish(cfg.available_topic, "online" if self._online else "offline", qos=1, retain=True)  # first
        sub_mid = client.subscribe([(TOGGLE_OFF, 1), (TOGGLE_ON, 1)])[1] if cfg.hermes else None
        with self._cond:
            self._toggle_sub_mid = sub_mid
            self._avail_mids.add(info.mid)  # its PUBACK is handled on this same thread, after this callback
            self._connected = True
            self._gen += 1
            self._connected_at = time.monotonic()
            queued = len(self._queue)
            was_out = self._outage_logged or self._refusal_logged
            self._outage_logged = self._refusal_logged = False
            self._cond.notify_all()
        if was_out:
            log.warning("MQTT broker %s:%d reachable again; delivering %d queued event(s)", cfg.host, cfg.port, queued)
        else:
            log.info("MQTT connected to %s:%d as site %s", cfg.host, cfg.port, cfg.site_id)

    def _check_answered(self) -> None:
        if not self._connected and not self._closing and not (self._outage_logged or self._refusal_logged):
            self._outage_logged = True
            log.warning("MQTT broker %s:%d does not answer (no CONNACK within %d s); retrying, queueing events",
                        self.config.host, self.config.port, self.config.keepalive + 5)

    def _on_connect_fail(self, client, userdata) -> None:
        if self._outage_logged or client is not self._client:
            return
        self._outage_logged = True
        cfg = self.config
        # paho calls this inside its `except OSError`: the exception says what failed (it was all "unreachable")
        import ssl  # loaded by paho already

        error = sys.exc_info()[1]
        if isinstance(error, ssl.SSLError):
            log.error("MQTT broker %s:%d: TLS failed (%s): check mqtt.ca_certs and that the port speaks TLS; retrying, "
                      "queueing events", cfg.host, cfg.port, getattr(error, "reason", None) or error)
            return
        reason = getattr(error, "strerror", None) or (str(error).splitlines() or [""])[0] or "no answer"
        hint = ""
        if cfg.tls and isinstance(error, (ConnectionResetError, ConnectionAbortedError)):
            hint = " (a plaintext port resets a TLS client: check mqtt.port and mqtt.tls)"
        log.warning("MQTT broker %s:%d unreachable (%s)%s, queueing events", cfg.host, cfg.port, reason, hint)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if client is not self._client:  # the client a protocol fallback replaced, closing
            return
        with self._cond:
            was = self._connected
            self._connected = self._subscribed = False
            self._cond.notify_all()
        if was and not self._closing and not self._outage_logged:
            self._outage_logged = True
            log.warning("MQTT connection to %s:%d lost (%s), queueing events", self.config.host, self.config.port,
                        reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        refused: tuple[str, str, int | None] | None = None
        with self._cond:
            event = self._pending.pop(mid, None)
            if event is not None:
                event.unacked.discard(mid)
                self._note_refusal(event, mid, reason_code)
                if not event.unacked:
                    refused = self._complete(event)
            elif mid in self._avail_mids:
                self._avail_mids.discard(mid)
                if reason_code.is_failure:
                    refused = (self.config.available_topic, str(reason_code), None)
            elif self._in_transit:
                self._early[mid] = reason_code
            self._cond.notify_all()
        if refused:  # not under the lock: logging may block on a slow stderr
            self._warn_refused(*refused)

    @staticmethod
    def _note_refusal(event: _Event, mid: int, reason_code) -> None:
        if reason_code is not None and reason_code.is_failure and event.refused is None:
            event.refused = (event.topics.get(mid, "?"), str(reason_code))

    def _complete(self, event: _Event) -> tuple[str, str, int] | None:
        """Count an event whose every message the broker answered (lock held): published, or dropped when the
        broker refused any of its messages (a partly delivered event did not reach every consumer). Returns what
        `_warn_refused` needs, or None."""
        if event.refused is None:
            self.published += 1
            return None
        self.dropped += 1
        self.refused += 1
        return (*event.refused, self.dropped)

    def _warn_refused(self, topic: str, reason: str, dropped: int | None) -> None:
        cfg = self.config
        if dropped is None:
            self._ignored.warning(f"refused {topic} {reason}", "MQTT broker %s:%d refused availability on %s (%s): "
                                  "allow this client to publish there (broker ACL)", cfg.host, cfg.port, topic, reason)
            return
        self._ignored.warning(f"refused {topic} {reason}", "MQTT broker %s:%d refused an event on %s (%s): dropped "
                              "(%d dropped in all); allow this client to publish there (broker ACL)",
                              cfg.host, cfg.port, topic, reason, dropped)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if mid != self._toggle_sub_mid:
            return
        refused = [str(rc) for rc in reason_codes if rc.is_failure]
        if refused:
            log.error("MQTT broker %s:%d refused the subscription to %s and %s (%s): Hermes toggles will be ignored",
                      self.config.host, self.config.port, TOGGLE_OFF, TOGGLE_ON, ", ".join(refused))
        else:
            self._subscribed = True

    def _on_toggle_message(self, client, userdata, msg) -> None:
        """Hermes toggleOff/On for this site. Anyone on the broker can send one, so nothing in it may break the
        sink: a retained toggle (it would re-pause at every connect), an oversized or too deeply nested payload,
        or anything but a JSON object is ignored with a rate-limited warning."""
        if msg.retain:
            self._ignored.warning("retained", "ignoring a retained %s: a toggle counts when it is sent (clear it "
                                  "with: mosquitto_pub -r -n -t %s)", msg.topic, msg.topic)
            return
        if len(msg.payload) > TOGGLE_MAX_BYTES:
            self._ignored.warning("size", "ignoring %s: %d bytes (a toggle is at most %d)", msg.topic,
                                  len(msg.payload), TOGGLE_MAX_BYTES)
            return
        try:
            data = json.loads(msg.payload) if msg.payload else {}
        except (ValueError, RecursionError):
            self._ignored.warning("json", "ignoring %s: the payload is not JSON", msg.topic)
            return
        if not isinstance(data, dict):
            self._ignored.warning("json", "ignoring %s: the payload is not a JSON object", msg.topic)
            return
        if data.get("siteId", "default") != self.config.site_id:  # Hermes: no siteId means site "default"
            return
        on = msg.topic == TOGGLE_ON
        changed = on != self.enabled
        self.enabled = on
        if changed:
            log.info("detection %s for site %s by %s (reason: %s)", "resumed" if on else "paused",
                     self.config.site_id, msg.topic, data.get("reason") or "none given")
            if self.on_toggle is not None:
                try:
                    self.on_toggle(on)
                except Exception:  # a user hook must not kill paho's network thread
                    log.exception("on_toggle hook failed")
