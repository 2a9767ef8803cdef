"""Memory and start-up of the daemon's stdin path, against pymicro-wakeword in the same run (issue 20).

    .venv/bin/python benchmarks/footprint.py [--repeats 5] [--seconds 60]

Each engine runs as its own process fed raw 16 kHz s16 audio on stdin, as `arecord | wakeword run --input -`,
each from a venv holding only what a user installs (benchmarks/peers/venvs.py; the development .venv carries the
editable-install hook and the training extras, ~2 MB more at start-up):
- ours: `wakeword run --input -` with one bundled model and with two, with the default interpreter (litert_c:
  libLiteRt.so's C API through ctypes), with ai_edge_litert's pybind interpreter (WAKEWORD_INTERPRETER=ai_edge_litert)
  and with the numpy step runner (WAKEWORD_INTERPRETER=numpy, the portable fallback);
- pymicro-wakeword 2.5.0's alexa through benchmarks/peers/pymicro_stdin.py (its venv, benchmarks/peers/venvs.py).
Start-up: from spawning the process, with the first 100 ms of audio already in its pipe, to its "receiving audio"
line (the first chunk has gone through the model). Peak RSS: VmHWM after `--seconds` of audio has been written
(the pipe holds 64 KB, so all but the last 2 s are consumed by then; 1 s is allowed for those) while the process
is still alive (a child's ru_maxrss would carry the parent's peak across fork+exec). Medians over `--repeats`.
Writes benchmarks/results/footprint.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from peers import venvs  # benchmarks/peers/venvs.py

HERE = Path(__file__).resolve().parent


def audio(seconds: float) -> bytes:
    """Pink-ish noise with tones, s16 (the engines' memory does not depend on content)."""
    rng = np.random.default_rng(0)
    n = int(seconds * 16000)
    spec = np.fft.rfft(rng.standard_normal(n)) / np.sqrt(np.arange(n // 2 + 1) + 1.0)
    x = np.fft.irfft(spec, n)
    x = 0.1 * x / np.abs(x).max() + 0.05 * np.sin(2 * np.pi * 440 * np.arange(n) / 16000)
    return (x * 32767).astype("<i2").tobytes()


def vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1]) / 1024


def one_run(cmd: list[str], env: dict[str, str], pcm: bytes) -> tuple[float, float]:
    """(start-up s, peak RSS MB) of one process fed `pcm` on stdin."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                         cwd="/")  # not the checkout: its wakeword/ folder must not shadow the installed package
    assert p.stdin is not None and p.stderr is not None
    p.stdin.write(pcm[:3200])
    p.stdin.flush()
    for line in p.stderr:
        if b"receiving audio" in line:
            break
    else:
        raise SystemExit(f"{' '.join(cmd)}: exited without receiving audio (rc {p.wait()})")
    startup = time.perf_counter() - t0
    p.stdin.write(pcm[3200:])
    p.stdin.flush()
    time.sleep(1.0)
    peak = vm_hwm_mb(p.pid)
    p.stdin.close()
    p.stderr.close()
    if p.wait(timeout=60) != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit status {p.returncode}")
    return startup, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()
    pcm = audio(a.seconds)
    base = dict(os.environ)
    run = [str(venvs.ours_runtime().with_name("wakeword")), "run", "--input", "-"]
    engines = {
        "wakeword, 1 model (hey_ssafy)": (run + ["--model", "hey_ssafy"], base),
        "wakeword, 2 models (hey_ssafy, alexa)": (run + ["--model", "hey_ssafy", "--model", "alexa"], base),
        "wakeword, 1 model, pybind interpreter": (run + ["--model", "hey_ssafy"],
                                                  {**base, "WAKEWORD_INTERPRETER": "ai_edge_litert"}),
        "wakeword, 1 model, numpy step runner": (run + ["--model", "hey_ssafy"], {**base, "WAKEWORD_INTERPRETER": "numpy"}),
        "pymicro-wakeword 2.5.0 (alexa)": ([str(venvs.pymicro()), str(HERE / "peers" / "pymicro_stdin.py")], base),
    }
    rows = {name: [] for name in engines}
    for _ in range(a.repeats):  # interleaved, so a noisy minute on this shared machine touches every engine
        for name, (cmd, env) in engines.items():
            rows[name].append(one_run(cmd, env, pcm))
    results = {name: {"startup_s_median": round(statistics.median(r[0] for r in runs), 3),
                      "startup_s_max": round(max(r[0] for r in runs), 3),
                      "peak_rss_mb_median": round(statistics.median(r[1] for r in runs), 1),
                      "runs": [[round(s, 3), round(m, 1)] for s, m in runs]}
               for name, runs in rows.items()}
    out = {"command": "benchmarks/footprint.py " + " ".join(sys.argv[1:]), "audio_seconds": a.seconds,
           "repeats": a.repeats, "engines": results}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "footprint.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"{'engine':42s} {'start-up s':>10s} {'peak RSS MB':>12s}")
    for name, r in results.items():
        print(f"{name:42s} {r['startup_s_median']:10.3f} {r['peak_rss_mb_median']:12.1f}")


if __name__ == "__main__":
    main()
