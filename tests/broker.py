"""Test rig: a private mosquitto broker on a free loopback port (notes/test-rig.md).

    with mosquitto() as broker:        # broker.port; broker.stop() / broker.start() / broker.restart()
        ...

Started from a config file of our own (`listener PORT 127.0.0.1`, `allow_anonymous true`, `log_dest stderr`,
`persistence false`), stopped by PID, never by name. `stop()`/`start()` keep the same config and port, for
fault tests. With `persistence=True` the broker saves its state to a private directory when stopped and
reloads it when started again, so a subscriber's persistent session (clean_session=False) survives a
restart: a test can then check delivery across a broker restart without racing the publisher's reconnect.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, persistence: bool = False) -> None:
        if not os.path.exists(MOSQUITTO):
            raise RuntimeError("mosquitto missing: run script/setup --dev (apt-get install mosquitto)")
        self.dir = tempfile.mkdtemp(prefix="wakeword-mosquitto-")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "log_dest stderr",
                 # as root, mosquitto would switch to user 'mosquitto', who cannot write our private directory
                 f"user {pwd.getpwuid(os.geteuid()).pw_name}"]
        if persistence:
            lines += ["persistence true", f"persistence_location {self.dir}/", "autosave_interval 0"]
        else:
            lines.append("persistence false")
        with open(self.conf, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    def start(self, timeout: float = 10.0) -> None:
        assert not self.running, "broker already running"
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log()[-600:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"mosquitto did not listen on 127.0.0.1:{self.port}: {self.log()[-600:]}")
                time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM by PID (a persistent broker saves its state), SIGKILL if it does not exit within 5 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def mosquitto(persistence: bool = False):
    """A running broker for the `with` block; yields the Broker (its `.port`, `.stop()`, `.start()`, `.restart()`)."""
    broker = Broker(persistence)
    try:
        broker.start()
        yield broker
    finally:
        broker.close()
