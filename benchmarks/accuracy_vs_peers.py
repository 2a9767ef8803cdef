"""Accuracy side by side with the peer engines, on the very same audio streams (issue 5).

    .venv/bin/python benchmarks/accuracy_vs_peers.py --model alexa --positives DIR... --negatives DIR... \\
        [--snr DB]... [--peers pymicro oww] [--out benchmarks/results/accuracy_alexa]

Streams are built exactly as `wakeword eval` builds them (wakeword.evaluation): one positive stream per SNR
(clips 3-5 s apart, over background made from the negatives and coloured noise; no --snr: clean only), and one
stream of all negatives back to back. Each stream is written once as a 16 kHz mono 16-bit WAV; every engine
reads that same file:
  - ours: Engine([model]) → per-step probabilities (50 steps/s), timed by the card's step geometry;
  - pymicro-wakeword 2.5.0 (microWakeWord, built-in model --pymicro-model, default alexa), in its own venv:
    benchmarks/peers/pymicro_probs.py (10 ms pieces; its sliding-window mean, every 30 ms);
  - openWakeWord (wyoming-openwakeword 1.8.2's streaming and model --oww-model, default alexa_v0.1), in its
    own venv: benchmarks/peers/oww_probs.py (one score every 80 ms).
The venvs are created on first use under .cache/peers/ (benchmarks/peers/venvs.py; PyPI only). The
openWakeWord models are CC BY-NC-SA 4.0: used from that cache for benchmarking only, never copied here.

Every engine's trace goes through the same scoring (wakeword.evaluation.sweep with our TriggerDetector):
hit = an event within [clip start, clip end + 1 s]; false accepts on the negative stream counted with a 4 s
lockout; FA/h divided by the negative stream's length. Our model uses its card's detector settings; the
peers use smoothing 1, patience 1 (their scores are already smoothed / they fire on the first score over the
threshold), refractory 2 s. Default thresholds: ours the card's, pymicro its probability_cutoff, openWakeWord
0.5 (wyoming-openwakeword's default). Reports recall per SNR, FA/h and latency (event time - clip end)
p50/p95 at each engine's default threshold, CPU (process time of each engine's streaming loop), and a DET
curve per engine: det.png (all engines) and accuracy.json in --out. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from wakeword import evaluation as ev
from wakeword.audio.signal import SR
from wakeword.audio.wav import read_wav
from wakeword.detector import DetectorConfig
from wakeword.engine import Engine

from peers import venvs  # benchmarks/peers/venvs.py
from peers.streams import write_stream
from peers.usage import cpu as cpu_seconds  # benchmarks/peers/usage.py

HERE = Path(__file__).resolve().parent

BLOCK = 60 * SR
# Peers saturate near 1: a few thresholds above the usual grid so their DET curves reach low FA/h too.
EXTRA_THRESHOLDS = [0.995, 0.998, 0.999]
PEER_DETECTOR = dict(smoothing=1, patience=1, refractory_s=2.0)


def wav_blocks(path: Path):
    """The WAV as written (s16, read back as float32), in 60 s blocks: our engine sees what the peers see."""
    w = read_wav(path)
    for a in range(0, len(w.raw), BLOCK):
        yield w.to_float(a, a + BLOCK)[:, 0]


# ---- engines: each returns {stream name: (probs, times, step_s)}, default threshold, base config, CPU ------------

def run_ours(model: str, wavs: dict[str, Path]) -> dict:
    engine = Engine([model])
    m = engine.models[0]
    g = m.card.geometry
    traces, cpu = {}, 0.0
    for name, path in wavs.items():
        c0 = cpu_seconds()
        probs = ev.probabilities(engine, wav_blocks(path))[m.name]
        cpu += cpu_seconds() - c0
        traces[name] = (probs, g.step_end_times(len(probs)), g.step_seconds)
    base = engine.detector_config(m.name)
    return {"label": f"ours ({m.name})", "traces": traces, "base": base, "cpu_s": cpu,
            "detector": {k: getattr(base, k) for k in ("threshold", "smoothing", "patience", "refractory_s")}}


def _peer(python: Path, script: str, args_after: list[str], wavs: dict[str, Path], tmp: Path, key: str) -> tuple:
    traces, cpu, thr = {}, 0.0, None
    for name, path in wavs.items():
        out = tmp / f"{Path(script).stem}_{name}.npz"
        r = subprocess.run([str(python), str(HERE / "peers" / script), str(path), str(out), *args_after],
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"{script} failed on {path.name}:\n{r.stderr[-3000:]}")
        d = np.load(out)
        traces[name] = (d["probs"].astype(np.float32), d["times"], float(d["step_s"]))
        cpu += float(d["cpu_s"])
        thr = float(d[key])
    return traces, cpu, thr


def run_pymicro(model: str, wavs: dict[str, Path], tmp: Path) -> dict:
    traces, cpu, cutoff = _peer(venvs.pymicro(), "pymicro_probs.py", [model], wavs, tmp, "cutoff")
    base = DetectorConfig(threshold=cutoff, **PEER_DETECTOR)
    return {"label": f"pymicro-wakeword 2.5.0 ({model})", "traces": traces, "base": base, "cpu_s": cpu,
            "detector": {"threshold": cutoff, **PEER_DETECTOR}}


def run_oww(model: str, wavs: dict[str, Path], tmp: Path) -> dict:
    traces, cpu, thr = _peer(venvs.oww(), "oww_probs.py", ["--model", model], wavs, tmp, "threshold")
    base = DetectorConfig(threshold=thr, **PEER_DETECTOR)
    return {"label": f"openWakeWord / wyoming 1.8.2 ({model})", "traces": traces, "base": base, "cpu_s": cpu,
            "detector": {"threshold": thr, **PEER_DETECTOR}}


# ---- scoring ----------------------------------------------------------------------------------------------------

def score(engine: dict, spans: dict[str, list], seconds: dict[str, float]) -> tuple[list[dict], dict]:
    def trace(name):
        probs, times, step = engine["traces"][name]
        return ev.Trace(probs, times, step, seconds[name])

    positives = {label: (trace(label), sp) for label, sp in spans.items()}
    neg = trace("negatives")
    base = engine["base"]
    thresholds = sorted(set(ev.THRESHOLDS.tolist()) | set(EXTRA_THRESHOLDS) | {base.threshold})
    curve = ev.sweep(positives, neg, base, None, thresholds)
    d = next(r for r in curve if r["threshold"] == base.threshold)
    audio_s = sum(seconds.values())
    summary = {"threshold": base.threshold, "false_accepts": d["false_accepts"], "fa_per_hour": round(d["fa_per_hour"], 3),
               **{f"recall_{k}": round(1 - d[f"frr_{k}"], 4) for k in spans},
               **{f"latency_{p}_{k}_s": None if d[f"latency_{p}_{k}"] is None else round(d[f"latency_{p}_{k}"], 3)
                  for k in spans for p in ("p50", "p95")},
               "cpu_percent_of_one_core": round(100 * engine["cpu_s"] / audio_s, 3)}
    return curve, summary


def plot(path: Path, results: dict, labels: list[str], title: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 5))
    styles = ["-", "--", ":", "-."]
    for i, r in enumerate(results.values()):
        color = f"C{i}"
        fa = [max(row["fa_per_hour"], 0.01) for row in r["curve"]]
        for j, label in enumerate(labels):
            ax.plot(fa, [row[f"frr_{label}"] * 100 for row in r["curve"]], styles[j % len(styles)], marker=".",
                    color=color, label=f"{r['label']}, {label}")
            s = r["summary"]
            ax.plot(max(s["fa_per_hour"], 0.01), (1 - s[f"recall_{label}"]) * 100, "o", ms=9, mfc="none", color=color)
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour (0 drawn at 0.01); circles: default threshold")
    ax.set_ylabel("false-reject rate (%)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"


def table(results: dict, labels: list[str], neg_seconds: float) -> str:
    head = ["engine", "threshold", *[f"recall {k}" for k in labels], f"FA/h (count) on {duration(neg_seconds)}",
            *[f"latency p50/p95 {k} (s)" for k in labels], "CPU % of a core"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def f(x):
        return "-" if x is None else f"{x:.2f}"

    for r in results.values():
        s = r["summary"]
        lines.append("| " + " | ".join([r["label"], f"{s['threshold']:g}",
                                        *[f"{100 * s[f'recall_{k}']:.1f}%" for k in labels],
                                        f"{s['fa_per_hour']:.2f} ({s['false_accepts']})",
                                        *[f"{f(s[f'latency_p50_{k}_s'])} / {f(s[f'latency_p95_{k}_s'])}" for k in labels],
                                        f"{s['cpu_percent_of_one_core']:.2f}"]) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="our model: a bundled name or a card/.tflite path")
    ap.add_argument("--positives", nargs="+", required=True, help="directories of WAV clips of the phrase")
    ap.add_argument("--negatives", nargs="+", required=True, help="directories of WAV clips without it")
    ap.add_argument("--snr", type=float, action="append", help="SNR (dB) of a positive stream; repeatable; none: clean")
    ap.add_argument("--peers", nargs="*", default=["pymicro", "oww"], choices=["pymicro", "oww"])
    ap.add_argument("--pymicro-model", default="alexa", help="built-in pymicro-wakeword model")
    ap.add_argument("--oww-model", default="alexa_v0.1", help="model in wyoming-openwakeword's models folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="default: benchmarks/results/accuracy_<model>")
    ap.add_argument("--keep-wavs", action="store_true", help="also keep the stream WAVs in --out")
    a = ap.parse_args()
    out = Path(a.out or HERE / "results" / f"accuracy_{Path(a.model).stem}")

    pos_clips = [x for _, x in ev.load_clips(a.positives)]
    neg_clips = [x for _, x in ev.load_clips(a.negatives)]
    noise_pool = neg_clips[:50]
    rng = np.random.default_rng(a.seed)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        wavs, spans, seconds = {}, {}, {}
        for snr in a.snr or [None]:
            label = "clean" if snr is None else f"{snr:g}db"
            st = ev.positive_stream(pos_clips, snr, noise_pool, rng)
            wavs[label] = tmp / f"positives_{label}.wav"
            seconds[label] = write_stream(wavs[label], [st.audio])
            spans[label] = st.spans
        wavs["negatives"] = tmp / "negatives.wav"
        seconds["negatives"] = write_stream(wavs["negatives"], ev.concatenated(neg_clips))
        print(f"streams: {len(pos_clips)} positives x {len(spans)} conditions, "
              f"{duration(seconds['negatives'])} of negatives", file=sys.stderr)

        engines = {"ours": run_ours(a.model, wavs)}
        if "pymicro" in a.peers:
            engines["pymicro"] = run_pymicro(a.pymicro_model, wavs, tmp)
        if "oww" in a.peers:
            engines["oww"] = run_oww(a.oww_model, wavs, tmp)
        if a.keep_wavs:
            out.mkdir(parents=True, exist_ok=True)
            for p in wavs.values():
                os.replace(p, out / p.name)

    results = {}
    for name, e in engines.items():
        curve, summary = score(e, spans, seconds)
        results[name] = {"label": e["label"], "detector": e["detector"], "summary": summary, "curve": curve,
                         "cpu_s": round(e["cpu_s"], 3), "steps": {k: len(v[0]) for k, v in e["traces"].items()}}
    labels = list(spans)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"positives": a.positives, "negatives": a.negatives, "positive_clips": len(pos_clips),
           "negative_clips": len(neg_clips), "seconds": {k: round(v, 2) for k, v in seconds.items()},
           "scoring": {"hit_window_after_s": ev.HIT_AFTER_S, "fa_lockout_s": ev.LOCKOUT_S, "seed": a.seed},
           "date": time.strftime("%Y-%m-%d"), "wall_s": round(time.time() - t0, 1), "engines": results}
    (out / "accuracy.json").write_text(json.dumps(doc, indent=1))
    plot(out / "det.png", results, labels, f"DET on the same streams ({len(pos_clips)} positives, "
                                           f"{duration(seconds['negatives'])} of negatives)")
    print(table(results, labels, seconds["negatives"]))
    print(f"\nwritten: {out / 'accuracy.json'}, {out / 'det.png'}")


if __name__ == "__main__":
    main()
