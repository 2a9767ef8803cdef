"""Pick the TFLite interpreter that works on this platform, and load models with it.

Order (DESIGN.md): `litert_c`, ai_edge_litert's runtime through its C API (litert_c.py: the same kernels without
the package's pybind wrapper, ~6 MB less resident memory) → `ai_edge_litert` (x86_64/aarch64, numpy 1 or 2) →
`tflite_runtime` → `tensorflow.lite` → `numpy`, our own interpreter for the step models' few ops
(numpy_interpreter.py): the portable fallback where no TFLite package installs, as on 32-bit Raspberry Pi OS
(armv7l), and slower than a real interpreter. `litert_c` takes no delegates, so a Flex model skips it, and a model it
fails to load goes to the next candidate. `WAKEWORD_INTERPRETER=<name>` forces one (and only that one). A model that
needs Flex ops runs only with a Flex delegate library the user names; no pip wheel ships one (notes/platform.md), so
without it we refuse early and say why.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import ModelError
from .flatbuffer import FlatBufferError, flex_ops

_CANDIDATES = [
    ("litert_c", f"{__package__}.litert_c"),
    ("ai_edge_litert", "ai_edge_litert.interpreter"),
    ("tflite_runtime", "tflite_runtime.interpreter"),
    ("tensorflow.lite", "tensorflow.lite"),
    ("numpy", f"{__package__}.numpy_interpreter"),
]
NOTES = {"numpy": "portable fallback: the model runs in numpy, slower than a TFLite interpreter",  # for `wakeword info`
         "litert_c": "ai_edge_litert's libLiteRt.so through its C API, without the pybind wrapper"}
NO_DELEGATES = {"litert_c", "numpy"}

FLEX_HELP = ("no pip package ships a Flex delegate: build libtensorflowlite_flex.so "
             "(bazel target //tensorflow/lite/delegates/flex:tensorflowlite_flex) and pass it with "
             "--flex-delegate PATH (config: flex_delegate), or re-export the model with builtin ops only "
             "(`wakeword train` does)")


@dataclass
class Loaded:
    interpreter: Any  # litert_c, ai_edge_litert, tflite_runtime, tf.lite or numpy: the same API, no shared type
    backend: str  # which package provided the interpreter
    flex_ops: set[str]


def _module(preferred: str | None = None, skip: frozenset[str] = frozenset()):
    errors = []
    for name, mod in _CANDIDATES:
        if (preferred and name != preferred) or name in skip:
            continue
        try:
            m = importlib.import_module(mod)
            m.Interpreter  # noqa: B018  (tensorflow.lite exposes it lazily)
            return name, m
        except Exception as e:  # ImportError, or numpy ABI errors from old tflite_runtime wheels
            errors.append(f"{name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    if preferred:  # the numpy fallback always imports, so only a forced choice can fail
        names = ", ".join(name for name, _ in _CANDIDATES)
        raise ModelError(f"WAKEWORD_INTERPRETER={preferred}: " + ("; ".join(errors) if errors else f"not one of {names}")
                         + " (unset it to use the first interpreter that imports)")
    raise ModelError("no interpreter could be imported (" + "; ".join(errors) + ")")


def backend_name() -> str:
    return _module(os.environ.get("WAKEWORD_INTERPRETER"))[0]


_STDERR_LOCK = threading.Lock()  # fd 2 is per process: two threads swapping it at once left it at /dev/null for good


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence native-code chatter on fd 2 (our stderr is for one-line errors and events' status only)."""
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def _load_delegate(mod, path: str):
    """load_delegate with a one-line error; silences the half-built Delegate's noisy __del__ on failure."""
    if not os.path.isfile(path):
        raise ModelError(f"{path}: Flex delegate library not found")
    load = getattr(mod, "load_delegate", None) or importlib.import_module("tensorflow.lite.experimental").load_delegate
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _: None
    try:
        return load(path)
    except Exception as e:  # ValueError/OSError, or AttributeError for a library that is not a delegate
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    finally:
        gc.collect()
        sys.unraisablehook = hook
    raise ModelError(f"{path}: cannot load Flex delegate ({message})")


def load_interpreter(model_path: str | None = None, model_content: bytes | None = None,
                     flex_delegate: str | None = None, num_threads: int = 1) -> Loaded:
    """Create and allocate an interpreter; refuses Flex models without a delegate (ModelError)."""
    label = model_path or "<model bytes>"
    if model_content is None:
        if model_path is None:
            raise ModelError("load_interpreter needs a model path or the model's bytes")
        try:
            with open(model_path, "rb") as f:
                model_content = f.read()
        except OSError as e:
            raise ModelError(f"{label}: cannot read model ({e.strerror})") from None
    try:
        flex = flex_ops(model_content)
    except (FlatBufferError, Exception) as e:  # any parse failure means a corrupted file
        raise ModelError(f"{label}: corrupted or not a TFLite model ({e})") from None
    preferred = os.environ.get("WAKEWORD_INTERPRETER")
    skip: frozenset[str] = frozenset({"litert_c"} if flex and not preferred else ())
    name, mod = _module(preferred, skip)
    delegates = []
    if flex:
        if name in NO_DELEGATES:
            what = "the numpy fallback" if name == "numpy" else f"{name} (it takes no delegates)"
            raise ModelError(f"{label}: needs Flex ops {', '.join(sorted(flex))}, which {what} cannot run; "
                             "install a TFLite interpreter with a Flex delegate, or re-export the model with builtin ops only")
        if not flex_delegate:
            raise ModelError(f"{label}: needs Flex ops {', '.join(sorted(flex))} that {name} cannot run; {FLEX_HELP}")
        delegates = [_load_delegate(mod, flex_delegate)]
    while True:
        try:
            with _quiet_native_stderr():  # the C++ runtime prints "INFO: Created TensorFlow Lite XNNPACK delegate" here
                interp = mod.Interpreter(model_content=model_content, experimental_delegates=delegates or None,
                                         num_threads=num_threads)
                interp.allocate_tensors()
        except (ValueError, RuntimeError, ModelError) as e:  # ModelError: the numpy and litert_c interpreters' refusals
            if name == "litert_c" and not preferred:  # the pybind interpreter may still load it: try the next one
                skip |= {name}
                name, mod = _module(None, skip)
                continue
            raise ModelError(f"{label}: {name} cannot load the model ({str(e).strip().splitlines()[0]})") from None
        return Loaded(interp, name, flex)
