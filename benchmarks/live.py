"""Live daemon figures on a real (virtual) microphone and a real broker:

- latency from the end of the played phrase to the MQTT message (median, p95 over N plays),
- `wakeword run` CPU while listening (% of one core, from /proc utime+stime over a quiet minute, and again over a
  minute of someone talking, where the quiet gate of audio/quiet.py keeps a read per block), split by
  thread: the audio server's client thread (libpulse's "threaded-ml", loaded by PortAudio's ALSA "pulse"
  plugin) against everything else (PortAudio callback, processing, dispatch, MQTT),
- the same CPU for `wakeword run --input -` fed raw PCM in real time in blocks of the same size, which is the
  `arecord ... | wakeword run --input -` setup of a Pi without an audio server,
- resident memory with one model (VmRSS and peak VmHWM).

    .venv/bin/python benchmarks/live.py [--plays 20] [--listen-s 60] [--block-ms 50] [--keepalive-ms 100]

Uses the test rig (wakeword.testing: a PulseAudio virtual microphone, mosquitto on loopback).
The rig's permanent "speaker" stream (10 ms latency in the tests) makes its null sink push audio to the monitor
in 2.5 ms pieces, so libpulse's thread wakes ~400 times a second whatever block size or latency the recording
asks for (~90/s with a 50 ms speaker stream, 60-80/s with 100 ms; measured as that thread's context switches):
that thread's share is a property of the audio server setup, not of wakeword. A real microphone's source
follows the latency its recording clients ask for; `--keepalive-ms` sets the rig's.
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

from wakeword.audio.microphone import BLOCK_S, IDLE_S
from wakeword.testing import in_noise, mosquitto, tts, virtual_microphone, write

HERE = Path(__file__).resolve().parent


def proc_stats(pid: int) -> tuple[float, int, int]:
    """(cpu seconds, VmRSS kB, VmHWM kB) of a process."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return _cpu(Path(f"/proc/{pid}/stat")), int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


def _cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, tuple[float, int]]:
    """(CPU seconds, wake-ups) per thread name of a process (threads of the same name summed); wake-ups are
    voluntary context switches, which CPU contention on a shared machine does not change."""
    out: dict[str, tuple[float, int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            status = (task / "status").read_text()
            wakeups = int(status.split("voluntary_ctxt_switches:")[1].split()[0])
            cpu, n = out.get(name, (0.0, 0))
            out[name] = (cpu + _cpu(task / "stat"), n + wakeups)
        except (OSError, IndexError):  # the thread ended meanwhile
            pass
    return out


TALK = ("The weather today is sunny with a light breeze from the west. Later this evening clouds will gather over the "
        "hills, and by midnight a little rain may fall on the town.")


def cpu_window(pid: int, seconds: float) -> dict:
    """CPU of a process over the next `seconds`: % of one core, and per thread name (% and wake-ups per second)."""
    c0, th0 = proc_stats(pid)[0], thread_cpu(pid)
    time.sleep(seconds)
    c1, th1 = proc_stats(pid)[0], thread_cpu(pid)
    delta = {name: (cpu - th0.get(name, (0.0, 0))[0], n - th0.get(name, (0.0, 0))[1]) for name, (cpu, n) in sorted(th1.items())}
    client = delta.get("threaded-ml", (0.0, 0))[0]
    return {"percent_of_one_core": round(100 * (c1 - c0) / seconds, 3),
            "percent_by_thread": {"audio server client (threaded-ml)": round(100 * client / seconds, 3),
                                  "wakeword (all other threads)": round(100 * (c1 - c0 - client) / seconds, 3),
                                  **{name: round(100 * cpu / seconds, 3) for name, (cpu, _) in delta.items()}},
            "wakeups_per_s_by_thread": {name: round(n / seconds, 1) for name, (_, n) in delta.items() if n / seconds >= 0.5}}


def stdin_cpu(block_ms: int, seconds: float) -> float:
    """% of one core used by `wakeword run --input -` fed quiet noise in real time, `block_ms` per write."""
    rng = np.random.default_rng(0)
    block = (rng.standard_normal(16 * block_ms) * 30).astype(np.int16).tobytes()
    proc = subprocess.Popen([sys.executable, "-m", "wakeword", "run", "--model", "hey_ssafy", "--input", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    c0 = None
    n = 0
    while True:
        n += 1
        proc.stdin.write(block)
        proc.stdin.flush()
        elapsed = time.monotonic() - t0
        if c0 is None and elapsed > 3.0:  # start-up (imports, model load) excluded
            c0, t_start = proc_stats(proc.pid)[0], time.monotonic()
        if c0 is not None and time.monotonic() - t_start >= seconds:
            break
        time.sleep(max(0.0, n * block_ms / 1000 - (time.monotonic() - t0)))
    c1 = proc_stats(proc.pid)[0]
    cpu = 100 * (c1 - c0) / (time.monotonic() - t_start)
    proc.stdin.close()
    proc.wait(10)
    return cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plays", type=int, default=20)
    ap.add_argument("--listen-s", type=float, default=60)
    ap.add_argument("--block-ms", type=int, default=None, help="audio.block_ms for the daemon (default: its own)")
    ap.add_argument("--idle-ms", type=int, default=None, help="audio.idle_ms for the daemon (default: its own; 0: off)")
    ap.add_argument("--keepalive-ms", type=int, default=10, help="latency of the rig's speaker stream (tests: 10)")
    ap.add_argument("--out", default=str(HERE / "results" / "live.json"))
    a = ap.parse_args()
    import paho.mqtt.client as mqtt

    tmp = Path(tempfile.mkdtemp())
    audio, end = in_noise(tts("Hey, Saffy."), 15.0, before_s=0.5, after_s=1.0)  # the tests' phrase (conftest.phrase)
    speech = tts(TALK, "awb")
    wav = str(write(tmp / "phrase.wav", audio))
    arrivals: list[float] = []
    got = threading.Event()
    with virtual_microphone(a.keepalive_ms) as mic, mosquitto() as broker:
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench")
        sub.on_connect = lambda c, u, f, rc, p: c.subscribe("wakeword/+/detected", qos=1)
        sub.on_message = lambda c, u, m: (arrivals.append(time.time()), got.set())
        sub.connect("127.0.0.1", broker.port)
        sub.loop_start()
        cmd = [sys.executable, "-m", "wakeword", "run", "--model", "hey_ssafy", "--mqtt-host", "127.0.0.1",
               "--mqtt-port", str(broker.port)]
        settings = {k: v for k, v in (("block_ms", a.block_ms), ("idle_ms", a.idle_ms)) if v is not None}
        if settings:
            config = tmp / "config.yaml"
            config.write_text("audio:\n" + "".join(f"  {k}: {v}\n" for k, v in settings.items()))
            cmd += ["--config", str(config)]
        proc = subprocess.Popen(cmd, env=mic.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while "receiving audio" not in proc.stderr.readline():
            pass
        time.sleep(3.0)  # past the quiet gate's hold: the room has been quiet since the start
        quiet = cpu_window(proc.pid, a.listen_s)  # CPU and memory while listening to a quiet room
        _, rss, hwm = proc_stats(proc.pid)
        talk = np.tile(speech, int((a.listen_s + 4) * 16000 / len(speech)) + 1)  # someone talking all along
        talk_wav = str(write(tmp / "talk.wav", talk * (0.3 / np.abs(talk).max())))
        player = threading.Thread(target=mic.play, args=(talk_wav, a.listen_s + 30))
        player.start()  # the quiet gate stays open: the processing thread wakes on every block
        time.sleep(2.0)
        talking = cpu_window(proc.pid, a.listen_s)
        player.join()
        time.sleep(3.0)
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
        "block_ms": a.block_ms or round(BLOCK_S * 1000), "idle_ms": a.idle_ms if a.idle_ms is not None else round(IDLE_S * 1000),
        "rig_keepalive_ms": a.keepalive_ms,
        "listening_cpu_percent_of_one_core": quiet["percent_of_one_core"],
        "listening_cpu_percent_by_thread": quiet["percent_by_thread"],
        "listening_wakeups_per_s_by_thread": quiet["wakeups_per_s_by_thread"],
        "talking_cpu_percent_of_one_core": talking["percent_of_one_core"],
        "talking_cpu_percent_by_thread": talking["percent_by_thread"],
        "talking_wakeups_per_s_by_thread": talking["wakeups_per_s_by_thread"],
        "stdin_cpu_percent_of_one_core": round(stdin_cpu(a.block_ms or round(BLOCK_S * 1000), a.listen_s), 3),
        "rss_mb": round(max(rss, rss2) / 1024, 1), "peak_rss_mb": round(max(hwm, hwm2) / 1024, 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "latency_ms_all"}, indent=1))


if __name__ == "__main__":
    main()
