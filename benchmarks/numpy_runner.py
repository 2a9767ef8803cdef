"""CPU seconds per hour of audio of each interpreter backend, in one run: ai_edge_litert's pybind interpreter, its
libLiteRt.so through the C API (litert_c, the default) and the numpy interpreter (the portable fallback).

    .venv/bin/python benchmarks/numpy_runner.py [--model hey_ssafy] [--minutes 5] [--repeats 5] [--data ../shared/data]

Audio: real recordings, precise-community-data's 16 kHz WAVs from the real-speech folder, in path order, joined
to --minutes. Figures per backend, start-up excluded: `engine`, the `wakeword detect` path (Engine.detect over the
audio: front end, steps, detector), `steps`, the step model alone (StepModel.process_frames over the front end's
frames, computed once), and the same steps of the model's float32 twin (models/reports/<name>/<name>_float32.yaml),
which tells the cost of float32 weights from that of Python. The backends alternate within each round (these
machines are shared and noisy: only same-run ratios mean much), each in a fresh process of its own (with the pybind
interpreter and libLiteRt.so in one process, the pybind engine path cost 3x its own); medians over --repeats
rounds, each run after a warm-up; process CPU (user+sys, all threads).
Writes benchmarks/results/numpy_runner.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from wakeword import Engine
from wakeword.audio.wav import read_wav
from wakeword.features import StreamingSpectrogram
from wakeword.model.card import bundled_dir

from cpu_per_hour import cpu_model_name  # benchmarks/
from peers.usage import cpu as cpu_seconds  # benchmarks/peers/usage.py

HERE = Path(__file__).resolve().parent
BACKENDS = ("ai_edge_litert", "litert_c", "numpy")
REFERENCE = "ai_edge_litert"


def real_audio(data: Path, minutes: float) -> np.ndarray:
    """precise-community-data's 16 kHz mono WAVs, in path order, joined until `minutes` of audio."""
    want, parts, n = int(minutes * 60 * 16000), [], 0
    for path in sorted((data / "precise-community-data").rglob("*.wav")):
        wav = read_wav(path)
        if wav.sample_rate == 16000 and wav.channels == 1:
            parts.append(wav.samples)
            n += len(parts[-1])
            if n >= want:
                return np.concatenate(parts)[:want]
    sys.exit(f"{data}/precise-community-data: {n / 16000 / 60:.1f} min of 16 kHz mono WAV, {minutes} wanted")


def engine_for(model: str, backend: str) -> Engine:
    os.environ["WAKEWORD_INTERPRETER"] = backend
    try:
        engine = Engine([model])
    finally:
        del os.environ["WAKEWORD_INTERPRETER"]
    assert engine.models[0].backend == backend
    return engine


def one_round(model: str, backend: str, minutes: float, data: str) -> dict[str, float]:
    """In this process (one backend only: two TFLite runtimes in one process slow each other down), after a warm-up:
    CPU seconds of each kind of run, and the number of steps."""
    audio = real_audio(Path(data), minutes)
    engine = engine_for(model, backend)
    twin = engine_for(str(bundled_dir() / "reports" / model / f"{model}_float32.yaml"), backend)
    frames = StreamingSpectrogram(engine.frontend_config).process(audio)

    def run_engine(e: Engine) -> None:
        list(e.detect(audio))

    def run_steps(e: Engine) -> None:
        e.models[0].reset()
        e.models[0].process_frames(frames)

    out = {}
    for kind, which, run in (("engine", engine, run_engine), ("steps", engine, run_steps),
                             ("steps, float32 twin", twin, run_steps)):
        run(which)  # warm-up
        c0 = cpu_seconds()
        run(which)
        out[kind] = cpu_seconds() - c0
    out["steps_count"] = engine.models[0].card.geometry.num_steps(len(frames))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="hey_ssafy")
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", default="../shared/data", help="the real-speech folder (default: ../shared/data)")
    ap.add_argument("--out", default=str(HERE / "results" / "numpy_runner.json"))
    ap.add_argument("--one-round", metavar="BACKEND", help=argparse.SUPPRESS)  # the worker: prints one_round's JSON
    a = ap.parse_args()
    if a.one_round:
        print(json.dumps(one_round(a.model, a.one_round, a.minutes, a.data)))
        return
    seconds = a.minutes * 60
    twin = bundled_dir() / "reports" / a.model / f"{a.model}_float32.yaml"
    kinds = ("engine", "steps", "steps, float32 twin")
    cpu: dict[str, dict[str, list[float]]] = {kind: {b: [] for b in BACKENDS} for kind in kinds}
    for _ in range(a.repeats):  # the backends alternate, each round in fresh processes
        for b in BACKENDS:
            res = json.loads(subprocess.run([sys.executable, __file__, "--one-round", b, "--model", a.model, "--minutes",
                                             str(a.minutes), "--data", a.data], check=True, capture_output=True,
                                            text=True).stdout)
            for kind in kinds:
                cpu[kind][b].append(res[kind])
    n_steps = res["steps_count"]
    results: dict[str, dict] = {}
    for kind, by_backend in cpu.items():
        med = {b: statistics.median(v) for b, v in by_backend.items()}
        results[kind] = {b: {"cpu_seconds_per_hour": round(med[b] * 3600 / seconds, 2),
                             "us_per_step": round(1e6 * med[b] / n_steps, 1),
                             "runs_cpu_s": [round(x, 3) for x in by_backend[b]]} for b in BACKENDS}
        results[kind].update({f"{b}_over_{REFERENCE}": round(med[b] / med[REFERENCE], 2) for b in BACKENDS if b != REFERENCE})
    out = {"machine": {"cpu": cpu_model_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                       "numpy": np.__version__, "date": time.strftime("%Y-%m-%d")},
           "model": a.model, "float32_twin": str(twin.relative_to(bundled_dir().parent)),
           "audio": f"{a.data}/precise-community-data, {seconds / 60:.1f} min", "steps": n_steps,
           "repeats": a.repeats, "results": results}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    others = [b for b in BACKENDS if b != REFERENCE]
    print("| measured | " + " | ".join(f"{b} CPU s/h" for b in BACKENDS) + " | "
          + " | ".join(f"{b} / {REFERENCE}" for b in others) + " |\n|---|" + "---|" * (len(BACKENDS) + len(others)))
    for kind, r in results.items():
        print(f"| {kind} | " + " | ".join(f"{r[b]['cpu_seconds_per_hour']} ({r[b]['us_per_step']} µs/step)" for b in BACKENDS)
              + " | " + " | ".join(str(r[f"{b}_over_{REFERENCE}"]) for b in others) + " |")


if __name__ == "__main__":
    main()
