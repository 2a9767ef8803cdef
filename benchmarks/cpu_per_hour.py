"""CPU seconds per hour of audio for `wakeword detect` with one model, start-up excluded.

    .venv/bin/python benchmarks/cpu_per_hour.py [--minutes 60] [--repeats 3] [--no-peers]

Runs the same code path as `wakeword detect` (Engine.detect over a memory-mapped WAV) on a generated
recording (speech-shaped noise with tones; the engine's cost does not depend on content), for the
float32 and the int8 step model, and reports process CPU time (user+sys, all threads) per hour of audio,
and each engine's peak resident memory
while streaming the same file in its own process (benchmarks/peers/*_probs.py).
In the same run, on the same file, it measures the peers pymicro-wakeword 2.5.0 and openWakeWord (alexa models,
benchmarks/peers/) in their own virtual environments, created under .cache/peers/ on first use, and reports
our/peer ratios (these machines are shared and noisy: only same-run ratios mean much).
Writes benchmarks/results/cpu_per_hour.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from wakeword import Engine
from wakeword.audio.wav import write_wav
from wakeword.model.card import bundled_dir

from peers import venvs  # benchmarks/peers/venvs.py
from peers.usage import cpu as cpu_seconds  # benchmarks/peers/usage.py

HERE = Path(__file__).resolve().parent


def make_audio(path: Path, minutes: float) -> float:
    rng = np.random.default_rng(0)
    n = int(minutes * 60 * 16000)
    spec = np.fft.rfft(rng.standard_normal(n)) / np.sqrt(np.arange(n // 2 + 1) + 1.0)
    x = np.fft.irfft(spec, n)
    x = 0.1 * x / np.abs(x).max() + 0.05 * np.sin(2 * np.pi * 440 * np.arange(n) / 16000) * (np.arange(n) // 16000 % 3 == 0)
    write_wav(path, x.astype(np.float32))
    return n / 16000


def cpu_model_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def measure(model: str | Path, wav: Path, seconds: float, repeats: int) -> dict:
    engine = Engine([model])  # start-up (interpreter, model load) is outside the timed region
    list(engine.detect(wav))  # warm-up pass (page cache, lazy init)
    runs = []
    for _ in range(repeats):
        c0, w0 = cpu_seconds(), time.perf_counter()
        list(engine.detect(wav))
        runs.append((cpu_seconds() - c0, time.perf_counter() - w0))
    cpu = statistics.median(r[0] for r in runs)
    return {"model": str(model), "interpreter": engine.models[0].backend, "audio_seconds": seconds,
            "cpu_seconds_per_hour": round(cpu * 3600 / seconds, 2),
            "percent_of_one_core": round(100 * cpu / seconds, 3),
            "wall_seconds_per_hour": round(statistics.median(r[1] for r in runs) * 3600 / seconds, 2),
            "runs_cpu_s": [round(r[0], 3) for r in runs]}


def run_adapter(python: Path, script: str, wav: Path, *args: str) -> dict:
    """One streaming run of an adapter (benchmarks/peers/*_probs.py): its cpu_s and peak_rss_kb."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "p.npz"
        subprocess.run([str(python), str(HERE / "peers" / script), str(wav), str(out), *args], check=True, capture_output=True)
        z = np.load(out)
        return {"cpu_s": float(z["cpu_s"]), "peak_rss_mb": float(z["peak_rss_kb"]) / 1024}


def measure_peer(name: str, python: Path, script: str, wav: Path, seconds: float, repeats: int) -> dict:
    """CPU of a peer's streaming loop (start-up excluded) on the same file, in its own virtual environment."""
    runs = [run_adapter(python, script, wav) for _ in range(repeats + 1)][1:]  # first run warms the page cache
    cpu = statistics.median(r["cpu_s"] for r in runs)
    return {"model": name, "interpreter": "its own", "audio_seconds": seconds,
            "cpu_seconds_per_hour": round(cpu * 3600 / seconds, 2), "percent_of_one_core": round(100 * cpu / seconds, 3),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1), "runs_cpu_s": [round(r["cpu_s"], 3) for r in runs]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results" / "cpu_per_hour.json"))
    ap.add_argument("--no-peers", action="store_true", help="skip pymicro-wakeword")
    a = ap.parse_args()
    variants = {"int8 (shipped)": "hey_ssafy", "float32": bundled_dir() / "reports" / "hey_ssafy" / "hey_ssafy_float32.yaml"}
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "bench.wav"
        seconds = make_audio(wav, a.minutes)
        results = {name: measure(m, wav, seconds, a.repeats) for name, m in variants.items()}
        for name, m in variants.items():  # memory under the peers' harness: the file streamed, not memory-mapped
            rss = run_adapter(Path(sys.executable), "ours_probs.py", wav, str(m))["peak_rss_mb"]
            results[name]["peak_rss_mb"] = round(rss, 1)
        if not a.no_peers:
            results["pymicro-wakeword"] = measure_peer("pymicro-wakeword 2.5.0 alexa", venvs.pymicro(), "pymicro_probs.py",
                                                       wav, seconds, a.repeats)
            results["openWakeWord"] = measure_peer("openWakeWord alexa_v0.1 (wyoming-openwakeword 1.8.2 pipeline)",
                                                   venvs.oww(), "oww_probs.py", wav, seconds, a.repeats)
            for name in variants:
                for peer in ("pymicro-wakeword", "openWakeWord"):
                    results[name][f"ratio_to_{peer}"] = round(results[name]["cpu_seconds_per_hour"] /
                                                              results[peer]["cpu_seconds_per_hour"], 3)
    out = {"machine": {"cpu": cpu_model_name(), "cores": __import__("os").cpu_count(), "python": platform.python_version(),
                       "numpy": np.__version__, "date": time.strftime("%Y-%m-%d")}, "results": results}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    print("| engine / step model | CPU s per hour of audio | % of one core | peak RSS (MB) | ours / pymicro "
          "| ours / openWakeWord |\n"
          "|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['cpu_seconds_per_hour']} | {r['percent_of_one_core']} | {r.get('peak_rss_mb', '')} | "
              f"{r.get('ratio_to_pymicro-wakeword', '')} | {r.get('ratio_to_openWakeWord', '')} |")


if __name__ == "__main__":
    main()
