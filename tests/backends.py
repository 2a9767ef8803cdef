"""What the interpreter-backend tests share (test_litert_c.py, test_numpy_runner.py): the models they compare,
a command-line runner with an environment, and a StepModel on a forced backend."""
import os
import subprocess
import sys
from pathlib import Path

from wakeword.model.card import ModelCard, bundled_dir
from wakeword.model.runner import StepModel

REPO = Path(__file__).resolve().parent.parent
MODELS = {"hey_ssafy": "hey_ssafy", "alexa": "alexa",
          "hey_ssafy_float32": str(bundled_dir() / "reports" / "hey_ssafy" / "hey_ssafy_float32.yaml")}


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "wakeword", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})})


def engine_in_fresh_process(setup: str, wav: Path) -> list[str]:
    """Run `setup` (Python that breaks a backend), then detect in `wav` with the default interpreter choice
    (WAKEWORD_INTERPRETER unset): the backend chosen and the number of detections, as printed."""
    code = setup + """
from wakeword import Engine
engine = Engine(["hey_ssafy"])
print(engine.models[0].backend, len(list(engine.detect(sys.argv[1]))))
"""
    env = {k: v for k, v in os.environ.items() if k != "WAKEWORD_INTERPRETER"}
    r = subprocess.run([sys.executable, "-c", code, str(wav)], capture_output=True, text=True, cwd=REPO, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def step_model(ref: str, backend: str, monkeypatch) -> StepModel:
    monkeypatch.setenv("WAKEWORD_INTERPRETER", backend)
    m = StepModel(ModelCard.load(ref))
    assert m.backend == backend
    return m
