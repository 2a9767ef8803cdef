"""Threads that carry their name into the OS, so `top -H`, `ps -L` and benchmarks/live.py can tell the
processing, dispatch and MQTT threads apart (Python before 3.14 leaves every thread named "python")."""
from __future__ import annotations

import ctypes
import threading
from typing import Callable

_PR_SET_NAME, _PR_GET_NAME = 15, 16
_libc: ctypes.CDLL | None
try:  # the process's own symbols (libc is linked in): ctypes.util.find_library would import subprocess and tempfile
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.prctl  # noqa: B018  (not Linux: names stay Python-only)
except (OSError, AttributeError):
    _libc = None


def set_os_name(name: str) -> None:
    """Name the calling thread for the OS (first 15 bytes). Threads that C libraries start (PortAudio's
    callback thread) inherit the name of the thread that starts them."""
    if _libc is not None:
        _libc.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def os_name() -> str:
    """The calling thread's OS name ("" where it cannot be read)."""
    if _libc is None:
        return ""
    buf = ctypes.create_string_buffer(16)
    _libc.prctl(_PR_GET_NAME, buf, 0, 0, 0)
    return buf.value.decode(errors="replace")


def start(target: Callable[..., None], name: str, *args: object) -> threading.Thread:
    """Start a daemon thread running target(*args), named `name` for Python and for the OS."""
    def run() -> None:
        set_os_name(name)
        target(*args)

    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    return t
