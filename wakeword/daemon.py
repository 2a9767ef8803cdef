"""`wakeword run`: the long-running service around the Engine.

Config file (optional) → CLI overrides → Engine on a live microphone, a WAV file or raw stdin → events to
stdout (JSON lines, flushed per event) and MQTT (plain + Hermes). systemd integration: READY=1 once audio
flows, WATCHDOG=1 while the processing thread is alive and audio keeps arriving, STOPPING=1 on SIGTERM,
which flushes queued events and exits 0. SIGHUP reloads the config (engine and sinks rebuilt).
Hermes toggleOff/toggleOn pause and resume detections for this site. A reload is all or nothing: the new
engine and sinks are built and checked before the running ones are touched, and any failure leaves those running.
Each sink is independent: stdout has its own thread and bounded queue, MQTT its own, so one stalled or closed
consumer costs only its own events (counted and logged).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import select
import signal
import sys
import threading
import time

from .config import Config, load_config
from .engine import Engine
from .events import Detection
from .sinks.queued import QueuedSink
from .sinks.stdout import StdoutSink
from .errors import WakewordError
from .sdnotify import Notifier

log = logging.getLogger("wakeword")


def build_config(args) -> Config:
    """The config file (if any) with command-line flags applied on top."""
    cfg = load_config(args.config) if args.config else Config()
    audio = cfg.audio
    if args.input is not None:
        audio = dataclasses.replace(audio, input=args.input, device=None)
    if args.device is not None:
        audio = dataclasses.replace(audio, device=args.device, input=None)
    if args.rate is not None:
        from .audio.resample import check_rate

        check_rate(args.rate, "--rate")
        audio = dataclasses.replace(audio, sample_rate=args.rate)
    cfg = dataclasses.replace(cfg, audio=audio, models=args.model or cfg.models,
                              flex_delegate=args.flex_delegate or cfg.flex_delegate)
    if args.threshold is not None:
        cfg = dataclasses.replace(cfg, detector={**cfg.detector, "threshold": args.threshold})
    given = {k: v for k, v in (("host", args.mqtt_host), ("port", args.mqtt_port), ("site_id", args.site_id))
             if v is not None}  # an empty host or port 0 is refused by MqttConfig, not replaced by a default
    if given or args.hermes:
        from .sinks.mqtt import MqttConfig

        base = cfg.mqtt or MqttConfig(host=given.get("host", "localhost"))
        cfg = dataclasses.replace(cfg, mqtt=dataclasses.replace(base, **given, hermes=base.hermes or args.hermes))
    return cfg


def open_source(cfg: Config, on_state=None):
    from .audio.sources import RawStdinSource, WavSource

    if cfg.audio.input == "-":
        return RawStdinSource(sys.stdin.buffer, cfg.audio.sample_rate or 16000)
    if cfg.audio.input:
        return WavSource(cfg.audio.input)
    from .audio.microphone import Microphone

    return Microphone(cfg.audio.device, sample_rate=cfg.audio.sample_rate, block_s=cfg.audio.block_ms / 1000,
                      idle_s=cfg.audio.idle_ms / 1000, silence_s=cfg.audio.silence_s, on_state=on_state)


class Service:
    """One configured engine + source + sinks; `run()` blocks until the source ends or a signal stops it."""

    def __init__(self, cfg: Config, notifier: Notifier, on_change=lambda: None) -> None:
        """`on_change` is called when audio first flows and when the source ends: the main loop sleeps until then."""
        self.cfg, self.notifier, self._on_change = cfg, notifier, on_change
        self.engine = Engine(cfg.models or None, detector=cfg.detector, flex_delegate=cfg.flex_delegate,
                             channel=cfg.audio.channel)
        self.mqtt = self._mqtt_sink(cfg)
        self.source = open_source(cfg, on_state=self._microphone_state)
        self.stdout = QueuedSink(StdoutSink(), "stdout") if cfg.stdout else None  # its thread: after all that can fail
        self.last_audio = 0.0
        self._overflows_reported = 0
        self.receiving = threading.Event()
        self.engine.on_scores(self._audio_flows)
        self.engine.on_detection(self._deliver)
        self.finished = threading.Event()  # set by the processing thread as its last act (the source ended)

        def source_ended() -> None:
            self.finished.set()
            on_change()

        self.engine.on_finish(source_ended)
        self.recorder = None
        if cfg.capture.dir:
            from .capture import DetectionRecorder

            self.recorder = DetectionRecorder(cfg.capture.dir, cfg.capture.before_s, cfg.capture.after_s)
            self.engine.on_audio(self.recorder.audio)
            self.engine.on_detection(self.recorder.detection)

    def _audio_flows(self, name: str, probs) -> None:
        self.last_audio = time.monotonic()
        if not self.receiving.is_set() and len(probs):
            self.receiving.set()
            print("wakeword: receiving audio", file=sys.stderr, flush=True)
            self._on_change()

    @staticmethod
    def _mqtt_sink(cfg: Config):
        if not cfg.mqtt:
            return None
        from .sinks.mqtt import MqttSink

        return MqttSink(cfg.mqtt, on_toggle=lambda on: log.info("detection %s by Hermes toggle", "resumed" if on else "paused"))

    def _microphone_state(self, ok: bool) -> None:
        if self.mqtt is not None:
            self.mqtt.set_available(ok)

    def _deliver(self, d: Detection) -> None:
        mqtt = self.mqtt  # one read: a reload may swap it
        if mqtt is not None and not mqtt.enabled:
            return  # Hermes toggleOff for this site
        if mqtt is not None:
            mqtt.publish(d)  # never blocks
        if self.stdout is not None:
            self.stdout.publish(d)  # never blocks

    def start(self) -> None:
        if self.mqtt:
            self.mqtt.start()
        print(f"wakeword: listening for {', '.join(m.card.phrase for m in self.engine.models)} on "
              f"{getattr(self.source, 'name', 'audio')} ({self.engine.models[0].backend})", file=sys.stderr, flush=True)
        self.engine.start(self.source)

    def reload(self, cfg: Config) -> bool:
        """Apply a new config without reopening the audio source; False if the source, the capture or stdout
        changed (the caller builds a whole new Service). All or nothing: the new MQTT sink is built (password,
        CA file checked) and the new models loaded before anything running is touched; WakewordError leaves
        this service as it was. Models keep their states when their settings did not change."""
        if (cfg.audio, cfg.capture, cfg.stdout) != (self.cfg.audio, self.cfg.capture, self.cfg.stdout):
            return False
        new_mqtt = self._mqtt_sink(cfg) if cfg.mqtt != self.cfg.mqtt else self.mqtt
        if (cfg.models, cfg.detector, cfg.flex_delegate) != (self.cfg.models, self.cfg.detector, self.cfg.flex_delegate):
            self.engine.configure(cfg.models or None, detector=cfg.detector, flex_delegate=cfg.flex_delegate)  # atomic
        if new_mqtt is not self.mqtt:
            old, self.mqtt = self.mqtt, new_mqtt
            if old:
                old.stop(timeout=1.5)
            if new_mqtt:
                new_mqtt.start()
        self.cfg = cfg
        return True

    def report_overflows(self) -> None:
        """Log audio the ring buffer had to drop (the processing thread fell behind): never silent."""
        ring = getattr(self.source, "ring", None)
        if ring is not None and ring.overflows > self._overflows_reported:
            log.warning("audio overflow: %d samples dropped so far (processing fell behind the microphone)", ring.overflows)
            self._overflows_reported = ring.overflows

    def alive(self) -> bool:
        """False once the source has ended: the thread's last act, so the main loop does not wait for its exit
        (checking the thread alone, `run --input FILE` once lingered a watchdog period, ~5 s, after the end)."""
        thread = self.engine._thread
        return thread is not None and thread.is_alive() and not self.finished.is_set()

    def stop(self) -> None:
        close = getattr(self.source, "close", None)
        if close:
            close()
        self.engine.stop()
        if self.recorder:
            self.recorder.flush()
        if self.mqtt:
            self.mqtt.stop(timeout=1.5)
        if self.stdout:
            self.stdout.close()


def reload(service: Service, args, notifier: Notifier, wake: "_Wakeup") -> Service:
    """The service for the config as it is now on disk. When the audio source changed, the new service is built
    whole before the old one stops; if its source then cannot start, the old config is started again, and only
    when that fails too does the error end the daemon (so systemd restarts it)."""
    new_cfg = build_config(args)
    if service.reload(new_cfg):
        return service
    new = Service(new_cfg, notifier, wake.set)
    service.stop()
    try:
        new.start()
        return new
    except WakewordError as e:
        new.stop()
        log.error("the new config's audio cannot start (%s); back to the previous config", e)
        try:
            old = Service(service.cfg, notifier, wake.set)
            old.start()
        except WakewordError as e2:  # nothing can run: exit non-zero, so that systemd restarts the daemon
            raise SystemExit(f"wakeword: neither the new nor the previous config can run: {e2}") from None
        return old


OVERFLOW_REPORT_S = 5.0  # longest sleep of the main loop without a watchdog


class _Wakeup:
    """Sleeps the main loop until a signal, another thread (`set()`) or a timeout wakes it: a self-pipe.

    The main thread then wakes a few times a minute while listening instead of several times a second. Signal
    handlers only set the plain attributes `stop`/`reload`; setting a threading.Event from a handler can deadlock
    when the signal lands while the main thread is inside that Event's own lock. `signal.set_wakeup_fd` makes a
    signal end the sleep at once."""

    def __init__(self) -> None:
        self.stop = self.reload = False
        self._r, self._w = os.pipe()
        for fd in (self._r, self._w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self._w)

    def set(self) -> None:
        try:
            os.write(self._w, b"!")
        except BlockingIOError:  # the pipe is full: the main loop is awake already
            pass

    def wait(self, timeout: float) -> None:
        select.select([self._r], [], [], timeout)
        try:
            os.read(self._r, 4096)
        except BlockingIOError:
            pass


def run(args) -> int:
    cfg = build_config(args)
    logging.basicConfig(level=cfg.logging.level, format="wakeword: %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    notifier = Notifier()
    wake = _Wakeup()
    for sig, name in ((signal.SIGTERM, "stop"), (signal.SIGINT, "stop"), (signal.SIGHUP, "reload")):
        signal.signal(sig, lambda *_, name=name: setattr(wake, name, True))
    service = Service(cfg, notifier, wake.set)
    service.start()
    watchdog = notifier.watchdog_interval()
    ready_sent = False
    try:
        while not wake.stop:
            wake.wait(watchdog or OVERFLOW_REPORT_S)
            if wake.stop:
                break
            if not ready_sent and service.receiving.is_set():
                notifier.notify("READY=1\nSTATUS=listening")
                ready_sent = True
            if wake.reload:
                wake.reload = False
                notifier.notify("RELOADING=1")
                try:
                    service = reload(service, args, notifier, wake)
                    log.info("configuration reloaded")
                except WakewordError as e:
                    log.error("config reload failed, keeping the running config: %s", e)
                notifier.notify("READY=1")
            service.report_overflows()
            if not service.alive():
                if service.engine.error:
                    raise service.engine.error
                break  # the source ended (file or stdin)
            if watchdog and time.monotonic() - service.last_audio < max(10.0, 4 * watchdog):
                notifier.notify("WATCHDOG=1")
    finally:
        notifier.notify("STOPPING=1")
        service.stop()
    return 0
