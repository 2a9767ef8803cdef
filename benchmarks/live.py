"""Live daemon figures on a real (virtual) microphone and a real broker:

- latency from the end of the played phrase to the MQTT message (median, p95 over N plays),
- `wakeword run` CPU while listening (% of one core, from /proc utime+stime over a quiet minute),
- resident memory with one model (VmRSS and peak VmHWM).

    .venv/bin/python benchmarks/live.py [--plays 20] [--listen-s 60]

Uses the test rig (tests/rig.py: PulseAudio virtual microphone; tests/broker.py: mosquitto on loopback).
The phrase end is taken as paplay's start + the phrase end inside the WAV; paplay's own start-up
(25-60 ms before the first sample reaches the microphone, notes/test-rig.md) is therefore counted as latency:
the figures are upper bounds. Writes benchmarks/results/live.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from broker import mosquitto  # noqa: E402
from conftest import in_noise, tts, write  # noqa: E402
from rig import virtual_microphone  # noqa: E402


def proc_stats(pid: int) -> tuple[float, int, int]:
    """(cpu seconds, VmRSS kB, VmHWM kB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return cpu, int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plays", type=int, default=20)
    ap.add_argument("--listen-s", type=float, default=60)
    ap.add_argument("--out", default=str(HERE / "results" / "live.json"))
    a = ap.parse_args()
    import paho.mqtt.client as mqtt

    tmp = Path(tempfile.mkdtemp())
    audio, end = in_noise(tts("Hey, Saffy."), 15.0, before_s=0.5, after_s=1.0)  # the tests' phrase (conftest.phrase)
    wav = str(write(tmp / "phrase.wav", audio))
    arrivals: list[float] = []
    got = threading.Event()
    with virtual_microphone() as mic, mosquitto() as broker:
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench")
        sub.on_connect = lambda c, u, f, rc, p: c.subscribe("wakeword/+/detected", qos=1)
        sub.on_message = lambda c, u, m: (arrivals.append(time.time()), got.set())
        sub.connect("127.0.0.1", broker.port)
        sub.loop_start()
        proc = subprocess.Popen([sys.executable, "-m", "wakeword", "run", "--model", "hey_ssafy", "--mqtt-host", "127.0.0.1",
                                 "--mqtt-port", str(broker.port)], env=mic.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        while "receiving audio" not in proc.stderr.readline():
            pass
        time.sleep(1.0)
        # CPU and memory while listening to (near) silence
        c0, _, _ = proc_stats(proc.pid)
        time.sleep(a.listen_s)
        c1, rss, hwm = proc_stats(proc.pid)
        latencies, missed = [], 0
        for _ in range(a.plays):
            got.clear()
            n0 = len(arrivals)
            t_play = time.time()
            mic.play(wav)
            if got.wait(3.0) and len(arrivals) > n0:
                latencies.append(arrivals[n0] - (t_play + end))
            else:
                missed += 1
            time.sleep(2.2)  # past the detector's refractory period
        _, rss2, hwm2 = proc_stats(proc.pid)
        proc.terminate()
        proc.wait(5)
        sub.loop_stop()
    lat = np.array(latencies) * 1000
    result = {
        "plays": a.plays, "detected": len(latencies), "missed": missed,
        "latency_ms_median": round(float(np.median(lat)), 1) if len(lat) else None,
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if len(lat) else None,
        "latency_ms_all": [round(float(x), 1) for x in lat],
        "listening_cpu_percent_of_one_core": round(100 * (c1 - c0) / a.listen_s, 3),
        "rss_mb": round(max(rss, rss2) / 1024, 1), "peak_rss_mb": round(max(hwm, hwm2) / 1024, 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "latency_ms_all"}, indent=1))


if __name__ == "__main__":
    main()
