"""The test rig, shared by the test suite and benchmarks/live.py (notes/test-rig.md): real speech from an offline
TTS voice (never a mock), a private mosquitto broker, and a private PulseAudio daemon with a virtual microphone.

    with mosquitto() as broker:        # broker.port; broker.stop() / broker.start() / broker.restart()
        ...
    with virtual_microphone() as mic:  # mic.play(wav) is heard on the source `virt_mic`
        ...

The broker is started from a config file of our own (`listener PORT 127.0.0.1`, `allow_anonymous true`,
`log_dest stderr`, `persistence false`), stopped by PID, never by name. `stop()`/`start()` keep the same config
and port, for fault tests. With `persistence=True` the broker saves its state to a private directory when stopped
and reloads it when started again, so a subscriber's persistent session (clean_session=False) survives a restart:
a test can then check delivery across a broker restart without racing the publisher's reconnect. `acl` is the text
of a mosquitto ACL file (`topic read wakeword/+/detected` ...) for anonymous clients; without it every topic is open.

`paplay` into the null sink `virt_speaker` is heard on the source `virt_mic`, mixed with a noise floor of +-1 LSB, as
a real microphone's is never all zeros (the daemon takes seconds of exact zeros for a removed source).
Everything is started by the caller and torn down by PID;
`stop()` / `start()` on the same socket path simulate a microphone (or audio server) that vanishes and comes back;
`unplug()` / `plug()` remove and restore the source `virt_mic` alone, as unplugging a USB microphone does: PulseAudio
moves its streams to the fallback source `virt_silent` (a null source: digital silence) without any error.
script/setup --dev installs pulseaudio, pulseaudio-utils and libasound2-plugins.
"""
from __future__ import annotations

import io
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .audio.resample import to_mono_float
from .audio.signal import SR, resample_to_16k


def tts(text: str, voice: str = "kal16") -> np.ndarray:
    """Speak with a flite voice → float32 16 kHz."""
    if not shutil.which("flite"):
        raise RuntimeError("flite is required for the tests: apt-get install flite (script/test installs it)")
    out = subprocess.run(["flite", "-voice", voice, "-t", text, "-o", "/dev/stdout"], capture_output=True, check=True).stdout
    from scipy.io import wavfile

    sr, data = wavfile.read(io.BytesIO(out))
    return resample_to_16k(to_mono_float(data), sr)


def speech_end(x: np.ndarray) -> float:
    """Time (s) of the last 10 ms frame within 40 dB of the loudest: where the phrase ends."""
    hop = SR // 100
    n = len(x) // hop
    r = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    return (np.nonzero(r > r.max() * 0.01)[0][-1] + 1) * hop / SR


def in_noise(speech: np.ndarray, snr_db: float, before_s: float = 2.0, after_s: float = 2.5, seed: int = 0
             ) -> tuple[np.ndarray, float]:
    """Place speech after `before_s` of pink-ish noise at `snr_db`; returns (audio, phrase end time)."""
    rng = np.random.default_rng(seed)
    n = int((before_s + after_s) * SR) + len(speech)
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white) / np.sqrt(np.arange(n // 2 + 1) + 1.0)
    noise = np.fft.irfft(spec, n)
    start = int(before_s * SR)
    active = speech[np.abs(speech) > 1e-3]
    s_rms = np.sqrt(np.mean(active**2))
    noise *= s_rms / 10 ** (snr_db / 20) / np.sqrt(np.mean(noise**2))
    audio = noise.copy()
    audio[start:start + len(speech)] += speech
    audio *= 0.3 / np.abs(audio).max()
    return audio.astype(np.float32), before_s + speech_end(speech)


def write(path: Path, audio: np.ndarray, rate: int = SR) -> Path:
    from scipy.io import wavfile

    wavfile.write(path, rate, (np.clip(audio, -1, 1) * 32767).astype(np.int16))
    return path


MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, persistence: bool = False, acl: str | None = None) -> None:
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
        if acl is not None:
            with open(os.path.join(self.dir, "acl"), "w") as fh:
                fh.write(acl)
            lines.append(f"acl_file {self.dir}/acl")
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
                    raise RuntimeError(f"mosquitto did not listen on 127.0.0.1:{self.port}: {self.log()[-600:]}") from None
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
def mosquitto(persistence: bool = False, acl: str | None = None):
    """A running broker for the `with` block; yields the Broker (its `.port`, `.stop()`, `.start()`, `.restart()`)."""
    broker = Broker(persistence, acl)
    try:
        broker.start()
        yield broker
    finally:
        broker.close()


# Writes +-1 LSB noise (s16le) to stdout forever, for the rig's keepalive stream (paced by pacat, ~0 CPU).
_NOISE_FLOOR = ("import random, struct, sys\nr = random.Random(0)\n"
                "block = struct.pack('<16000h', *(r.choice((-1, 0, 1)) for _ in range(16000)))\n"
                "while True:\n    sys.stdout.buffer.write(block)\n    sys.stdout.buffer.flush()\n")
_MIC_MODULE = ("module-remap-source", "master=virt_speaker.monitor", "source_name=virt_mic")


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
        self.daemon: subprocess.Popen | None = None
        self.keepalive: subprocess.Popen | None = None
        self.noise: subprocess.Popen | None = None

    def _pactl(self, *args, check=True):
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, check=check, timeout=10)

    def start(self) -> None:
        d = self.dir
        log = open(os.path.join(d, "pulse.log"), "a")
        self.daemon = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--disallow-exit",
             "--disable-shm=yes", "-L", f"module-native-protocol-unix socket={d}/native auth-anonymous=1",
             "-L", "module-null-sink sink_name=virt_speaker rate=16000 channels=1",
             "-L", "module-null-source source_name=virt_silent rate=16000 channels=1",
             "-L", " ".join(_MIC_MODULE)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 10
        while self._pactl("info", check=False).returncode != 0:
            if time.time() > deadline or self.daemon is None or self.daemon.poll() is not None:
                raise RuntimeError(f"pulseaudio did not start: {open(os.path.join(d, 'pulse.log')).read()[-500:]}")
            time.sleep(0.05)
        self._pactl("set-default-sink", "virt_speaker")
        self._pactl("set-default-source", "virt_mic")
        # A permanent stream keeps the null sink rendering in small blocks (else the first ~2 s are lost); it
        # carries the noise floor.
        self.noise = subprocess.Popen([sys.executable, "-c", _NOISE_FLOOR], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
        self.keepalive = subprocess.Popen(["pacat", "--playback", "--raw", "--format=s16le", "--rate=16000", "--channels=1",
                                           f"--latency-msec={self.keepalive_ms}", "-d", "virt_speaker"],  # reads stdin
                                          stdin=self.noise.stdout, env=self.env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
        if self.noise.stdout:
            self.noise.stdout.close()  # pacat holds the pipe now
        time.sleep(0.1)
        self._pactl("suspend-sink", "virt_speaker", "1", check=False)
        self._pactl("suspend-sink", "virt_speaker", "0", check=False)

    def unplug(self) -> None:
        """Remove the source `virt_mic`: its recording streams move to `virt_silent`, with no error to any client."""
        modules = self._pactl("list", "short", "modules").stdout.decode().splitlines()
        index = next(line.split("\t")[0] for line in modules if "source_name=virt_mic" in line)
        self._pactl("unload-module", index)

    def plug(self) -> None:
        """Bring `virt_mic` back; PulseAudio makes it the default source again (the configured default), so a new
        stream records from it, while the streams moved away by `unplug()` stay on `virt_silent`."""
        self._pactl("load-module", *_MIC_MODULE)

    def recording_from(self) -> list[str]:
        """The source of every client's recording stream, e.g. ['virt_mic']."""
        sources = dict(line.split("\t")[:2] for line in
                       self._pactl("list", "short", "sources").stdout.decode().splitlines())  # index -> name
        outputs = self._pactl("list", "short", "source-outputs").stdout.decode().splitlines()
        return [sources.get(line.split("\t")[1], "?") for line in outputs if "protocol-native" in line]

    def stop(self) -> None:
        for p in (self.keepalive, self.noise, self.daemon):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self.daemon = self.keepalive = self.noise = None

    def play(self, wav: str, timeout: float = 60) -> None:
        subprocess.run(["paplay", "-d", "virt_speaker", wav], env=self.env, check=True, timeout=timeout)


@contextmanager
def virtual_microphone(keepalive_ms: int = 10):
    """A running virtual microphone for the `with` block; yields the VirtualMic (`.env`, `.play()`, `.stop()`,
    `.start()`, `.unplug()`, `.plug()`).

    `keepalive_ms` is the latency of the permanent "speaker" stream, which sets how often the null sink pushes
    audio to every recording client (benchmarks/live.py)."""
    mic = VirtualMic(keepalive_ms)
    try:
        mic.start()
        yield mic
    finally:
        mic.stop()
        shutil.rmtree(mic.dir, ignore_errors=True)
