"""Run a command under the seccomp filter that a systemd unit's `SystemCallFilter=` and `SystemCallErrorNumber=`
lines describe, built with libseccomp as systemd builds it, so the daemon is tested under its own unit's filter
without systemd as PID 1 (containers, CI).

    python tests/unit_filter.py UNIT -- COMMAND [ARGS...]

Semantics (systemd.exec(5)): the first, non-negated SystemCallFilter= is an allow list; `~` lines take calls out of
it; a call outside the list fails with SystemCallErrorNumber= (an errno name), or kills the process with SIGSYS
when that line is absent. Groups (@system-service, ...) are expanded with `systemd-analyze syscall-filter`.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import os
import subprocess
import sys

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000


def scmp_act_errno(e: int) -> int:
    return 0x00050000 | (e & 0xFFFF)


@functools.cache
def expand(name: str) -> frozenset[str]:
    """A syscall or @group → the syscall names it stands for."""
    if not name.startswith("@"):
        return frozenset({name})
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True, check=True).stdout
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        line = line.strip()
        if line and not line.startswith("#"):
            names |= expand(line)
    return frozenset(names)


def unit_filter(unit_text: str) -> tuple[set[str], int]:
    """(allowed syscall names, action for every other call) of a unit file's text."""
    allowed: set[str] | None = None
    action = SCMP_ACT_KILL_PROCESS
    for line in unit_text.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "SystemCallFilter":
            deny = value.startswith("~")
            names = set().union(*(expand(n) for n in value.lstrip("~").split()))
            if allowed is None:
                if deny:
                    raise SystemExit("unit_filter: deny-list-only filters are not needed here")
                allowed = names
            elif deny:
                allowed -= names
            else:
                allowed |= names
        elif key == "SystemCallErrorNumber":
            action = scmp_act_errno(getattr(errno, value.strip()))
    if allowed is None:
        raise SystemExit("unit_filter: the unit has no SystemCallFilter=")
    return allowed, action


def apply(allowed: set[str], action: int) -> None:
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(action)
    if not ctx:
        raise SystemExit("unit_filter: seccomp_init failed")
    for name in sorted(allowed):
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr >= 0:  # names of other architectures resolve to negative pseudo numbers: not on this machine
            lib.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)
    if lib.seccomp_load(ctx) != 0:
        raise SystemExit("unit_filter: seccomp_load failed")


def main() -> None:
    unit, sep, *command = sys.argv[1:]
    if sep != "--" or not command:
        raise SystemExit(__doc__)
    with open(unit) as f:
        allowed, action = unit_filter(f.read())
    apply(allowed, action)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
