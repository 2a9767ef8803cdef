"""The runtime path loads only what it uses: no scipy (its import alone is ~28 MB and ~0.3 s), and paho or
PortAudio only when MQTT or a microphone is configured (issue 20)."""
import json
import os
import subprocess
import sys

PROBE = """
import json, sys
import numpy as np
from wakeword import Engine
from wakeword.cli import main as _cli  # noqa: F401
from wakeword.config import load_config  # noqa: F401
from wakeword.daemon import run as _run  # noqa: F401
from wakeword.audio.wav import write_wav
engine = Engine(["hey_ssafy"])
list(engine.process(np.zeros(16000, np.int16)))
write_wav(sys.argv[1], np.zeros(1600, np.float32))
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_the_runtime_path_imports_no_scipy_paho_or_portaudio(tmp_path):
    r = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "x.wav")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    loaded = set(json.loads(r.stdout.splitlines()[-1]))
    assert "numpy" in loaded and "wakeword" in loaded
    assert not loaded & {"scipy", "paho", "sounddevice", "_sounddevice", "tensorflow"}, loaded & {"scipy", "paho"}


RUN_PROBE = """
import json, sys
from wakeword.cli import main
sys.argv = ["wakeword", "run", "--input", "-", "--model", "hey_ssafy"]
assert main() == 0
print(json.dumps(sorted(sys.modules)))
"""


def test_run_on_stdin_loads_only_what_it_uses():
    """`wakeword run --input -` (issue 20, memory): no WAV reader, MQTT sink, socket (outside systemd), numpy
    interpreter, fractions, or shutil with its compression modules (argparse's default help formatter)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    r = subprocess.run([sys.executable, "-c", RUN_PROBE], input=bytes(6400), capture_output=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr.decode()
    loaded = set(json.loads(r.stdout.decode().splitlines()[-1]))
    assert "wakeword.engine" in loaded
    unused = {"wave", "wakeword.audio.wav", "wakeword.sinks.mqtt", "socket", "wakeword.model.numpy_interpreter",
              "fractions", "decimal", "shutil", "bz2", "lzma"}
    assert not loaded & unused, loaded & unused
