"""Virtual environments for the peer engines, created on first use under .cache/peers/ (git-ignored).

    python benchmarks/peers/venvs.py [pymicro|oww]...     → creates them (idempotent) and prints their pythons

- `pymicro`: pymicro-wakeword 2.5.0 (microWakeWord; ships its models and a tensorflowlite_c library).
- `ours-runtime`: this checkout, installed as `pip install .` installs it (for benchmarks/footprint.py).
- `oww`: numpy + ai-edge-litert, and the wyoming-openwakeword 1.8.2 wheel unpacked (not installed) into
  .cache/peers/oww-wheel/ for its streaming code and its bundled models
  (wyoming_openwakeword/models/{melspectrogram,embedding_model,alexa_v0.1}.tflite).
  LICENCE: openWakeWord's pre-trained models are CC BY-NC-SA 4.0. They are used here only to benchmark
  against, from the local cache; never copy them into this repository or ship them.

Only PyPI is used (pip install / pip download); nothing else is downloaded.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / ".cache" / "peers"
PYMICRO = PEERS / "pymicro"
OWW = PEERS / "oww"
OWW_WHEEL_DIR = PEERS / "oww-wheel"
OWW_MODELS = OWW_WHEEL_DIR / "wyoming_openwakeword" / "models"
OWW_MODEL_FILES = ("melspectrogram.tflite", "embedding_model.tflite", "alexa_v0.1.tflite")
HERE = Path(__file__).resolve().parent


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _make_venv(venv: Path, packages: list[str], check_import: str) -> Path:
    py = _python(venv)
    if py.exists() and subprocess.run([str(py), "-c", f"import {check_import}"], capture_output=True).returncode == 0:
        return py
    if not py.exists():
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages], check=True)
    return py


def pymicro() -> Path:
    """Python of the pymicro-wakeword 2.5.0 venv (created if missing)."""
    return _make_venv(PYMICRO, ["pymicro-wakeword==2.5.0"], "pymicro_wakeword")


def oww_models() -> Path:
    """Folder with openWakeWord's melspectrogram, embedding and alexa models (CC BY-NC-SA: benchmark use only)."""
    if all((OWW_MODELS / f).exists() for f in OWW_MODEL_FILES):
        return OWW_MODELS
    OWW_WHEEL_DIR.mkdir(parents=True, exist_ok=True)
    wheels = sorted(OWW_WHEEL_DIR.glob("wyoming_openwakeword-1.8.2-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--only-binary", ":all:", "-d", str(OWW_WHEEL_DIR), "wyoming-openwakeword==1.8.2"], check=True)
        wheels = sorted(OWW_WHEEL_DIR.glob("wyoming_openwakeword-1.8.2-*.whl"))
    with zipfile.ZipFile(wheels[0]) as z:
        z.extractall(OWW_WHEEL_DIR)
    missing = [f for f in OWW_MODEL_FILES if not (OWW_MODELS / f).exists()]
    if missing:
        raise RuntimeError(f"{wheels[0].name} lacks {missing}")
    return OWW_MODELS


def oww() -> Path:
    """Python of the openWakeWord re-implementation's venv (numpy + ai-edge-litert), models unpacked beside it."""
    py = _make_venv(OWW, ["numpy", "ai-edge-litert"], "ai_edge_litert.interpreter")
    oww_models()
    return py


def ours_runtime() -> Path:
    """Python of a venv with this checkout installed as a user gets it (`pip install .`: no extras, not editable),
    reinstalled from the working tree on every call so that it runs the code as it is now."""
    venv = PEERS / "ours-runtime"
    py = _make_venv(venv, [str(ROOT)], "wakeword")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                    "--force-reinstall", str(ROOT)], check=True, capture_output=True)
    return py


ENVS = {"pymicro": pymicro, "oww": oww, "ours-runtime": ours_runtime}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(ENVS):
        print(name, ENVS[name]())
