"""Threads that carry their name into the OS, so `top -H`, `ps -L` and benchmarks/live.py can tell the
processing, dispatch and MQTT threads apart (Python before 3.14 leaves every thread named "python")."""
from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Callable

_PR_SET_NAME = 15
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
except OSError:  # not Linux/glibc: names stay Python-only
    _libc = None


def start(target: Callable[..., None], name: str, *args: object) -> threading.Thread:
    """Start a daemon thread running target(*args), named `name` for Python and (first 15 bytes) for the OS."""
    def run() -> None:
        if _libc is not None:
            _libc.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
        target(*args)

    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    return t
