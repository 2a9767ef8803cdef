"""systemd notifications (READY=1, WATCHDOG=1, STOPPING=1) without libsystemd.

The protocol is one datagram per message to the socket named by $NOTIFY_SOCKET (a path, or '@name' for
the abstract namespace). Outside systemd the variable is unset and every call is a no-op.
"""
from __future__ import annotations

import os


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        self.address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self._sock = None
        if self.address:
            import socket  # only under systemd: the module and its selectors cost ~0.5 MB resident (issue 20)

            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            if self.address.startswith("@"):
                self.address = "\0" + self.address[1:]

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, message: str) -> None:
        if self._sock is not None and self.address:
            try:
                self._sock.sendto(message.encode(), self.address)
            except OSError:
                pass  # systemd went away: nothing useful to do

    def watchdog_interval(self) -> float | None:
        """Half the watchdog period systemd asked for (seconds), or None when no watchdog is set."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        return int(usec) / 2e6
