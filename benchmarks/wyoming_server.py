"""`wakeword serve` as Home Assistant sees it: latency to the `detection` event, and server CPU per client-hour.

    .venv/bin/python benchmarks/wyoming_server.py [--seconds 60] [--clients 1 8]

(Not benchmarks/wyoming.py: run as a script, that name would shadow the wyoming package it imports.)

For each client count, a fresh `wakeword serve --uri tcp://127.0.0.1:PORT` (both bundled models) and that many
clients (wyoming's AsyncTcpClient, in this process) each stream `--seconds` of audio in real time, in 20 ms chunks
of 16 kHz s16 mono, as Home Assistant does: the test phrase ("Hey, Saffy." by flite kal16 in pink noise at 15 dB,
wakeword.testing) again and again, one play every 4.1 s (the detector's refractory time is 2 s). The clients start
2.5 ms apart, so their chunks do not all land at once.

- latency: from writing the chunk that holds the end of a play's phrase to reading its `detection`, per play;
  median and p95 over every play of every client. This is what a satellite waits for after the user stops
  speaking: the model needs some audio after the phrase, which arrives in real time, plus the server's work.
- timestamp - phrase end: where in the stream the event says it fired (the model's own delay, no network).
- CPU: the server process's user+sys time (/proc/PID/stat) over the streaming, per client-hour of audio.
- memory: the server's VmRSS before any client, while all stream, and its peak (VmHWM).
Writes benchmarks/results/wyoming.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.ping import Ping, Pong
from wyoming.wake import Detect, Detection

from wakeword.testing import free_port, in_noise, tts

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHUNK = 320  # samples: 20 ms at 16 kHz


def phrase_stream(seconds: float) -> tuple[bytes, list[float]]:
    """Plays of the test phrase back to back: (s16 PCM, phrase end time of each play in seconds)."""
    one, end = in_noise(tts("Hey, Saffy."), 15.0, before_s=1.0, after_s=1.6)
    plays = max(1, int(seconds * 16000) // len(one))
    audio = np.tile(one, plays)
    ends = [k * len(one) / 16000 + end for k in range(plays)]
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes(), ends


def proc_stat(pid: int) -> float:
    """user + sys CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


async def client(port: int, pcm: bytes, ends: list[float], delay: float, t_start: float) -> dict:
    """Stream `pcm` in real time from `t_start + delay`; pair each detection with the play it belongs to."""
    sent_at: dict[int, float] = {}  # play index -> when the chunk holding its phrase end was written
    end_chunks = {int(e * 16000) // CHUNK: k for k, e in enumerate(ends)}
    got: list[tuple[float, Detection]] = []
    async with AsyncTcpClient("127.0.0.1", port) as c:
        async def reader():
            while True:
                event = await c.read_event()
                if event is None or Pong.is_type(event.type):  # the answer to the ping after audio-stop
                    return
                if Detection.is_type(event.type):
                    got.append((time.perf_counter(), Detection.from_event(event)))

        reading = asyncio.create_task(reader())
        await c.write_event(Detect(names=["hey_ssafy"]).event())
        await c.write_event(AudioStart(rate=16000, width=2, channels=1, timestamp=0).event())
        t0 = t_start + delay
        n_chunks = len(pcm) // (2 * CHUNK)
        for i in range(n_chunks):
            wait = t0 + i * CHUNK / 16000 - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            await c.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=pcm[2 * CHUNK * i:2 * CHUNK * (i + 1)],
                                           timestamp=i * 20).event())
            if i in end_chunks:
                sent_at[end_chunks[i]] = time.perf_counter()
        await asyncio.sleep(1.0)  # the last play's detection comes after its phrase
        await c.write_event(AudioStop().event())
        await c.write_event(Ping().event())
        await asyncio.wait_for(reading, 30)
    latencies, offsets, extra = [], [], 0
    matched: set[int] = set()
    for t, d in got:
        ts = (d.timestamp or 0) / 1000
        k = max((k for k, e in enumerate(ends) if e <= ts + 0.05), default=None)  # the last play that ended before it
        if k is None or k in matched or ts - ends[k] > 1.0 or k not in sent_at:
            extra += 1
            continue
        matched.add(k)
        latencies.append(t - sent_at[k])
        offsets.append(ts - ends[k])
    return {"latencies": latencies, "offsets": offsets, "missed": len(ends) - len(matched), "extra": extra,
            "audio_s": n_chunks * CHUNK / 16000}


def serve(port: int, log) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "wakeword", "serve", "--uri", f"tcp://127.0.0.1:{port}"], cwd=REPO,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"wakeword serve did not start (rc {proc.poll()})") from None
            time.sleep(0.1)


def one_config(n: int, pcm: bytes, ends: list[float]) -> dict:
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = serve(port, log)
        try:
            time.sleep(1.0)
            idle_rss = vm(proc.pid, "VmRSS")
            cpu0, w0 = proc_stat(proc.pid), time.perf_counter()

            async def all_clients():
                t_start = time.perf_counter() + 0.5
                streaming = [asyncio.create_task(client(port, pcm, ends, i * 0.0025, t_start)) for i in range(n)]
                await asyncio.sleep(0.5 + 0.75 * len(pcm) / 32000)
                rss = vm(proc.pid, "VmRSS")
                return await asyncio.gather(*streaming), rss

            results, streaming_rss = asyncio.run(all_clients())
            cpu, wall = proc_stat(proc.pid) - cpu0, time.perf_counter() - w0
            peak = vm(proc.pid, "VmHWM")
        finally:
            proc.terminate()
            proc.wait(10)
            log.seek(0)
            errors = [line for line in log.read().decode().splitlines() if "WARNING" in line or "ERROR" in line]
    lat = sorted(x * 1000 for r in results for x in r["latencies"])
    off = sorted(x * 1000 for r in results for x in r["offsets"])
    audio_s = sum(r["audio_s"] for r in results)
    return {
        "clients": n, "audio_s_per_client": round(results[0]["audio_s"], 1), "plays": n * len(ends),
        "detected": len(lat), "missed": sum(r["missed"] for r in results), "extra": sum(r["extra"] for r in results),
        "latency_ms_median": round(statistics.median(lat), 1) if lat else None,
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if lat else None,
        "latency_ms_max": round(max(lat), 1) if lat else None,
        "timestamp_minus_phrase_end_ms_median": round(statistics.median(off), 1) if off else None,
        "server_cpu_s": round(cpu, 2), "wall_s": round(wall, 1),
        "server_cpu_s_per_client_hour": round(cpu / audio_s * 3600, 2),
        "server_percent_of_one_core": round(100 * cpu / wall, 2),
        "rss_mb_idle": round(idle_rss, 1), "rss_mb_streaming": round(streaming_rss, 1), "rss_mb_peak": round(peak, 1),
        "server_warnings": errors[:5],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="audio each client streams, in real time")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--out", default=str(HERE / "results" / "wyoming.json"))
    a = ap.parse_args()
    pcm, ends = phrase_stream(a.seconds)
    load = os.getloadavg()
    runs = []
    for n in a.clients:
        r = one_config(n, pcm, ends)
        print(json.dumps(r), flush=True)
        runs.append(r)
    out = {"command": "benchmarks/wyoming_server.py " + " ".join(sys.argv[1:]), "date": time.strftime("%Y-%m-%d"),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "load_average_at_start": [round(x, 2) for x in load], "runs": runs}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
