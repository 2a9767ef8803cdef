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


def step_model(ref: str, backend: str, monkeypatch) -> StepModel:
    monkeypatch.setenv("WAKEWORD_INTERPRETER", backend)
    m = StepModel(ModelCard.load(ref))
    assert m.backend == backend
    return m
