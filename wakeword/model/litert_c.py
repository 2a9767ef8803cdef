"""ai_edge_litert's runtime through its C API (`libLiteRt.so`, ctypes), without the package's pybind wrapper.

Why (issue 20): `ai_edge_litert.interpreter` loads `_pywrap_litert_interpreter_wrapper` and the 18 MB
`libpywrap_litert_common.so`, ~9 MB of resident memory for a runtime whose models are 0.5 MB. The same wheel ships
`libLiteRt.so`, which exports LiteRT's C API (environment, model, compiled model, tensor buffers); driving it from
ctypes runs the same TFLite kernels (XNNPACK on CPU, one thread: TfLiteXNNPackDelegateOptionsDefault) and imports no
part of the `ai_edge_litert` Python package. This module offers the part of TFLite's `Interpreter` API the runtime uses,
as numpy_interpreter.py does, so StepModel drives it unchanged. Measured: `wakeword run --input -` with one model
peaks at ~39 MB resident against ~45 MB with the pybind interpreter; a step costs ~29 µs against ~23 µs
(LiteRtRunCompiledModel's bookkeeping), both negligible beside the audio (benchmarks/RESULTS.md).

ABI: the C declarations below follow LiteRT's litert/c headers of the 2.x line (model creation takes the environment;
`LiteRtRankedTensorType` is 72 bytes: element type, then a 68-byte layout of rank:7 + has_strides:1 bits, 8 dims and
8 strides), checked against ai-edge-litert 2.3.0. Versions outside SUPPORTED are not loaded (ImportError, so interpreter.py falls
back to the pybind interpreter), and every tensor type read back is checked for sanity before use.

Memory and lifetime: each tensor is a 64-byte aligned numpy array that LiteRT uses in place
(LiteRtCreateTensorBufferFromHostMemory, no deallocator): set_tensor copies into it, invoke runs on it, get_tensor
returns a copy. The model bytes, the options, the buffers and their arrays live as long as the Interpreter; `close()`
(or garbage collection) destroys the compiled model first, then the buffers, the model and the options. One LiteRT
environment serves every Interpreter of the process and is never destroyed. One Interpreter must not be used by two
threads at once (as with TFLite's); different Interpreters may run in parallel (ctypes releases the GIL).
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import threading
from typing import Any

import numpy as np

from ..errors import ModelError
from .flatbuffer import model_bytes
from .tensors import copy_input

LIBRARY = "libLiteRt.so"
SUPPORTED = ((2, 3), (3, 0))  # ai-edge-litert versions [from, to) whose C ABI matches the declarations below
_P = ctypes.c_void_p
_SIZE = ctypes.c_size_t
_HW_CPU = 1  # kLiteRtHwAcceleratorCpu
_MAX_RANK = 8
_STATUS = {1: "invalid argument", 2: "memory allocation failure", 3: "runtime failure", 4: "missing input tensor",
           5: "unsupported", 6: "not found", 8: "wrong version", 9: "unknown error", 500: "file I/O error",
           501: "invalid flatbuffer", 502: "dynamic loading error", 504: "compilation error"}
# LiteRtElementType (the TfLiteType values) -> numpy
DTYPES: dict[int, Any] = {1: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_, 7: np.int16, 9: np.int8,
                          10: np.float16, 11: np.float64}


class _Layout(ctypes.Structure):
    _fields_ = [("bits", ctypes.c_uint32),  # rank (low 7 bits), has_strides (bit 7)
                ("dimensions", ctypes.c_int32 * _MAX_RANK), ("strides", ctypes.c_uint32 * _MAX_RANK)]


class _RankedTensorType(ctypes.Structure):
    _fields_ = [("element_type", ctypes.c_int), ("layout", _Layout)]


# name: (restype, argtypes); every function returns a LiteRtStatus (int) unless it is declared void (None)
_FUNCTIONS: dict[str, tuple[Any, list[Any]]] = {
    "LiteRtCreateEnvironment": (ctypes.c_int, [ctypes.c_int, _P, ctypes.POINTER(_P)]),
    "LiteRtCreateModelFromBuffer": (ctypes.c_int, [_P, ctypes.c_char_p, _SIZE, ctypes.POINTER(_P)]),
    "LiteRtDestroyModel": (None, [_P]),
    "LiteRtGetNumModelSignatures": (ctypes.c_int, [_P, ctypes.POINTER(_SIZE)]),
    "LiteRtGetModelSignature": (ctypes.c_int, [_P, _SIZE, ctypes.POINTER(_P)]),
    "LiteRtGetNumSignatureInputs": (ctypes.c_int, [_P, ctypes.POINTER(_SIZE)]),
    "LiteRtGetNumSignatureOutputs": (ctypes.c_int, [_P, ctypes.POINTER(_SIZE)]),
    "LiteRtGetSignatureInputTensorByIndex": (ctypes.c_int, [_P, _SIZE, ctypes.POINTER(_P)]),
    "LiteRtGetSignatureOutputTensorByIndex": (ctypes.c_int, [_P, _SIZE, ctypes.POINTER(_P)]),
    "LiteRtGetTensorName": (ctypes.c_int, [_P, ctypes.POINTER(ctypes.c_char_p)]),
    "LiteRtGetTensorIndex": (ctypes.c_int, [_P, ctypes.POINTER(ctypes.c_uint32)]),
    "LiteRtGetRankedTensorType": (ctypes.c_int, [_P, _P]),
    "LiteRtCreateOptions": (ctypes.c_int, [ctypes.POINTER(_P)]),
    "LiteRtSetOptionsHardwareAccelerators": (ctypes.c_int, [_P, ctypes.c_int]),
    "LiteRtDestroyOptions": (None, [_P]),
    "LiteRtCreateCompiledModel": (ctypes.c_int, [_P, _P, _P, ctypes.POINTER(_P)]),
    "LiteRtDestroyCompiledModel": (None, [_P]),
    "LiteRtCreateTensorBufferFromHostMemory": (ctypes.c_int, [ctypes.POINTER(_RankedTensorType), _P, _SIZE, _P,
                                                              ctypes.POINTER(_P)]),
    "LiteRtDestroyTensorBuffer": (None, [_P]),
    "LiteRtRunCompiledModel": (ctypes.c_int, [_P, _SIZE, _SIZE, _P, _SIZE, _P]),
}


def _package_dir() -> str:
    """ai_edge_litert's folder, found without importing the package (its __init__ is what we avoid paying for)."""
    spec = importlib.util.find_spec("ai_edge_litert")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if os.path.isfile(os.path.join(folder, LIBRARY)):
            return folder
    raise ImportError(f"no ai_edge_litert package with {LIBRARY}")


def _version(package_dir: str) -> tuple[int, ...]:
    """The wheel's version from its .dist-info folder's name (importlib.metadata would cost ~3 MB of memory)."""
    site = os.path.dirname(package_dir)
    for entry in os.listdir(site):
        m = re.fullmatch(r"ai_edge_litert(?:_nightly)?-(\d+)\.(\d+)[^-]*\.dist-info", entry)
        if m:
            return int(m[1]), int(m[2])
    raise ImportError(f"cannot tell the ai-edge-litert version (no .dist-info beside {package_dir})")


def _load() -> ctypes.CDLL:
    folder = _package_dir()
    version = _version(folder)
    (low, high) = SUPPORTED
    if not low <= version < high:
        raise ImportError(f"ai-edge-litert {'.'.join(map(str, version))}: its C ABI is not the one this module "
                          f"declares ({'.'.join(map(str, low))} to before {'.'.join(map(str, high))})")
    try:
        lib = ctypes.CDLL(os.path.join(folder, LIBRARY))
        for name, (restype, argtypes) in _FUNCTIONS.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = restype, argtypes
    except (OSError, AttributeError) as e:  # a library that does not load, or lacks a symbol
        raise ImportError(f"{LIBRARY}: {e}") from None
    return lib


_lib = _load()
_env_lock = threading.Lock()
_env: _P | None = None


def _failure(status: int, what: str) -> str:
    return f"LiteRT C API: {what} failed ({_STATUS.get(status, f'status {status}')})"


def _check(status: int, what: str) -> None:
    if status != 0:
        raise ModelError(_failure(status, what))


def _environment() -> _P:
    """The process's LiteRT environment, created on first use (it registers the CPU accelerator)."""
    global _env
    with _env_lock:
        if _env is None:
            env = _P()
            _check(_lib.LiteRtCreateEnvironment(0, None, ctypes.byref(env)), "creating the environment")
            _env = env
        return _env


def _aligned(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A zeroed C-contiguous array whose data starts on a 64-byte boundary (LITERT_HOST_MEMORY_BUFFER_ALIGNMENT)."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    raw = np.zeros(nbytes + 64, np.uint8)
    start = -raw.ctypes.data % 64
    return raw[start:start + nbytes].view(dtype).reshape(shape)


class Interpreter:
    """The part of TFLite's `Interpreter` the runtime uses, on one compiled model (the model's first signature)."""

    def __init__(self, model_path: str | None = None, model_content: bytes | None = None,
                 experimental_delegates: list | None = None, num_threads: int | None = None) -> None:
        self._compiled = self._model = self._options = None
        self._buffers: list[_P] = []
        model_content = model_bytes(model_path, model_content)
        if experimental_delegates:
            raise ModelError("the LiteRT C API backend takes no delegates")
        self._content = bytes(model_content)  # LiteRT reads it in place: it must outlive the model
        env = _environment()
        model = _P()
        _check(_lib.LiteRtCreateModelFromBuffer(env, self._content, len(self._content), ctypes.byref(model)),
               "reading the model")
        self._model = model
        inputs, outputs = self._signature()
        options = _P()
        _check(_lib.LiteRtCreateOptions(ctypes.byref(options)), "creating options")
        self._options = options
        _check(_lib.LiteRtSetOptionsHardwareAccelerators(options, _HW_CPU), "choosing the CPU")
        compiled = _P()
        _check(_lib.LiteRtCreateCompiledModel(env, model, options, ctypes.byref(compiled)), "compiling the model")
        self._compiled = compiled
        self._arrays: dict[int, np.ndarray] = {}
        self._details: dict[str, list[dict[str, Any]]] = {"inputs": [], "outputs": []}
        for kind, tensors in (("inputs", inputs), ("outputs", outputs)):
            for name, index, ttype, dtype, shape in tensors:
                a = _aligned(shape, dtype)
                buffer = _P()
                _check(_lib.LiteRtCreateTensorBufferFromHostMemory(ctypes.byref(ttype), a.ctypes.data, a.nbytes, None,
                                                                   ctypes.byref(buffer)), f"wrapping tensor {name!r}")
                self._buffers.append(buffer)
                self._arrays[index] = a
                dims = np.array(shape, np.int32)
                self._details[kind].append({"name": name, "index": index, "shape": dims, "shape_signature": dims.copy(),
                                            "dtype": dtype, "quantization": (0.0, 0)})
        self._input_arrays = {d["index"]: self._arrays[d["index"]] for d in self._details["inputs"]}
        n_in = len(inputs)
        self._run_args = (compiled, _SIZE(0), _SIZE(n_in), (_P * n_in)(*self._buffers[:n_in]),
                          _SIZE(len(outputs)), (_P * len(outputs))(*self._buffers[n_in:]))

    def _signature(self) -> tuple[list, list]:
        """(name, tensor index, LiteRtRankedTensorType, numpy dtype, shape) of signature 0's inputs and outputs."""
        count = _SIZE()
        _check(_lib.LiteRtGetNumModelSignatures(self._model, ctypes.byref(count)), "reading signatures")
        if count.value < 1:
            raise ModelError("the model has no signature")
        sig = _P()
        _check(_lib.LiteRtGetModelSignature(self._model, 0, ctypes.byref(sig)), "reading the signature")
        found = []
        for kind in ("Input", "Output"):
            _check(getattr(_lib, f"LiteRtGetNumSignature{kind}s")(sig, ctypes.byref(count)), f"counting {kind.lower()}s")
            tensors = []
            for i in range(count.value):
                t, name, index = _P(), ctypes.c_char_p(), ctypes.c_uint32()
                _check(getattr(_lib, f"LiteRtGetSignature{kind}TensorByIndex")(sig, i, ctypes.byref(t)),
                       f"reading {kind.lower()} {i}")
                _check(_lib.LiteRtGetTensorName(t, ctypes.byref(name)), "reading a tensor name")
                _check(_lib.LiteRtGetTensorIndex(t, ctypes.byref(index)), "reading a tensor index")
                label = (name.value or b"").decode("utf-8", "replace")
                ttype, dtype, shape = _tensor_type(t, label)
                tensors.append((label, int(index.value), ttype, dtype, shape))
            found.append(tensors)
        return found[0], found[1]

    def allocate_tensors(self) -> None:
        """Nothing to do: every tensor is allocated at load (the shapes are static)."""

    def get_input_details(self) -> list[dict[str, Any]]:
        return [dict(d) for d in self._details["inputs"]]

    def get_output_details(self) -> list[dict[str, Any]]:
        return [dict(d) for d in self._details["outputs"]]

    def set_tensor(self, tensor_index: int, value: np.ndarray) -> None:
        copy_input(self._input_arrays.get(tensor_index), tensor_index, value)

    def invoke(self) -> None:
        status = _lib.LiteRtRunCompiledModel(*self._run_args)
        if status != 0:
            raise RuntimeError(_failure(status, "running the model"))

    def get_tensor(self, tensor_index: int) -> np.ndarray:
        """A copy, as TFLite returns: the arrays are reused by the next invoke."""
        return self._arrays[tensor_index].copy()

    def close(self) -> None:
        """Release LiteRT's objects (idempotent); the compiled model goes first, as it uses the others."""
        if _lib is None:  # interpreter shutdown: the module's globals are gone, and so is the process's memory
            return
        if self._compiled is not None:
            _lib.LiteRtDestroyCompiledModel(self._compiled)
            self._compiled = None
        while self._buffers:
            _lib.LiteRtDestroyTensorBuffer(self._buffers.pop())
        if self._model is not None:
            _lib.LiteRtDestroyModel(self._model)
            self._model = None
        if self._options is not None:
            _lib.LiteRtDestroyOptions(self._options)
            self._options = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001  (never raise from a finalizer)
            pass


def _tensor_type(tensor: _P, label: str) -> tuple[_RankedTensorType, Any, tuple[int, ...]]:
    """The tensor's ranked type, checked: a layout that makes no sense means an ABI we do not know (ModelError)."""
    room = (ctypes.c_ubyte * 256)(*([0xA5] * 256))  # room to spare, and a canary after the 72 bytes we expect
    _check(_lib.LiteRtGetRankedTensorType(tensor, room), f"reading the type of tensor {label!r}")
    t = _RankedTensorType.from_buffer_copy(room)
    rank, has_strides = t.layout.bits & 0x7F, bool(t.layout.bits & 0x80)
    dims = tuple(int(v) for v in t.layout.dimensions[:rank])
    if (any(b != 0xA5 for b in room[ctypes.sizeof(_RankedTensorType):]) or t.layout.bits >> 8 or rank > _MAX_RANK
            or t.element_type not in DTYPES):
        raise ModelError(f"tensor {label!r}: LiteRT returned a tensor type this module cannot read "
                         f"(element type {t.element_type}, layout word {t.layout.bits:#x}): a different C ABI")
    if has_strides or any(d < 1 for d in dims):
        raise ModelError(f"tensor {label!r}: dynamic or strided shape {list(dims)}, which this backend does not run")
    return t, DTYPES[t.element_type], dims
