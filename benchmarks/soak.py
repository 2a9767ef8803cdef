"""Soak: many hours of audio through `wakeword run`, the MQTT broker restarted every hour of audio and the config
reloaded every 10 minutes of it; are all events delivered, and does memory stay flat? (issue 22)

    .venv/bin/python benchmarks/soak.py [--hours 24] [--restart-every-h 1] [--reload-every-min 10]

The daemon reads raw 16 kHz PCM on stdin as fast as it takes it (hours of audio in minutes): a 60 s block of pink
noise with the test phrase ("Hey, Saffy." by flite at 15 dB) planted every 15 s, repeated. At each hour of audio
the writer pauses, the broker (persistent, wakeword.testing) is stopped for 2 s and started again; at each 10
minutes of audio the config is rewritten (detector.refractory_s toggles 2.0/2.1: the models are rebuilt) and the
daemon gets SIGHUP. A paho subscriber with a persistent QoS 1 session counts the events that reach the broker.
Counted: events on stdout, events on MQTT (unique sequence numbers), events the daemon reports dropped, and the
daemon's RSS after each hour of audio. Writes benchmarks/results/soak.json.
"""
from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt

from wakeword.audio.signal import SR
from wakeword.testing import Broker, in_noise, tts

HERE = Path(__file__).resolve().parent
BLOCK_S, EVERY_S = 60, 15


def block() -> tuple[bytes, int]:
    """60 s of s16 PCM with the phrase every 15 s; returns (bytes, phrases planted)."""
    phrase, _ = in_noise(tts("Hey, Saffy."), 15.0, before_s=0.5, after_s=0.5)
    rng = np.random.default_rng(0)
    n = BLOCK_S * SR
    spec = np.fft.rfft(rng.standard_normal(n)) / np.sqrt(np.arange(n // 2 + 1) + 1.0)
    x = np.fft.irfft(spec, n)
    x *= 0.3 * np.abs(phrase).max() / 10 ** (15 / 20) / np.abs(x).max()
    for k in range(BLOCK_S // EVERY_S):
        start = int((k * EVERY_S + 5) * SR)  # 5 s into each 15 s: away from the block edges (reloads happen there)
        x[start:start + len(phrase)] += phrase
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes(), BLOCK_S // EVERY_S


class Subscriber:
    """Counts unique detection sequence numbers on a persistent QoS 1 session (survives broker restarts)."""

    def __init__(self, port: int) -> None:
        self.seqs: set[int] = set()
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="soak-observer", clean_session=False)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("wakeword/+/detected", qos=1)
        self.client.on_message = self._message
        self.client.reconnect_delay_set(0.2, 2)
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _message(self, client, userdata, msg) -> None:
        with self.lock:
            self.seqs.add(json.loads(msg.payload)["sequence"])

    def count(self) -> int:
        with self.lock:
            return len(self.seqs)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--restart-every-h", type=float, default=1)
    ap.add_argument("--reload-every-min", type=float, default=10)
    a = ap.parse_args()
    pcm, planted_per_block = block()
    broker = Broker(persistence=True)
    broker.start()
    sub = Subscriber(broker.port)
    time.sleep(0.5)
    tmp = Path(tempfile.mkdtemp(prefix="wakeword-soak-"))
    cfg = tmp / "config.yaml"

    def write_config(refractory: float) -> None:
        cfg.write_text(f"models: [hey_ssafy]\ndetector: {{refractory_s: {refractory}}}\n"
                       f"mqtt: {{host: 127.0.0.1, port: {broker.port}, site_id: soak, queue_size: 1000}}\n")

    write_config(2.0)
    err = open(tmp / "daemon.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("wakeword")), "run", "--config", str(cfg), "--input", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
    stdout_events: list[str] = []
    reader = threading.Thread(target=lambda: stdout_events.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    blocks = int(a.hours * 3600 / BLOCK_S)
    restart_every, reload_every = int(a.restart_every_h * 3600 / BLOCK_S), int(a.reload_every_min * 60 / BLOCK_S)
    rss, restarts, reloads, t0 = [], 0, 0, time.monotonic()
    for b in range(1, blocks + 1):
        proc.stdin.write(pcm)  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        if b % reload_every == 0:
            reloads += 1
            write_config(2.1 if reloads % 2 else 2.0)
            proc.send_signal(signal.SIGHUP)
        if b % restart_every == 0:
            rss.append(round(rss_mb(proc.pid), 1))
            broker.stop()
            time.sleep(2.0)
            broker.start()
            restarts += 1
    proc.stdin.close()  # type: ignore[union-attr]
    rc = proc.wait(timeout=600)
    wall = time.monotonic() - t0
    deadline = time.monotonic() + 60
    while sub.count() < len(stdout_events) and time.monotonic() < deadline:
        time.sleep(0.5)
    err.close()
    log = (tmp / "daemon.log").read_text()
    dropped = sum(int(m) for m in re.findall(r"(\d+) event\(s\) dropped in all", log))
    out = {"command": "benchmarks/soak.py " + " ".join(sys.argv[1:]), "audio_hours": a.hours, "wall_s": round(wall, 1),
           "exit_status": rc, "broker_restarts": restarts, "reloads": reloads,
           "phrases_planted": blocks * planted_per_block, "events_stdout": len(stdout_events),
           "events_mqtt": sub.count(), "events_reported_dropped": dropped,
           "reloads_failed": log.count("config reload failed"), "tracebacks": log.count("Traceback"),
           "rss_mb_per_hour": rss, "rss_drift_mb_after_first_hour": round(rss[-1] - rss[0], 1) if rss else None}
    sub.client.loop_stop()
    broker.close()
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "soak.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "rss_mb_per_hour"}))


if __name__ == "__main__":
    main()
