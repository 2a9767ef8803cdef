"""Write a model card from the export report and evaluation results (see wakeword/model/card.py)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from ..features import FrontEndConfig
from ..model.card import ModelCard
from ..model import selfcheck
from ..model.geometry import SEED, StepGeometry
from .recipe import Recipe

SHAPES = SEED.tensor_shapes


def step_card(model_path: Path, tensors: dict[str, str], name: str) -> ModelCard:
    """An in-memory card for a step model that is not installed yet, so the runtime can run it (evaluation,
    mining). `tensors` maps the card roles to the model's tensor names (export.signature_tensors)."""
    fe = FrontEndConfig()
    return ModelCard.from_dict({
        "name": name, "phrase": name, "model_file": model_path.name,
        "tensors": {role: {"name": tensors[role], "shape": shape} for role, shape in SHAPES.items()},
        "frontend": {"sample_rate": fe.sample_rate, "n_fft": fe.n_fft, "hop": fe.hop, "log_floor": fe.log_floor},
        "step": {"kernel": StepGeometry().kernel, "stride": StepGeometry().stride},
    }, model_path.with_suffix(".yaml"))


def _recipe_ref(recipe: Recipe) -> str:
    """The recipe's path as given (recipes/proxies/voyager.yaml), where it was given relative to the checkout."""
    if recipe.path is not None and not recipe.path.is_absolute():
        return recipe.path.as_posix()
    return f"recipes/{recipe.name}.yaml"


def write_card(path: Path, recipe: Recipe, export_dir: Path, results: dict, variant: str, shipped: bool) -> None:
    """Card for one exported variant (`model` float32, `model_int8`); the shipped one is named after the recipe."""
    export = json.loads((export_dir / "export.json").read_text())
    fe, g = FrontEndConfig(), StepGeometry()
    tensors = export[variant]["tensors"]
    name = path.stem
    card = {
        "name": name,
        "phrase": recipe.phrase,
        "version": recipe.version,
        "license": recipe.license,
        "model_file": f"{name}.tflite",
        "weights": "int8 (dynamic-range quantized), float32 I/O" if variant == "model_int8" else "float32",
        "architecture": f"seed CRNN: Conv1D({SEED.filters},{SEED.kernel},s{SEED.stride})+BN+ReLU, GRU({SEED.units}), "
                        f"GRU({SEED.units}), per-step Dense(1, sigmoid); "
                        "streaming step model with explicit GRU states, BatchNorm folded, builtin ops only",
        "frontend": {"sample_rate": fe.sample_rate, "n_fft": fe.n_fft, "hop": fe.hop, "log_floor": fe.log_floor,
                     "window": "hann (periodic)", "features": "log10 power"},
        "step": {"kernel": g.kernel, "stride": g.stride, "seconds": g.step_seconds},
        "tensors": {role: {"name": tensors[role], "shape": SHAPES[role]} for role in SHAPES},
        "detector": results["detector"],
        "accuracy": results["accuracy"] if shipped else f"measured on the shipped {recipe.name}.tflite; this variant's "
                                                        f"max |p - p_keras| = {export[variant]['max_abs_diff_vs_keras']:.1e}",
        "training": {"recipe": _recipe_ref(recipe), "seed": recipe.seed,
                     "data": "positives: synthetic voices only (offline TTS engines, see recipe); negatives: synthetic "
                             "speech, and the real speech the recipe names (real_negative_dirs; real_speech_dir: dev-half "
                             "speakers only, wakeword/train/data/real_speech.py)",
                     "held_out_voice_families": recipe.holdout_families,
                     "run": recipe.training.run},
    }
    header = f"# Model card for {name}.tflite, written by `wakeword train recipes/{recipe.name}.yaml`.\n"
    path.write_text(header + yaml.safe_dump(card, sort_keys=False, width=110))
    selfcheck.add_to_card(path)  # what the runtime compares at every load (wakeword/model/selfcheck.py)
