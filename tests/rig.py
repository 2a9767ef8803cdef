"""Test rig: a private PulseAudio daemon with a virtual microphone (notes/test-rig.md).

`paplay` into the null sink `virt_speaker` is heard on the source `virt_mic`, bit-exact. Everything is
started by the tests and torn down by PID; nothing is installed here (script/setup --dev installs
pulseaudio, pulseaudio-utils and libasound2-plugins).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager


@contextmanager
def virtual_microphone():
    for tool in ("pulseaudio", "pactl", "pacat", "paplay"):
        if not shutil.which(tool):
            raise RuntimeError(f"{tool} missing: run script/setup --dev")
    d = tempfile.mkdtemp(prefix="wakeword-pulse-")
    for sub in ("runtime", "state", "home"):
        os.makedirs(os.path.join(d, sub), mode=0o700)
    env = dict(os.environ, PULSE_SERVER=f"unix:{d}/native", HOME=f"{d}/home", XDG_RUNTIME_DIR=f"{d}/runtime",
               PULSE_RUNTIME_PATH=f"{d}/runtime", PULSE_STATE_PATH=f"{d}/state")
    log = open(os.path.join(d, "pulse.log"), "w")
    daemon = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--disallow-exit",
         "--disable-shm=yes", "-L", f"module-native-protocol-unix socket={d}/native auth-anonymous=1",
         "-L", "module-null-sink sink_name=virt_speaker rate=16000 channels=1",
         "-L", "module-remap-source master=virt_speaker.monitor source_name=virt_mic"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    keepalive = None
    try:
        deadline = time.time() + 10
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            if time.time() > deadline or daemon.poll() is not None:
                raise RuntimeError(f"pulseaudio did not start: {open(os.path.join(d, 'pulse.log')).read()[-500:]}")
            time.sleep(0.05)
        for cmd in (["set-default-sink", "virt_speaker"], ["set-default-source", "virt_mic"]):
            subprocess.run(["pactl", *cmd], env=env, check=True)
        # A permanent stream keeps the null sink rendering in small blocks (else the first ~2 s are lost).
        keepalive = subprocess.Popen(["pacat", "--playback", "--raw", "--format=s16le", "--rate=16000", "--channels=1",
                                      "--latency-msec=10", "-d", "virt_speaker", "/dev/zero"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.1)
        subprocess.run(["pactl", "suspend-sink", "virt_speaker", "1"], env=env)
        subprocess.run(["pactl", "suspend-sink", "virt_speaker", "0"], env=env)
        yield env
    finally:
        for p in (keepalive, daemon):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def play(env: dict, wav: str) -> None:
    subprocess.run(["paplay", "-d", "virt_speaker", wav], env=env, check=True, timeout=60)
