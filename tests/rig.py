"""Test rig: a private PulseAudio daemon with a virtual microphone (notes/test-rig.md).

`paplay` into the null sink `virt_speaker` is heard on the source `virt_mic`, bit-exact. Everything is
started by the tests and torn down by PID; `stop()` / `start()` on the same socket path simulate a
microphone (or audio server) that vanishes and comes back. script/setup --dev installs pulseaudio,
pulseaudio-utils and libasound2-plugins.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager


class VirtualMic:
    def __init__(self, keepalive_ms: int = 10) -> None:
        self.keepalive_ms = keepalive_ms
        for tool in ("pulseaudio", "pactl", "pacat", "paplay"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} missing: run script/setup --dev")
        self.dir = tempfile.mkdtemp(prefix="wakeword-pulse-")
        for sub in ("runtime", "state", "home"):
            os.makedirs(os.path.join(self.dir, sub), mode=0o700)
        d = self.dir
        self.env = dict(os.environ, PULSE_SERVER=f"unix:{d}/native", HOME=f"{d}/home", XDG_RUNTIME_DIR=f"{d}/runtime",
                        PULSE_RUNTIME_PATH=f"{d}/runtime", PULSE_STATE_PATH=f"{d}/state")
        self.daemon = self.keepalive = None

    def _pactl(self, *args, check=True):
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, check=check, timeout=10)

    def start(self) -> None:
        d = self.dir
        log = open(os.path.join(d, "pulse.log"), "a")
        self.daemon = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--disallow-exit",
             "--disable-shm=yes", "-L", f"module-native-protocol-unix socket={d}/native auth-anonymous=1",
             "-L", "module-null-sink sink_name=virt_speaker rate=16000 channels=1",
             "-L", "module-remap-source master=virt_speaker.monitor source_name=virt_mic"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 10
        while self._pactl("info", check=False).returncode != 0:
            if time.time() > deadline or self.daemon.poll() is not None:
                raise RuntimeError(f"pulseaudio did not start: {open(os.path.join(d, 'pulse.log')).read()[-500:]}")
            time.sleep(0.05)
        self._pactl("set-default-sink", "virt_speaker")
        self._pactl("set-default-source", "virt_mic")
        # A permanent stream keeps the null sink rendering in small blocks (else the first ~2 s are lost).
        self.keepalive = subprocess.Popen(["pacat", "--playback", "--raw", "--format=s16le", "--rate=16000", "--channels=1",
                                           f"--latency-msec={self.keepalive_ms}", "-d", "virt_speaker", "/dev/zero"], env=self.env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.1)
        self._pactl("suspend-sink", "virt_speaker", "1", check=False)
        self._pactl("suspend-sink", "virt_speaker", "0", check=False)

    def stop(self) -> None:
        for p in (self.keepalive, self.daemon):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self.daemon = self.keepalive = None

    def play(self, wav: str, timeout: float = 60) -> None:
        subprocess.run(["paplay", "-d", "virt_speaker", wav], env=self.env, check=True, timeout=timeout)


@contextmanager
def virtual_microphone(keepalive_ms: int = 10):
    """A running virtual microphone for the `with` block; yields the VirtualMic (`.env`, `.play()`, `.stop()`, `.start()`).

    `keepalive_ms` is the latency of the permanent "speaker" stream, which sets how often the null sink pushes
    audio to every recording client (benchmarks/live.py)."""
    mic = VirtualMic(keepalive_ms)
    try:
        mic.start()
        yield mic
    finally:
        mic.stop()
        shutil.rmtree(mic.dir, ignore_errors=True)
