"""Read a .tflite file's operator codes without TensorFlow.

Why: the runtime must say *before* allocating tensors whether a model needs Flex (SELECT_TF_OPS) ops,
and name them; interpreters only fail late with a generic message. A TFLite file is a FlatBuffer whose
root `Model` table has `operator_codes` (field 1); each `OperatorCode` has `deprecated_builtin_code`
(field 0, int8), `custom_code` (field 1, string) and `builtin_code` (field 3, int32).
"""
from __future__ import annotations

import struct

CUSTOM = 32  # BuiltinOperator.CUSTOM


class FlatBufferError(ValueError):
    pass


def _u32(buf: bytes, pos: int) -> int:
    if pos < 0 or pos + 4 > len(buf):
        raise FlatBufferError("offset outside the file")
    return struct.unpack_from("<I", buf, pos)[0]


def _field(buf: bytes, table: int, index: int) -> int | None:
    """Absolute position of a table field, or None when absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    if vtable < 0 or vtable + 4 > len(buf):
        raise FlatBufferError("bad vtable")
    vsize = struct.unpack_from("<H", buf, vtable)[0]
    slot = 4 + 2 * index
    if slot + 2 > vsize:
        return None
    off = struct.unpack_from("<H", buf, vtable + slot)[0]
    return table + off if off else None


def _deref(buf: bytes, pos: int) -> int:
    return pos + _u32(buf, pos)


def operator_codes(buf: bytes) -> list[tuple[int, str | None]]:
    """[(builtin_code, custom_code or None)] of every operator code in the model."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise FlatBufferError("not a TFLite model (missing TFL3 identifier)")
    model = _deref(buf, 0)
    f = _field(buf, model, 1)
    if f is None:
        return []
    vec = _deref(buf, f)
    out = []
    for i in range(_u32(buf, vec)):
        op = _deref(buf, vec + 4 + 4 * i)
        code = 0
        p = _field(buf, op, 3)
        if p is not None:
            code = struct.unpack_from("<i", buf, p)[0]
        p0 = _field(buf, op, 0)
        if p0 is not None:
            code = max(code, struct.unpack_from("<b", buf, p0)[0])
        custom = None
        p = _field(buf, op, 1)
        if p is not None:
            s = _deref(buf, p)
            n = _u32(buf, s)
            if s + 4 + n > len(buf):
                raise FlatBufferError("string outside the file")
            custom = bytes(buf[s + 4:s + 4 + n]).decode("utf-8", "replace")
        out.append((code, custom))
    return out


def flex_ops(buf: bytes) -> set[str]:
    """Names of the Flex (SELECT_TF_OPS) custom ops a model needs."""
    return {c for code, c in operator_codes(buf) if code == CUSTOM and c and c.startswith("Flex")}
