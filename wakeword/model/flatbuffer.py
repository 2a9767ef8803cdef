"""Read a .tflite file without TensorFlow: its operator codes, and the graph the numpy interpreter runs.

Why: the runtime must say *before* allocating tensors whether a model needs Flex (SELECT_TF_OPS) ops,
and name them; interpreters only fail late with a generic message. And where no TFLite interpreter
installs (32-bit Raspberry Pi OS), numpy_interpreter.py runs the graph read here.

A TFLite file is a FlatBuffer (tensorflow/lite/schema/schema.fbs): tables reached through 32-bit offsets,
each with a vtable of field positions. The fields read, by index: Model: operator_codes 1, subgraphs 2,
buffers 4. OperatorCode: deprecated_builtin_code 0 (int8), custom_code 1, builtin_code 3 (int32).
SubGraph: tensors 0, inputs 1, outputs 2, operators 3. Tensor: shape 0, type 1, buffer 2, name 3,
quantization 4. QuantizationParameters: scale 2, zero_point 3, quantized_dimension 6. Operator:
opcode_index 0, inputs 1, outputs 2, builtin_options 4 (a table whose fields depend on the op).
Buffer: data 0, or offset 1 and size 2 (data stored after the FlatBuffer, in models over 2 GB).
This module needs only the standard library (the runtime's portable path imports it).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

CUSTOM = 32  # BuiltinOperator.CUSTOM

# BuiltinOperator names by code (schema.fbs, codes 0-161; later codes are named by number).
BUILTIN_NAMES = """
ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE EMBEDDING_LOOKUP FLOOR
FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM
MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS
SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND
TRANSPOSE MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT
LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL
LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW
ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV
REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS
SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG
ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM
BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS HASHTABLE
HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE
BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1
UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN
""".split()


class FlatBufferError(ValueError):
    pass


class Table:
    """One FlatBuffer table: fields by vtable index, every read checked against the file's end."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos
        if pos < 0 or pos + 4 > len(buf):
            raise FlatBufferError("table outside the file")
        vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        if vtable < 0 or vtable + 4 > len(buf):
            raise FlatBufferError("bad vtable")
        self._vtable, self._vsize = vtable, struct.unpack_from("<H", buf, vtable)[0]

    def field(self, index: int) -> int | None:
        """Absolute position of a field, or None when absent (the schema's default applies)."""
        slot = 4 + 2 * index
        if slot + 2 > self._vsize:
            return None
        off = struct.unpack_from("<H", self.buf, self._vtable + slot)[0]
        return self.pos + off if off else None

    def scalar(self, index: int, fmt: str, default: int | float = 0) -> int | float:
        p = self.field(index)
        if p is None:
            return default
        _check(self.buf, p, struct.calcsize(fmt))
        return struct.unpack_from("<" + fmt, self.buf, p)[0]

    def table(self, index: int) -> Table | None:
        p = self.field(index)
        return None if p is None else Table(self.buf, _deref(self.buf, p))

    def _vector(self, index: int, item_size: int) -> tuple[int, int]:
        """(start, length) of a vector field; (0, 0) when absent."""
        p = self.field(index)
        if p is None:
            return 0, 0
        v = _deref(self.buf, p)
        n = _u32(self.buf, v)
        _check(self.buf, v + 4, n * item_size)
        return v + 4, n

    def scalars(self, index: int, fmt: str) -> tuple:
        start, n = self._vector(index, struct.calcsize(fmt))
        return struct.unpack_from(f"<{n}{fmt}", self.buf, start) if n else ()

    def raw(self, index: int) -> memoryview:
        start, n = self._vector(index, 1)
        return memoryview(self.buf)[start:start + n]

    def string(self, index: int) -> str | None:
        return None if self.field(index) is None else bytes(self.raw(index)).decode("utf-8", "replace")

    def tables(self, index: int) -> list[Table]:
        start, n = self._vector(index, 4)
        return [Table(self.buf, _deref(self.buf, start + 4 * i)) for i in range(n)]


def _check(buf: bytes, pos: int, size: int) -> None:
    if pos < 0 or pos + size > len(buf):
        raise FlatBufferError("offset outside the file")


def _u32(buf: bytes, pos: int) -> int:
    _check(buf, pos, 4)
    return struct.unpack_from("<I", buf, pos)[0]


def _deref(buf: bytes, pos: int) -> int:
    return pos + _u32(buf, pos)


def _model(buf: bytes) -> Table:
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise FlatBufferError("not a TFLite model (missing TFL3 identifier)")
    return Table(buf, _deref(buf, 0))


def _code(op: Table) -> tuple[int, str | None]:
    """An OperatorCode's (builtin code, custom code): builtin_code, or the deprecated int8 field of older files."""
    return max(int(op.scalar(3, "i")), int(op.scalar(0, "b"))), op.string(1)


def operator_codes(buf: bytes) -> list[tuple[int, str | None]]:
    """[(builtin_code, custom_code or None)] of every operator code in the model."""
    return [_code(op) for op in _model(buf).tables(1)]


def flex_ops(buf: bytes) -> set[str]:
    """Names of the Flex (SELECT_TF_OPS) custom ops a model needs."""
    return {c for code, c in operator_codes(buf) if code == CUSTOM and c and c.startswith("Flex")}


def op_name(code: int, custom: str | None = None) -> str:
    if code == CUSTOM and custom:
        return custom
    return BUILTIN_NAMES[code] if 0 <= code < len(BUILTIN_NAMES) else f"builtin op {code}"


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    type: int  # TensorType: FLOAT32 0, INT32 2, UINT8 3, INT64 4, INT16 7, INT8 9, ...
    data: memoryview | None  # a constant's little-endian bytes; None for inputs and activations
    scale: tuple[float, ...]  # quantization: one scale per tensor or per channel, empty when not quantized
    zero_point: tuple[int, ...]
    quantized_dimension: int


@dataclass
class Operator:
    code: int
    custom: str | None
    inputs: tuple[int, ...]  # tensor indices, -1 for an omitted optional input
    outputs: tuple[int, ...]
    options: Table | None  # builtin options; which fields it has depends on the op

    @property
    def name(self) -> str:
        return op_name(self.code, self.custom)


@dataclass
class Graph:
    """The main subgraph of a model: tensors, the graph's inputs and outputs, and operators in execution order."""

    tensors: list[Tensor]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    operators: list[Operator]


def read_graph(buf: bytes) -> Graph:
    """The first subgraph (the one TFLite runs) of a .tflite file, with constant data as views into `buf`."""
    model = _model(buf)
    codes = [_code(op) for op in model.tables(1)]
    subgraphs = model.tables(2)
    if not subgraphs:
        raise FlatBufferError("the model has no subgraph")
    buffers = []
    for b in model.tables(4):
        offset, size = int(b.scalar(1, "Q")), int(b.scalar(2, "Q"))
        if offset > 1:
            _check(buf, offset, size)
            buffers.append(memoryview(buf)[offset:offset + size])
        else:
            buffers.append(b.raw(0))
    sg = subgraphs[0]
    tensors = []
    for t in sg.tables(0):
        q = t.table(4)
        index = int(t.scalar(2, "I"))
        if index >= len(buffers):
            raise FlatBufferError(f"tensor buffer {index} outside the model's {len(buffers)} buffers")
        data = buffers[index] if index and len(buffers[index]) else None
        tensors.append(Tensor(t.string(3) or "", tuple(t.scalars(0, "i")), int(t.scalar(1, "b")), data,
                              q.scalars(2, "f") if q else (), q.scalars(3, "q") if q else (),
                              int(q.scalar(6, "i")) if q else 0))
    operators = []
    for op in sg.tables(3):
        index = int(op.scalar(0, "I"))
        if index >= len(codes):
            raise FlatBufferError(f"operator code {index} outside the model's {len(codes)} codes")
        operators.append(Operator(*codes[index], op.scalars(1, "i"), op.scalars(2, "i"), op.table(4)))
    return Graph(tensors, sg.scalars(1, "i"), sg.scalars(2, "i"), operators)


def model_bytes(model_path: str | None, model_content: bytes | None) -> bytes:
    """The model as the Interpreter constructors take it: its bytes, or the file at `model_path`."""
    if model_content is None:
        if model_path is None:
            raise ValueError("Interpreter needs model_path or model_content")
        with open(model_path, "rb") as f:
            model_content = f.read()
    return model_content
