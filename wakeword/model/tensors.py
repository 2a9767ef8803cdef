"""What the numpy and the LiteRT C API interpreters share, in a module of its own: litert_c (the default) then
loads no part of the numpy interpreter (~0.1 MB resident, issue 20)."""
from __future__ import annotations

import numpy as np


def copy_input(a: np.ndarray | None, tensor_index: int, value: np.ndarray) -> None:
    """set_tensor: copy `value` into input array `a` (None: the tensor is not an input); like TFLite, the shape and
    dtype must match exactly (ValueError)."""
    if a is None:
        raise ValueError(f"tensor {tensor_index} is not an input of the model")
    if type(value) is not np.ndarray:
        value = np.asarray(value)
    if value.shape != a.shape or value.dtype != a.dtype:
        raise ValueError(f"cannot set tensor {tensor_index}: got {value.dtype} {list(value.shape)}, "
                         f"expected {a.dtype} {list(a.shape)}")
    np.copyto(a, value)
