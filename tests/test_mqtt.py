"""MqttSink against a real mosquitto broker (wakeword.testing); the observers are real paho clients. No mocks."""
from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from wakeword.testing import mosquitto
from wakeword.events import Detection
from wakeword.errors import ConfigError
from wakeword.sinks.mqtt import PASSWORD_ENV, MqttConfig, MqttSink

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def broker():
    with mosquitto() as b:
        yield b


def detection(seq: int = 1, word: str = "hey_ssafy", score: float = 0.9731) -> Detection:
    return Detection(wake_word=word, score=score, time=1.25 + seq, detected_at=1.3 + seq, wall_time=1700000000.5 + seq,
                     sequence=seq, model_version="1.2.0", file=None, extra={"rms_db": -23.5})


def wait_for(cond, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class Observer:
    """A paho client that records (topic, payload, retain) of everything it receives on `topics`."""

    def __init__(self, port: int, topics: list[str], client_id: str | None = None, clean: bool = True) -> None:
        self.messages: queue.Queue = queue.Queue()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"obs-{uuid.uuid4().hex[:8]}",
                                  clean_session=clean)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload.decode(), bool(m.retain)))
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self.subscribed.wait(5):
            self.close()
            raise AssertionError("observer could not subscribe")

    def get(self, timeout: float = 5.0) -> tuple[str, str, bool]:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message within {timeout} s") from None

    def expect_nothing(self, wait: float = 0.3) -> None:
        try:
            extra = self.messages.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected message {extra}")

    def publish(self, topic: str, payload: dict) -> None:
        self.client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def observer(port: int, topics: list[str], **kw):
    obs = Observer(port, topics, **kw)
    try:
        yield obs
    finally:
        obs.close()


@contextmanager
def running(cfg: MqttConfig, **kw):
    sink = MqttSink(cfg, **kw)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop(timeout=2.0)


def make_session(port: int, client_id: str, topic: str) -> None:
    """Create a persistent (clean_session=False) QoS 1 subscription, then go away: the broker queues for it."""
    with observer(port, [topic], client_id=client_id, clean=False):
        pass


# ---- topics and payloads ----------------------------------------------------------------------------------
def test_plain_and_hermes_topics_get_exactly_the_expected_payloads(broker):
    cfg = MqttConfig("127.0.0.1", broker.port, site_id="kitchen", hermes=True)
    with observer(broker.port, ["wakeword/kitchen/detected", "hermes/hotword/+/detected"]) as obs, running(cfg) as sink:
        wait_for(lambda: sink.connected, what="sink connected")
        d = detection(7)
        sink.publish(d)
        got = dict(obs.get()[:2] for _ in range(2))
        obs.expect_nothing()
        wait_for(lambda: sink.published == 1, what="PUBACKs")
    assert set(got) == {"wakeword/kitchen/detected", "hermes/hotword/hey_ssafy/detected"}
    assert json.loads(got["wakeword/kitchen/detected"]) == {**d.to_dict(), "site_id": "kitchen"}
    assert json.loads(got["hermes/hotword/hey_ssafy/detected"]) == {
        "modelId": "hey_ssafy", "modelVersion": "1.2.0", "modelType": "universal", "currentSensitivity": 0.9731,
        "siteId": "kitchen", "sessionId": None, "sendAudioCaptured": None, "lang": None}
    assert sink.dropped == 0


def test_without_hermes_only_the_plain_topic(broker):
    cfg = MqttConfig("127.0.0.1", broker.port, site_id="hall")
    with observer(broker.port, ["wakeword/hall/detected", "hermes/#"]) as obs, running(cfg) as sink:
        wait_for(lambda: sink.connected, what="sink connected")
        sink.publish(detection(1, word="alexa"))
        topic, payload, retain = obs.get()
        obs.expect_nothing()
    assert topic == "wakeword/hall/detected" and not retain
    assert json.loads(payload)["wake_word"] == "alexa" and json.loads(payload)["site_id"] == "hall"


# ---- availability and last will --------------------------------------------------------------------------
def test_availability_retained_online_then_offline_and_stop_flushes(broker):
    topic = "wakeword/porch/available"
    sink = MqttSink(MqttConfig("127.0.0.1", broker.port, site_id="porch"))
    t0 = time.monotonic()
    sink.start()
    assert time.monotonic() - t0 < 1.0  # never blocks the caller
    try:
        wait_for(lambda: sink.connected, what="sink connected")
        with observer(broker.port, [topic]) as late:  # subscribes after the fact: sees the retained value
            assert late.get() == (topic, "online", True)
        with observer(broker.port, ["wakeword/porch/detected"]) as obs:
            sink.publish(detection(1))
            sink.publish(detection(2))
            sink.stop(timeout=2.0)  # right away: stop() must flush the queued events first
            assert [json.loads(obs.get()[1])["sequence"] for _ in range(2)] == [1, 2]
        assert sink.published == 2
    finally:
        sink.stop()
    with observer(broker.port, [topic]) as late:
        assert late.get() == (topic, "offline", True)


SINK_CHILD = """
import sys, time
from wakeword.sinks.mqtt import MqttConfig, MqttSink
MqttSink(MqttConfig("127.0.0.1", int(sys.argv[1]), site_id="attic")).start()
print("started", flush=True)
time.sleep(60)
"""


def test_last_will_publishes_offline_when_the_process_dies(broker):
    topic = "wakeword/attic/available"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with observer(broker.port, [topic]) as obs:
        child = subprocess.Popen([sys.executable, "-c", SINK_CHILD, str(broker.port)], env=env, cwd=str(REPO),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert obs.get(timeout=30)[:2] == (topic, "online")
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=5)
            assert obs.get(timeout=5)[:2] == (topic, "offline")
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
                child.wait(timeout=5)
            child.stdout.close()
            child.stderr.close()
    with observer(broker.port, [topic]) as late:
        assert late.get() == (topic, "offline", True)  # the will is retained


# ---- broker outages -----------------------------------------------------------------------------------------
# These use a broker with persistence: the observer's persistent session survives the restart, so nothing the
# sink delivers after reconnecting can be missed, whatever the timing of its reconnect.
def test_events_raised_while_the_broker_is_down_arrive_in_order_after_restart(caplog):
    caplog.set_level(logging.INFO, logger="wakeword.mqtt")
    topic = "wakeword/cellar/detected"
    with mosquitto(persistence=True) as b:
        make_session(b.port, "obs-cellar", topic)
        with running(MqttConfig("127.0.0.1", b.port, site_id="cellar")) as sink:
            wait_for(lambda: sink.connected, what="sink connected")
            b.stop()
            wait_for(lambda: not sink.connected, what="sink to notice the outage")
            for seq in (1, 2, 3):
                sink.publish(detection(seq))
            assert sink.queued == 3 and sink.published == 0
            b.start()
            wait_for(lambda: sink.published == 3, timeout=15, what="the queued events to be delivered")
            assert sink.dropped == 0 and sink.queued == 0
        with observer(b.port, [topic], client_id="obs-cellar", clean=False) as obs:
            seqs = [json.loads(obs.get()[1])["sequence"] for _ in range(3)]
            obs.expect_nothing()
    assert seqs == [1, 2, 3]
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.WARNING


def test_unacknowledged_events_go_before_newer_ones_after_a_crash(caplog):
    """Events the broker received but never acknowledged (it froze, then died) are re-sent before later events."""
    caplog.set_level(logging.DEBUG, logger="wakeword.mqtt.paho")
    with mosquitto() as b:
        with running(MqttConfig("127.0.0.1", b.port, site_id="garage")) as sink:
            wait_for(lambda: sink.connected, what="sink connected")
            os.kill(b.proc.pid, signal.SIGSTOP)  # frozen: takes the PUBLISH packets, never answers
            try:
                sink.publish(detection(1))
                sink.publish(detection(2))
                wait_for(lambda: len(sink._pending) == 2, what="two events in flight")
            finally:
                os.kill(b.proc.pid, signal.SIGKILL)  # unread data: the sink's connection is reset
                b.proc.wait(timeout=5)
                b.proc = None
            wait_for(lambda: not sink.connected, what="sink to notice the crash")
            sink.publish(detection(3))
            sink.publish(detection(4))
            # The sink retries 1 s after the loss, then 2 s after that failure: restart the broker and subscribe in
            # that 2 s gap (no broker persistence survives SIGKILL, so the observer must be there first).
            wait_for(lambda: any("Connection failed" in r.getMessage() for r in caplog.records), timeout=5,
                     what="the sink's first failed reconnect")
            b.start()
            with observer(b.port, ["wakeword/garage/detected"]) as obs:
                assert not sink.connected, "test rig too slow: the sink reconnected before the observer subscribed"
                seqs = [json.loads(obs.get(timeout=10)[1])["sequence"] for _ in range(4)]
                obs.expect_nothing()
            wait_for(lambda: sink.published == 4, what="all PUBACKs")
    assert seqs == [1, 2, 3, 4]


def test_queue_is_bounded_while_the_broker_is_unreachable(caplog):
    caplog.set_level(logging.INFO, logger="wakeword.mqtt")
    topic = "wakeword/shed/detected"
    with mosquitto(persistence=True) as b:
        make_session(b.port, "obs-shed", topic)
        b.stop()
        with running(MqttConfig("127.0.0.1", b.port, site_id="shed", queue_size=2)) as sink:  # start: no exception
            wait_for(lambda: any("unreachable" in r.getMessage() for r in caplog.records), what="the warning")
            for seq in range(1, 6):
                sink.publish(detection(seq))
            assert sink.dropped == 3 and sink.queued == 2
            time.sleep(1.2)  # at least one more failed reconnect attempt: still only one warning
            b.start()
            wait_for(lambda: sink.published == 2, timeout=15, what="the queued events to be delivered")
        with observer(b.port, [topic], client_id="obs-shed", clean=False) as obs:
            seqs = [json.loads(obs.get()[1])["sequence"] for _ in range(2)]
            obs.expect_nothing()
    assert seqs == [4, 5]  # the newest two; the three oldest were dropped
    assert sink.dropped == 3
    unreachable = [r for r in caplog.records
                   if r.getMessage() == f"MQTT broker 127.0.0.1:{b.port} unreachable (Connection refused), queueing events"]
    assert len(unreachable) == 1 and unreachable[0].levelno == logging.WARNING
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 2 and "3 event(s) dropped in all" in dropped[-1]  # one rate-limited warning, the total


# ---- Hermes toggles -----------------------------------------------------------------------------------------
def test_hermes_toggle_off_and_on(broker, caplog):
    caplog.set_level(logging.INFO, logger="wakeword.mqtt")
    toggles: list[bool] = []
    cfg = MqttConfig("127.0.0.1", broker.port, site_id="living", hermes=True)
    with observer(broker.port, ["wakeword/living/detected"]) as obs, running(cfg, on_toggle=toggles.append) as sink:
        wait_for(lambda: sink.subscribed, what="sink subscribed to the toggles")  # else a toggle could go unheard
        assert sink.enabled is True
        # Another site's toggleOff must be ignored. The sink handles messages in order, so once our own toggleOff
        # (reason 'ours') has taken effect the other one was handled before it; had it been obeyed, ours would
        # have changed nothing and never been logged.
        obs.publish("hermes/hotword/toggleOff", {"siteId": "bedroom", "reason": "theirs"})
        obs.publish("hermes/hotword/toggleOff", {"siteId": "living", "reason": "ours"})
        # The hook runs last in the handler (after the flag and the log line), so wait on it, not on the flag.
        wait_for(lambda: toggles == [False], what="our toggleOff")
        assert sink.enabled is False and any("ours" in r.getMessage() for r in caplog.records)
        assert not any("theirs" in r.getMessage() for r in caplog.records)

        sink.publish(detection(1))  # disabled: dropped silently
        assert sink.dropped == 0 and sink.queued == 0

        obs.publish("hermes/hotword/toggleOn", {"siteId": "living"})
        wait_for(lambda: toggles == [False, True], what="toggleOn")
        assert sink.enabled is True
        sink.publish(detection(2))
        assert json.loads(obs.get()[1])["sequence"] == 2  # the event raised while disabled never went out
        obs.expect_nothing()
    assert sink.published == 1 and sink.dropped == 0


def test_no_toggle_message_can_break_the_sink_or_pause_another_site(broker, caplog):
    """A 100 KB '[[[[' payload once raised RecursionError in paho's thread and MQTT was dead for good; a toggleOff
    without siteId paused every site (Hermes: no siteId means "default"); a retained one re-paused at every start."""
    caplog.set_level(logging.INFO, logger="wakeword.mqtt")
    toggles: list[bool] = []
    cfg = MqttConfig("127.0.0.1", broker.port, site_id="attic", hermes=True)
    with observer(broker.port, ["wakeword/attic/detected"]) as obs:
        obs.client.publish("hermes/hotword/toggleOff", json.dumps({"siteId": "attic"}), qos=1, retain=True).wait_for_publish(5)
        with running(cfg, on_toggle=toggles.append) as sink:
            wait_for(lambda: sink.subscribed, what="sink subscribed to the toggles")
            for payload in ("[" * 100_000, "{" * 5_000, b"x" * (10 * 1024 * 1024), "not json", "[1, 2]"):
                obs.client.publish("hermes/hotword/toggleOff", payload, qos=1).wait_for_publish(5)
            obs.publish("hermes/hotword/toggleOff", {"reason": "no siteId: site default only"})
            obs.publish("hermes/hotword/toggleOff", {"siteId": "attic", "reason": "ours"})
            wait_for(lambda: toggles == [False], what="our toggleOff, after every bad one")
            obs.publish("hermes/hotword/toggleOn", {"siteId": "attic"})
            wait_for(lambda: toggles == [False, True], what="toggleOn")
            sink.publish(detection(7))
            assert json.loads(obs.get()[1])["sequence"] == 7  # the network thread is alive and delivering
        obs.client.publish("hermes/hotword/toggleOff", b"", qos=1, retain=True).wait_for_publish(5)  # clear it
    messages = [r.getMessage() for r in caplog.records]
    assert any("ignoring a retained hermes/hotword/toggleOff" in m for m in messages)
    assert any("ours" in m for m in messages) and not any("site default only" in m for m in messages)
    assert sum("ignoring hermes/hotword/toggleOff" in m for m in messages) <= 2  # rate-limited: size, json
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


def test_tls_failures_are_not_reported_as_unreachable(broker, caplog, tmp_path):
    """TLS against a plaintext port, or a server certificate the CA file does not sign, was logged "unreachable"."""
    import ssl
    import subprocess as sp

    caplog.set_level(logging.INFO, logger="wakeword.mqtt")
    with running(MqttConfig("127.0.0.1", broker.port, site_id="tls1", tls=True)):
        wait_for(lambda: any("tls1" not in r.getMessage() and "unreachable" in r.getMessage() for r in caplog.records))
    assert any("plaintext port resets a TLS client" in r.getMessage() for r in caplog.records)
    # a TLS listener whose certificate is not signed by the CA the sink trusts
    key, cert, other = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "other.pem"
    for keyout, out in ((key, cert), (tmp_path / "other-key.pem", other)):
        sp.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(keyout), "-out", str(out),
                "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            try:
                ctx.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    caplog.clear()
    try:
        with running(MqttConfig("127.0.0.1", srv.getsockname()[1], site_id="tls2", tls=True, ca_certs=str(other))):
            wait_for(lambda: any("TLS failed" in r.getMessage() for r in caplog.records), what="the TLS error")
    finally:
        stop.set()
        srv.close()
    assert not any("unreachable" in r.getMessage() for r in caplog.records)


def test_a_broker_that_never_answers_is_reported(caplog):
    """A listener that accepts the TCP connection and never sends CONNACK was never logged at all."""
    import socket

    caplog.set_level(logging.INFO, logger="wakeword.mqtt")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(srv.accept()), daemon=True).start()
    try:
        with running(MqttConfig("127.0.0.1", srv.getsockname()[1], site_id="mute", keepalive=1)) as sink:
            wait_for(lambda: any("does not answer" in r.getMessage() for r in caplog.records), timeout=15)
            assert not sink.connected
    finally:
        srv.close()


# ---- refusals ------------------------------------------------------------------------------------------------
def test_an_event_the_brokers_acl_refuses_is_dropped_not_published(caplog):
    """MQTT 5: mosquitto answers a QoS 1 publish its ACL denies with PUBACK 0x87 "Not authorized" (3.1.1 clients get
    a plain acknowledgement). Such an event counts as dropped, with one warning naming the topic and the reason."""
    acl = "topic readwrite wakeword/+/available\ntopic read wakeword/+/detected\ntopic readwrite hermes/#\n"
    with mosquitto(acl=acl) as b, observer(b.port, ["wakeword/#", "hermes/hotword/+/detected"]) as obs:
        codes: queue.Queue = queue.Queue()
        raw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="raw5", protocol=mqtt.MQTTv5)
        raw.on_publish = lambda c, u, mid, rc, p: codes.put(rc.value)
        raw.connect("127.0.0.1", b.port)
        raw.loop_start()
        raw.publish("wakeword/raw/detected", "{}", qos=1)
        assert codes.get(timeout=5) == 0x87  # what the sink is up against
        raw.disconnect()
        raw.loop_stop()
        with running(MqttConfig("127.0.0.1", b.port, site_id="acl", hermes=True)) as sink:
            assert obs.get()[:2] == ("wakeword/acl/available", "online")  # allowed
            for seq in (1, 2, 3):
                sink.publish(detection(seq))
            wait_for(lambda: sink.dropped == 3, what="three events refused")
            assert sink.published == 0 and sink.refused == 3 and sink.queued == 0
            # the Hermes copies were allowed and arrived; the events count as dropped: their plain consumers lost them
            assert [obs.get()[0] for _ in range(3)] == ["hermes/hotword/hey_ssafy/detected"] * 3
            obs.expect_nothing()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("wakeword")]
    refused = [m for m in messages if "refused an event" in m]
    assert len(refused) == 1, messages  # rate-limited per cause
    assert "wakeword/acl/detected" in refused[0] and "Not authorized" in refused[0] and "ACL" in refused[0]
    assert any("3 event(s) dropped in all" in m and "3 refused by the broker" in m for m in messages), messages
    assert "Traceback" not in caplog.text


# ---- secrets ------------------------------------------------------------------------------------------------
def test_password_never_appears_in_logs(broker, caplog, monkeypatch, tmp_path):
    caplog.set_level(logging.DEBUG)  # paho's own debug log included (logger wakeword.mqtt.paho)
    env_secret, file_secret = "env-S3cr3t-pw", "file-S3cr3t-pw"
    monkeypatch.setenv(PASSWORD_ENV, env_secret)
    pw_file = tmp_path / "mqtt-password"
    pw_file.write_text(file_secret + "\n")
    configs = [MqttConfig("127.0.0.1", broker.port, site_id="pw1", username="ww"),
               MqttConfig("127.0.0.1", broker.port, site_id="pw2", username="ww", password_file=str(pw_file)),
               MqttConfig("127.0.0.1", broker.port, site_id="pw3", username="ww", password=file_secret)]
    assert MqttSink(configs[0])._password == env_secret and MqttSink(configs[1])._password == file_secret
    credentials = tmp_path / "credentials"  # what systemd's LoadCredential=mqtt_password:FILE hands the daemon
    credentials.mkdir()
    (credentials / "mqtt_password").write_text("cred-S3cr3t-pw\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    assert MqttSink(configs[0])._password == "cred-S3cr3t-pw"  # before the environment variable
    assert MqttSink(configs[1])._password == file_secret  # an explicit password_file still wins
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with observer(broker.port, ["wakeword/+/detected"]) as obs:
        for cfg in configs:
            with running(cfg) as sink:
                wait_for(lambda: sink.connected, what="sink connected")
                sink.publish(detection(1))
                obs.get()
            assert env_secret not in repr(cfg) and file_secret not in repr(cfg)
    # and while the broker is unreachable
    with running(MqttConfig("127.0.0.1", 1, site_id="pw4", username="ww", password=file_secret)):
        wait_for(lambda: any("unreachable" in r.getMessage() for r in caplog.records), what="the warning")
    assert any(r.name == "wakeword.mqtt.paho" for r in caplog.records)  # paho's log really was captured
    text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records) + caplog.text
    assert env_secret not in text and file_secret not in text


def test_config_errors_are_one_line():
    for kwargs, key in [(dict(port=70000), "mqtt.port"), (dict(site_id="a/b"), "mqtt.site_id"),
                        (dict(queue_size=0), "mqtt.queue_size"), (dict(password="x"), "mqtt.password needs"),
                        (dict(client_id="x" * 65536), "mqtt.client_id")]:  # paho's thread died on it once
        with pytest.raises(ConfigError) as e:
            MqttConfig("127.0.0.1", **kwargs)
        assert key in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="cannot read"):
        MqttSink(MqttConfig("127.0.0.1", username="u", password_file="/nonexistent/pw"))
    with pytest.raises(ConfigError, match="mqtt.ca_certs /nonexistent/ca.pem: cannot use it"):
        MqttSink(MqttConfig("127.0.0.1", tls=True, ca_certs="/nonexistent/ca.pem"))


# ---- MQTT 5: packet size bound, fallback to 3.1.1 -----------------------------------------------------------
TOGGLE_CHILD = """
import sys, time
from wakeword.sinks.mqtt import MqttConfig, MqttSink
sink = MqttSink(MqttConfig("127.0.0.1", int(sys.argv[1]), site_id="loft", hermes=True),
                on_toggle=lambda on: print("resumed" if on else "paused", flush=True))
sink.start()
while not sink.subscribed:
    time.sleep(0.01)
print("subscribed", flush=True)
sys.stdin.read()  # until the test closes stdin
sink.stop()
"""


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))


def test_an_oversized_toggle_never_reaches_the_sinks_memory(broker, tmp_path):
    """Anyone on the broker can publish a toggle. Under MQTT 3.1.1 paho read a 100 MB one whole before the sink
    ignored it (455 MB peak RSS, on a 512 MB Pi Zero); the sink's MQTT 5 Maximum Packet Size makes the broker drop
    it instead. Measured in a process of its own: only the sink's memory counts."""
    big = tmp_path / "toggle.json"
    big.write_text(json.dumps({"siteId": "loft", "reason": "x" * 50_000_000}))
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", TOGGLE_CHILD, str(broker.port)], env=env, cwd=str(REPO),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in child.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=30) == "subscribed"
        before = peak_rss_kib(child.pid)
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                        "-t", "hermes/hotword/toggleOff", "-f", str(big)], check=True, timeout=60)
        # published after the big one: the broker sends the sink both, in this order
        with observer(broker.port, ["wakeword/loft/detected"]) as obs:
            obs.publish("hermes/hotword/toggleOff", {"siteId": "loft", "reason": "a real one"})
            assert lines.get(timeout=30) == "paused"  # the sink is alive and still takes toggles
        peak = peak_rss_kib(child.pid)
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)
        child.stderr.close()
    assert peak - before < 8 * 1024, f"peak RSS {before / 1024:.1f} -> {peak / 1024:.1f} MB with a 50 MB toggle"


def _recv_exact(conn, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


class Mqtt311Broker:
    """A broker that speaks only MQTT 3.1.1, as mosquitto 1.4/1.5 and some embedded brokers do: it answers a
    CONNECT of any other protocol level with `refusal` and closes; on 3.1.1 it acknowledges CONNECT, QoS 1
    PUBLISH, SUBSCRIBE and PINGREQ. One connection at a time. Records the protocol levels and CONNECT flags it
    saw (`connects`) and the topics published to it (`topics`)."""

    def __init__(self, refusal: bytes) -> None:
        import socket

        self.refusal = refusal
        self.connects: list[tuple[int, int]] = []
        self.topics: list[str] = []
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen()
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return  # closed
            with conn:
                try:
                    self._session(conn)
                except (EOFError, OSError):
                    pass

    def _packet(self, conn) -> tuple[int, bytes]:
        kind, length, shift = _recv_exact(conn, 1)[0], 0, 0
        while True:
            byte = _recv_exact(conn, 1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        return kind, _recv_exact(conn, length)

    def _session(self, conn) -> None:
        kind, body = self._packet(conn)
        assert kind == 0x10 and body[2:6] == b"MQTT"
        level, flags = body[6], body[7]
        self.connects.append((level, flags))
        if level != 4:
            conn.sendall(self.refusal)
            return
        conn.sendall(bytes([0x20, 2, 0, 0]))
        while True:
            kind, body = self._packet(conn)
            if kind >> 4 == 3:  # PUBLISH
                n = int.from_bytes(body[:2], "big")
                self.topics.append(body[2:2 + n].decode())
                if kind & 0x06:  # QoS 1: PUBACK with its packet id
                    conn.sendall(bytes([0x40, 2]) + body[2 + n:4 + n])
            elif kind == 0x82:  # SUBSCRIBE: grant QoS 1 to each topic filter
                filters, i = 0, 2
                while i < len(body):
                    i += 2 + int.from_bytes(body[i:i + 2], "big") + 1
                    filters += 1
                conn.sendall(bytes([0x90, 2 + filters]) + body[:2] + bytes([1] * filters))
            elif kind == 0xC0:  # PINGREQ
                conn.sendall(bytes([0xD0, 0]))
            elif kind == 0xE0:  # DISCONNECT
                return

    def close(self) -> None:
        self.srv.close()


@pytest.mark.parametrize("refusal", [bytes([0x20, 3, 0, 0x84, 0]), bytes([0x20, 2, 0, 1])],
                         ids=["mqtt5-reason-0x84", "mqtt311-return-code-1"])
def test_a_broker_without_mqtt5_is_spoken_to_in_mqtt_3_1_1(caplog, refusal):
    """An MQTT 5 broker refuses a protocol level it does not take with reason 0x84; a 3.1.1 broker (mosquitto
    1.4/1.5) with return code 1. Either way the sink says so once and carries on in 3.1.1, will and Hermes
    subscriptions included."""
    caplog.set_level(logging.INFO, logger="wakeword.mqtt")
    b = Mqtt311Broker(refusal)
    try:
        with running(MqttConfig("127.0.0.1", b.port, site_id="old", hermes=True)) as sink:
            wait_for(lambda: sink.subscribed, what="the sink subscribed over MQTT 3.1.1")
            sink.publish(detection(1))
            wait_for(lambda: sink.published == 1, what="the PUBACKs")
    finally:
        b.close()
    assert [level for level, _ in b.connects] == [5, 4]
    assert b.connects[1][1] & 0x2C == 0x2C  # will flag, will QoS 1, will retain
    assert b.topics == ["wakeword/old/available", "wakeword/old/detected", "hermes/hotword/hey_ssafy/detected",
                        "wakeword/old/available"]
    messages = [r.getMessage() for r in caplog.records]
    fallback = [m for m in messages if "3.1.1" in m]
    assert len(fallback) == 1 and "toggle" in fallback[0], messages
    assert not any(r.levelno >= logging.ERROR for r in caplog.records), messages
