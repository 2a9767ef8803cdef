"""`wakeword` command line: detect, run, serve, info, devices, train.

Contract (other tools rely on it): detections are JSON lines on stdout, flushed per event; errors are one
line on stderr starting with `wakeword: error:` and a non-zero exit status; never a traceback for bad input.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from . import __version__
from .errors import WakewordError

EXIT_ERROR = 1
EXIT_USAGE = 2


def _err(msg: str) -> None:
    one_line = msg.replace("\r", "\\r").replace("\n", "\\n")  # a newline in a file name must not split it
    print(f"wakeword: error: {one_line}", file=sys.stderr, flush=True)


def _columns() -> int:
    """The terminal's width as `shutil.get_terminal_size()` reads it ($COLUMNS, then stdout's terminal, then 80)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):  # AttributeError: no stdout at all (None), as shutil handles it
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter with the width found without `shutil`. Why: argparse builds a formatter for every
    add_argument, and its default imports shutil for the width, which brings zlib, bz2 and lzma: ~0.7 MB resident
    for the whole life of a daemon that never prints help (issue 20)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose formatter is _Formatter unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def _lean_runtime() -> None:
    """One OpenBLAS thread for the runtime commands (detect, run, serve), set before numpy loads. Why (issue 20):
    OpenBLAS starts a thread per core when numpy loads, and the runtime has no use for them: the step model runs in
    LiteRT, and the numpy fallback's per-step products took the same CPU with one thread as with two (~60 us a step,
    the same outputs). Measured on 2 cores: one thread and ~0.1 MB fewer; a 4-core Pi saves three threads. A
    user's own OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS) still wins."""
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", action="append", metavar="NAME|PATH",
                   help="bundled model name or path to a .tflite with its .yaml card (repeatable; default: every bundled model)")
    p.add_argument("--threshold", "-t", type=float, help="detection threshold (default: the model card's)")
    p.add_argument("--flex-delegate", metavar="PATH", help="libtensorflowlite_flex.so for models that need Flex ops")


def _engine(args):
    from .engine import Engine

    return Engine(args.model, threshold=args.threshold, flex_delegate=args.flex_delegate)


def cmd_detect(args) -> int:
    from .audio.sources import WavSource
    from .sinks.stdout import StdoutSink

    engine, out = _engine(args), StdoutSink()
    failed = 0
    for path in args.files:
        try:
            source = WavSource(path)
            for d in engine.detect(source):
                out.publish(d)
        except WakewordError as e:
            _err(str(e))
            failed += 1
    return EXIT_ERROR if failed else 0


def cmd_run(args) -> int:
    from .daemon import run

    return run(args)


def cmd_serve(args) -> int:
    from .serve.server import run

    return run(args)


def cmd_info(args) -> int:
    from .model.card import ModelCard, list_bundled
    from .model.interpreter import NOTES
    from .model.runner import StepModel

    names = [args.model] if args.model else list_bundled()
    infos: list[dict[str, Any]] = []
    for name in names:
        card = ModelCard.load(name)
        m = StepModel(card, args.flex_delegate)
        it = m.interpreter
        infos.append({
            "name": card.name, "phrase": card.phrase, "version": card.version, "license": card.license,
            "model": str(card.model_path), "card": str(card.card_path), "interpreter": m.backend,
            "flex_ops": sorted(m.flex_ops),
            "inputs": [{"name": d["name"], "shape": [int(v) for v in d["shape"]], "dtype": str(d["dtype"].__name__)}
                       for d in it.get_input_details()],
            "outputs": [{"name": d["name"], "shape": [int(v) for v in d["shape"]], "dtype": str(d["dtype"].__name__)}
                        for d in it.get_output_details()],
            "detector": card.detector, "accuracy": card.raw.get("accuracy"),
        })
    if args.json:
        print(json.dumps(infos if not args.model else infos[0], indent=1))
    else:
        for i in infos:
            note = f" ({NOTES[i['interpreter']]})" if i["interpreter"] in NOTES else ""
            print(f"{i['name']} ({i['phrase']!r}, v{i['version']}, {i['license']})\n  model: {i['model']}"
                  f"\n  interpreter: {i['interpreter']}{note}\n  flex ops: {', '.join(i['flex_ops']) or 'none'}")
            for kind in ("inputs", "outputs"):
                for t in i[kind]:
                    print(f"  {kind[:-1]:6} {t['name']} {t['shape']} {t['dtype']}")
            print(f"  detector: {i['detector']}")
    return 0


def cmd_eval(args) -> int:
    """Recall per SNR, FA/h, DET curve and latency of a model on any directories of clips."""
    import os

    import numpy as np

    from . import evaluation as ev
    from .engine import Engine

    engine = Engine([args.model], flex_delegate=args.flex_delegate)
    model = engine.models[0]
    base = engine.detector_config(model.name)
    positives_raw = [a for _, a in ev.load_clips(args.positives)]
    negatives = [a for _, a in ev.load_clips(args.negatives)] if args.negatives else []
    noise_pool = negatives[:50]
    rng = np.random.default_rng(args.seed)
    positives = {}
    for snr in args.snr or [None]:
        label = "clean" if snr is None else f"{snr:g}db"
        st = ev.positive_stream(positives_raw, snr, noise_pool, rng)
        positives[label] = (ev.probabilities(engine, [st.audio])[model.name], st.spans)
    neg = ev.probabilities(engine, ev.concatenated(negatives))[model.name] if negatives else np.zeros(0)
    hours = len(neg) * model.card.geometry.step_seconds / 3600
    thresholds = sorted(set(ev.THRESHOLDS.tolist()) | {base.threshold})
    curve = ev.sweep(positives, neg, base, model.card.geometry, thresholds)
    at_default = next(r for r in curve if r["threshold"] == base.threshold)
    summary = {"model": model.name, "threshold": base.threshold, "positives": len(positives_raw),
               "negative_hours": round(hours, 3), "false_accepts": at_default["false_accepts"],
               "fa_per_hour": round(at_default["fa_per_hour"], 3) if hours else None,
               **{f"recall_{k}": round(1 - at_default[f"frr_{k}"], 4) for k in positives},
               **{f"latency_{p}_{k}_s": at_default[f"latency_{p}_{k}"] for k in positives for p in ("p50", "p95")}}
    print(json.dumps(summary))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "eval.json"), "w") as f:
            json.dump({"summary": summary, "curve": curve,
                       "positives": args.positives, "negatives": args.negatives}, f, indent=1)
        ev.plot_det(os.path.join(args.out, "det.png"), curve, list(positives), f"{model.name}: DET")
    return 0


def cmd_devices(args) -> int:
    from .audio.microphone import list_input_devices

    devices = list_input_devices()
    if not devices:
        from .audio.microphone import NO_MIC_HELP
        from .errors import AudioError

        raise AudioError(NO_MIC_HELP)
    for d in devices:
        default = "  [default]" if d["default"] else ""
        print(f"{d['index']:3}  {d['name']}  ({d['channels']} ch, {d['default_samplerate']:.0f} Hz){default}")
    return 0


def cmd_train(args) -> int:
    try:
        from .train.pipeline import main as train_main
        import tensorflow  # noqa: F401
    except ImportError as e:
        _err(f"training needs the [train] extra ({e.name} is missing): pip install 'wakeword[train]'")
        return EXIT_ERROR
    return train_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="wakeword", description="On-device wake-word detection (Hey SSAFY).")
    ap.add_argument("--version", action="version", version=f"wakeword {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)  # subcommands are _Parsers too (type(ap))

    p = sub.add_parser("detect", help="detect wake words in WAV files; one JSON line per detection")
    p.add_argument("files", nargs="+", metavar="FILE")
    _add_model_args(p)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("run", help="listen on the microphone (or --input FILE|-) and publish detections")
    p.add_argument("--config", "-c", metavar="FILE", help="YAML config (see systemd/config.example.yaml); flags override it")
    p.add_argument("--input", "-i", metavar="FILE|-", help="WAV file, or - for raw 16-bit mono PCM on stdin")
    p.add_argument("--rate", type=int, help="sample rate of raw stdin input (default 16000)")
    p.add_argument("--device", "-d", help="input device name or index (see `wakeword devices`)")
    p.add_argument("--mqtt-host", metavar="H", help="publish events to this MQTT broker")
    p.add_argument("--mqtt-port", type=int, metavar="P")
    p.add_argument("--site-id", metavar="S", help="site id in topics and payloads (default: default)")
    p.add_argument("--hermes", action="store_true", help="also publish Rhasspy Hermes messages and obey toggleOff/On")
    _add_model_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("serve", help="serve the models to Home Assistant (or any Wyoming client) over the Wyoming protocol")
    p.add_argument("--uri", metavar="URI", help="where to listen: tcp://HOST:PORT or unix://PATH (default: tcp://0.0.0.0:10400)")
    p.add_argument("--zeroconf", nargs="?", const="wakeword", metavar="NAME",
                   help="announce the server over zeroconf (mDNS) as NAME._wyoming._tcp.local. (default name: wakeword)")
    p.add_argument("--config", "-c", metavar="FILE", help="YAML config (models, detector, logging, wyoming); flags override it")
    _add_model_args(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("info", help="show a model's interpreter, tensors, card and Flex ops")
    p.add_argument("model", nargs="?", metavar="MODEL")
    p.add_argument("--json", action="store_true")
    p.add_argument("--flex-delegate", metavar="PATH")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("eval", help="recall, false accepts per hour, DET curve and latency on directories of clips")
    p.add_argument("--model", "-m", required=True, metavar="NAME|PATH")
    p.add_argument("--positives", nargs="+", required=True, metavar="DIR", help="directories of clips of the phrase")
    p.add_argument("--negatives", nargs="+", default=[], metavar="DIR", help="directories of audio without the phrase")
    p.add_argument("--snr", type=float, action="append", metavar="DB", help="mix positives with noise at this SNR (repeatable)")
    p.add_argument("--out", metavar="DIR", help="write eval.json (DET curve) and det.png here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--flex-delegate", metavar="PATH")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("train", help="train a model from a recipe (needs the [train] extra)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_train)
    return ap


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] in (["run"], ["serve"], ["detect"]):
        _lean_runtime()
    if argv is None and sys.argv[1:2] == ["run"]:
        import signal

        # Until the daemon installs its handlers (after numpy and the interpreter load), a SIGHUP has no config to
        # reload yet; by default it would kill the process.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    raw = sys.argv[1:] if argv is None else argv
    if raw[:1] == ["train"]:
        # argparse.REMAINDER does not take a leading option (`wakeword train -h` would be refused), so the
        # training pipeline's own parser gets everything after `train` as is.
        argv, rest = ["train"], raw[1:]
    else:
        rest = None
    args = build_parser().parse_args(argv)
    if rest is not None:
        args.rest = rest
    try:
        return args.func(args)
    except WakewordError as e:
        _err(str(e))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
