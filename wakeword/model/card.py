"""Model cards: `models/<name>.yaml` next to `models/<name>.tflite`.

The card is the contract between training and runtime: front-end parameters, step geometry, the
tensor names of the streaming step model, and the detector settings measured to give the stated
accuracy. The runtime configures itself from it and refuses a card that disagrees with its model.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..audio.resample import MAX_RATE, MIN_RATE
from ..detector import DetectorConfig
from ..errors import ModelError, WakewordError
from ..features import FrontEndConfig
from .geometry import StepGeometry

BUNDLED_DIR = Path(__file__).resolve().parent.parent.parent / "models"
INPUT_ROLES = ("window", "state1", "state2")
OUTPUT_ROLES = ("probability", "state1_out", "state2_out")


def bundled_dir() -> Path:
    """Where bundled models live: `models/` beside the package (source checkout or installed data)."""
    env = os.environ.get("WAKEWORD_MODELS")
    if env:
        return Path(env)
    for cand in (BUNDLED_DIR, Path(__file__).resolve().parent.parent / "models"):
        if cand.is_dir():
            return cand
    return BUNDLED_DIR


MAX_CARD_BYTES = 1 << 20


MAX_CARD_VALUES = 100_000


def _too_big(data: Any, limit: int = MAX_CARD_VALUES) -> bool:
    """True when the card, with its YAML aliases expanded, holds more than `limit` values: a "billion laughs"
    card (aliases of aliases) loads small but made `wakeword info --json` expand it without end."""
    stack, seen = [data], 0
    while stack:
        seen += 1
        if seen > limit:
            return True
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


@dataclass
class TensorSpec:
    name: str
    shape: tuple[int, ...]


@dataclass
class ModelCard:
    name: str
    phrase: str
    model_path: Path
    card_path: Path | None
    version: str = "0"
    license: str = "unknown"
    frontend: FrontEndConfig = field(default_factory=FrontEndConfig)
    geometry: StepGeometry = field(default_factory=StepGeometry)
    tensors: dict[str, TensorSpec] = field(default_factory=dict)
    detector: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, ref: str | os.PathLike) -> "ModelCard":
        """By bundled name (`hey_ssafy`) or by path to the .tflite or the .yaml."""
        ref = os.fspath(ref)
        if os.sep in ref or ref.endswith((".tflite", ".yaml", ".yml")):
            p = Path(ref)
            card_path = p if p.suffix in (".yaml", ".yml") else p.with_suffix(".yaml")
        else:
            card_path = bundled_dir() / f"{ref}.yaml"
            if not card_path.exists():
                names = ", ".join(list_bundled()) or "none"
                raise ModelError(f"unknown model {ref!r}; bundled models: {names} (or give a path to a .tflite file)")
        if not card_path.exists():
            raise ModelError(f"{card_path}: model card not found (every .tflite needs its .yaml card beside it)")
        try:
            size = card_path.stat().st_size
            if size > MAX_CARD_BYTES:
                raise ModelError(f"{card_path}: {size} bytes is not a model card (at most {MAX_CARD_BYTES})")
            data = yaml.safe_load(card_path.read_text())
        except OSError as e:
            raise ModelError(f"{card_path}: cannot read the card ({e.strerror})") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise ModelError(f"{card_path}:{where} invalid YAML ({getattr(e, 'problem', e)})") from None
        if not isinstance(data, dict):
            raise ModelError(f"{card_path}: a model card must be a YAML mapping")
        if _too_big(data):
            raise ModelError(f"{card_path}: holds more than {MAX_CARD_VALUES} values once its YAML aliases are expanded")
        return cls.from_dict(data, card_path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], card_path: Path) -> "ModelCard":
        def need(key: str, where: dict = data, prefix: str = "") -> Any:
            if key not in where:
                raise ModelError(f"{card_path}: missing key {prefix}{key!r}")
            return where[key]

        fe = need("frontend")
        st = need("step")
        try:
            frontend = FrontEndConfig(int(fe["sample_rate"]), int(fe["n_fft"]), int(fe["hop"]), float(fe["log_floor"]))
            geometry = StepGeometry(frontend, int(st["kernel"]), int(st["stride"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"{card_path}: bad frontend/step section ({e})") from None
        bad = _implausible(frontend, geometry)
        if bad:
            raise ModelError(f"{card_path}: {bad}")
        tensors = {}
        tsec = need("tensors")
        for role in INPUT_ROLES + OUTPUT_ROLES:
            t = need(role, tsec, "tensors.")
            try:
                tensors[role] = TensorSpec(str(t["name"]), tuple(int(v) for v in t["shape"]))
            except (KeyError, TypeError, ValueError) as e:
                raise ModelError(f"{card_path}: bad tensors.{role} (needs name and shape: {e})") from None
        detector = data.get("detector") or {}
        try:
            DetectorConfig.from_card(detector)
        except (WakewordError, TypeError, ValueError, AttributeError) as e:
            raise ModelError(f"{card_path}: bad detector section ({e})") from None
        model_file = data.get("model_file", card_path.with_suffix(".tflite").name)
        return cls(name=str(need("name")), phrase=str(need("phrase")), model_path=card_path.parent / model_file,
                   card_path=card_path, version=str(data.get("version", "0")), license=str(data.get("license", "unknown")),
                   frontend=frontend, geometry=geometry, tensors=tensors, detector=dict(detector), raw=data)


def _implausible(fe: FrontEndConfig, g: StepGeometry) -> str | None:
    """What is out of range in a card's front end or step (values that would divide by zero or allocate without
    bound), or None."""
    checks = [(MIN_RATE <= fe.sample_rate <= MAX_RATE, f"frontend.sample_rate {fe.sample_rate} is not {MIN_RATE}-{MAX_RATE}"),
              (16 <= fe.n_fft <= 8192, f"frontend.n_fft {fe.n_fft} is not 16-8192"),
              (1 <= fe.hop <= fe.n_fft, f"frontend.hop {fe.hop} is not 1-n_fft"),
              (0 < fe.log_floor < 1, f"frontend.log_floor {fe.log_floor} is not between 0 and 1"),
              (1 <= g.kernel <= 1000, f"step.kernel {g.kernel} is not 1-1000"),
              (1 <= g.stride <= g.kernel, f"step.stride {g.stride} is not 1-kernel")]
    return next((what for ok, what in checks if not ok), None)


def list_bundled() -> list[str]:
    d = bundled_dir()
    return sorted(p.stem for p in d.glob("*.yaml") if p.with_suffix(".tflite").exists()) if d.is_dir() else []
