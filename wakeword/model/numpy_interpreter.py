"""A TFLite interpreter in numpy, for platforms where no TFLite package installs (32-bit Raspberry Pi OS).

It runs the builtin ops our exported step models are made of (`KERNELS`), reading the graph and the weights from the
.tflite file itself (flatbuffer.py), and offers the part of TFLite's `Interpreter` API the runtime uses, so StepModel
drives it unchanged. A model with any other op is refused at load, naming the op. It imports only numpy and the
standard library.

Dynamic-range int8 weights are dequantized once at load and every op computes in float32. TFLite's hybrid kernels
instead quantize each activation to int8 on the fly, so the two differ by that rounding (tests/test_numpy_runner.py
measures it on the shipped models).

Speed: at these sizes (a 128-unit GRU step) the arithmetic takes microseconds and Python's per-call overhead is what
costs. So, as TFLite does, tensors are allocated once: every activation gets a fixed C-contiguous array and every op is
compiled to numpy calls with their arrays bound (ufuncs writing into their output, passed positionally: the `out=`
keyword costs half as much again), so `invoke()` is a loop over ~50 C calls with no allocation and no lookups. SPLIT and
RESHAPE become views of their input and cost nothing per step. Constants are 0-d arrays, not numpy scalars, for the
same reason.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ..errors import ModelError
from .flatbuffer import BUILTIN_NAMES, FlatBufferError, Graph, Operator, Tensor, model_bytes, read_graph
from .tensors import copy_input

DTYPES: dict[int, Any] = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8, 10: np.float64}
Step = Callable[[], object]


def _scalar(value: float) -> np.ndarray:
    """A 0-d float32 array: a ufunc takes it faster than a numpy or Python scalar, which it must convert each call."""
    return np.array(value, np.float32)


class _Builder:
    """Allocates the graph's arrays and compiles its ops, in execution order (TFLite's order is topological)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.arrays: dict[int, np.ndarray] = {}
        for i in graph.inputs:
            self.output(i)

    def _tensor(self, i: int) -> Tensor:
        return self.graph.tensors[i]

    def is_const(self, i: int) -> bool:
        return self._tensor(i).data is not None

    def array(self, i: int) -> np.ndarray:
        """The array bound to tensor `i`: a constant (dequantized to float32 if quantized) or an earlier op's output."""
        if i in self.arrays:
            return self.arrays[i]
        t = self._tensor(i)
        if t.data is None:
            raise ModelError(f"tensor {t.name!r} is read before any op writes it")
        if t.type not in DTYPES:
            raise ModelError(f"constant {t.name!r} has TensorType {t.type}, which the numpy interpreter does not read")
        a = np.frombuffer(t.data, np.dtype(DTYPES[t.type]).newbyteorder("<")).reshape(t.shape)
        if t.scale:  # dynamic-range weights: q * scale, one scale per tensor or per channel of quantized_dimension
            shape = [1] * a.ndim
            if len(t.scale) > 1:
                shape[t.quantized_dimension] = len(t.scale)
            scale = np.asarray(t.scale, np.float32).reshape(shape)
            zero = np.asarray(t.zero_point or [0], np.float32).reshape(shape if len(t.zero_point) > 1 else [1] * a.ndim)
            a = (a.astype(np.float32) - zero) * scale
        self.arrays[i] = a = np.array(a, DTYPES[t.type] if not t.scale else np.float32)  # owned, aligned, native order
        return a

    def output(self, i: int) -> np.ndarray:
        """A fresh array for an op's output (or a graph input): activations are float32."""
        t = self._tensor(i)
        if t.type != 0 or t.scale:
            what = "quantized " if t.scale else ""
            raise ModelError(f"tensor {t.name!r} is a {what}{np.dtype(DTYPES.get(t.type, np.void)).name} activation; "
                             "the numpy interpreter computes in float32 (fully quantized models need a TFLite interpreter)")
        self.arrays[i] = a = np.zeros(t.shape, np.float32)
        return a

    def alias(self, i: int, view: np.ndarray) -> None:
        """Bind tensor `i` to a view of another tensor's array (SPLIT, RESHAPE): free at invoke time."""
        t = self._tensor(i)
        if tuple(view.shape) != t.shape:
            raise ModelError(f"tensor {t.name!r}: the model says shape {list(t.shape)}, its op gives {list(view.shape)}")
        self.arrays[i] = view


def _activation(op: Operator, out: np.ndarray) -> list[Step]:
    """The fused activation (options field 0 of FULLY_CONNECTED, ADD, SUB, MUL), applied in place."""
    code = int(op.options.scalar(0, "b")) if op.options else 0
    if code == 0:
        return []
    if code == 1:
        return [partial(np.maximum, out, _scalar(0), out=out)]  # numpy 2.4 deprecates its positional out
    if code in (2, 3):  # RELU_N1_TO_1, RELU6
        lo, hi = (-1.0, 1.0) if code == 2 else (0.0, 6.0)
        return [partial(np.clip, out, _scalar(lo), _scalar(hi), out)]
    if code == 4:
        return [partial(np.tanh, out, out)]
    raise ModelError(f"{op.name} with fused activation {code} is not supported by the numpy interpreter")


def _fully_connected(b: _Builder, op: Operator) -> list[Step]:
    """y = x W^T + bias over the last axis. W is transposed (and dequantized) once, at load.

    np.dot of a vector (one row, the streaming case) calls BLAS with less overhead than matmul: 1 µs of the 2 a
    128x1 product takes, and ~15 % of a 128x384 one.
    """
    if op.options and op.options.scalar(1, "b"):  # weights_format: a kernel-specific shuffled int8 layout
        raise ModelError("FULLY_CONNECTED with shuffled weights is not supported by the numpy interpreter")
    x, w, out = b.array(op.inputs[0]), b.array(op.inputs[1]), b.output(op.outputs[0])
    units, depth = w.shape
    wt = np.ascontiguousarray(w.T) if b.is_const(op.inputs[1]) else w.T
    rows = x.size // depth
    shape_in, shape_out = ((depth,), (units,)) if rows == 1 else ((rows, depth), (rows, units))
    x2, out2 = x.reshape(shape_in), out.reshape(shape_out)  # views: every array here is C-contiguous
    steps: list[Step] = [partial(np.dot, x2, wt, out2)]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        steps.append(partial(np.add, out2, b.array(op.inputs[2]), out2))
    return steps + _activation(op, out)


def _split(b: _Builder, op: Operator) -> list[Step]:
    """Equal parts along a constant axis; contiguous parts are views, others are copied to keep arrays contiguous."""
    if not b.is_const(op.inputs[0]):
        raise ModelError("SPLIT with a computed axis is not supported by the numpy interpreter")
    x = b.array(op.inputs[1])
    steps: list[Step] = []
    for i, part in zip(op.outputs, np.split(x, len(op.outputs), axis=int(b.array(op.inputs[0])))):
        if part.flags.c_contiguous:
            b.alias(i, part)
        else:
            steps.append(partial(np.copyto, b.output(i), part))
    return steps


def _reshape(b: _Builder, op: Operator) -> list[Step]:
    """To the output tensor's static shape, as a view (the input is C-contiguous)."""
    b.alias(op.outputs[0], b.array(op.inputs[0]).reshape(b.graph.tensors[op.outputs[0]].shape))
    return []


def _binary(ufunc: np.ufunc) -> Callable[[_Builder, Operator], list[Step]]:
    def build(b: _Builder, op: Operator) -> list[Step]:
        x, y, out = b.array(op.inputs[0]), b.array(op.inputs[1]), b.output(op.outputs[0])
        if np.broadcast_shapes(x.shape, y.shape) != out.shape:
            raise ModelError(f"{op.name}: shapes {list(x.shape)} and {list(y.shape)} do not give {list(out.shape)}")
        return [partial(ufunc, x, y, out)] + _activation(op, out)
    return build


def _logistic(b: _Builder, op: Operator) -> list[Step]:
    """1 / (1 + e^-x) as 0.5 + 0.5 tanh(x / 2): the same function, without exp's overflow for very negative x."""
    x, out, half = b.array(op.inputs[0]), b.output(op.outputs[0]), _scalar(0.5)
    return [partial(np.multiply, x, half, out), partial(np.tanh, out, out), partial(np.multiply, out, half, out),
            partial(np.add, out, half, out)]


def _tanh(b: _Builder, op: Operator) -> list[Step]:
    return [partial(np.tanh, b.array(op.inputs[0]), b.output(op.outputs[0]))]


KERNELS: dict[int, Callable[[_Builder, Operator], list[Step]]] = {
    BUILTIN_NAMES.index("ADD"): _binary(np.add), BUILTIN_NAMES.index("SUB"): _binary(np.subtract),
    BUILTIN_NAMES.index("MUL"): _binary(np.multiply), BUILTIN_NAMES.index("FULLY_CONNECTED"): _fully_connected,
    BUILTIN_NAMES.index("SPLIT"): _split, BUILTIN_NAMES.index("RESHAPE"): _reshape,
    BUILTIN_NAMES.index("LOGISTIC"): _logistic, BUILTIN_NAMES.index("TANH"): _tanh,
}
SUPPORTED = sorted(BUILTIN_NAMES[c] for c in KERNELS)


def compile_graph(graph: Graph) -> tuple[list[Step], dict[int, np.ndarray]]:
    """(the calls one invoke makes, in order; every tensor's array). Refuses, naming them, ops it has no kernel for."""
    unknown = sorted({op.name for op in graph.operators if op.custom is not None or op.code not in KERNELS})
    if unknown:
        raise ModelError(f"op{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} not supported by the numpy "
                         f"interpreter (it runs {', '.join(SUPPORTED)}); install a TFLite interpreter to run this model")
    b = _Builder(graph)
    plan = [step for op in graph.operators for step in KERNELS[op.code](b, op)]
    for i in graph.outputs:
        b.array(i)
    return plan, b.arrays


class Interpreter:
    """The part of TFLite's `Interpreter` the runtime uses; tensors are allocated at load (the shapes are static)."""

    def __init__(self, model_path: str | None = None, model_content: bytes | None = None,
                 experimental_delegates: list | None = None, num_threads: int | None = None) -> None:
        model_content = model_bytes(model_path, model_content)
        if experimental_delegates:
            raise ModelError("the numpy interpreter takes no delegates")
        try:
            graph = read_graph(model_content)
        except (FlatBufferError, struct.error) as e:
            raise ModelError(f"corrupted or not a TFLite model ({e})") from None
        self._graph = graph
        self._plan, self._arrays = compile_graph(graph)
        self._inputs = {i: self._arrays[i] for i in graph.inputs}

    def allocate_tensors(self) -> None:
        """Nothing to do: compile_graph allocated every tensor at load."""

    def _details(self, indices: tuple[int, ...]) -> list[dict[str, Any]]:
        out = []
        for i in indices:
            t = self._graph.tensors[i]
            shape = np.array(t.shape, np.int32)
            out.append({"name": t.name, "index": i, "shape": shape, "shape_signature": shape.copy(),
                        "dtype": DTYPES[t.type], "quantization": (0.0, 0)})
        return out

    def get_input_details(self) -> list[dict[str, Any]]:
        return self._details(self._graph.inputs)

    def get_output_details(self) -> list[dict[str, Any]]:
        return self._details(self._graph.outputs)

    def set_tensor(self, tensor_index: int, value: np.ndarray) -> None:
        copy_input(self._inputs.get(tensor_index), tensor_index, value)

    def invoke(self) -> None:
        for step in self._plan:
            step()

    def get_tensor(self, tensor_index: int) -> np.ndarray:
        """A copy, as TFLite returns: the arrays are reused by the next invoke."""
        return self._arrays[tensor_index].copy()
