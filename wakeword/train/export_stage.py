"""Export stage: trained Keras model → float32 and int8 step models, verified against the Keras model."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .export import convert, fold_weights, signature_tensors
from .recipe import Recipe


def step_outputs_tflite(model_bytes: bytes, tensors: dict[str, str], features: np.ndarray, kernel: int = 15,
                        stride: int = 4) -> np.ndarray:
    """Per-step probabilities of a step model run through the real interpreter over one feature sequence."""
    from ..model.interpreter import load_interpreter

    it = load_interpreter(model_content=model_bytes).interpreter
    idx = {d["name"]: d["index"] for d in it.get_input_details() + it.get_output_details()}
    h1 = np.zeros((1, 128), np.float32)
    h2 = np.zeros((1, 128), np.float32)
    out = []
    for t in range((len(features) - kernel) // stride + 1):
        it.set_tensor(idx[tensors["window"]], features[None, t * stride:t * stride + kernel].astype(np.float32))
        it.set_tensor(idx[tensors["state1"]], h1)
        it.set_tensor(idx[tensors["state2"]], h2)
        it.invoke()
        h1, h2 = it.get_tensor(idx[tensors["state1_out"]]), it.get_tensor(idx[tensors["state2_out"]])
        out.append(float(it.get_tensor(idx[tensors["probability"]])[0, 0]))
    return np.array(out)


def export_all(keras_path: Path, out_dir: Path, recipe: Recipe, features_dir: Path | None = None) -> dict:
    import keras

    model = keras.models.load_model(keras_path, compile=False)
    weights = fold_weights(model)
    report: dict = {}
    if features_dir is not None and (features_dir / "x.npy").exists():
        sample = np.asarray(np.load(features_dir / "x.npy", mmap_mode="r")[:3], np.float32)
    else:
        sample = np.random.default_rng(0).normal(-4, 2, (2, 200, 101)).astype(np.float32)
    reference = model.predict(sample, verbose=0)[..., 0]
    for label, quant in (("model", False), ("model_int8", True)):
        data = convert(weights, quantize=quant)
        (out_dir / f"{label}.tflite").write_bytes(data)
        tensors = signature_tensors(data)
        diff = max(float(np.abs(step_outputs_tflite(data, tensors, f) - r).max()) for f, r in zip(sample, reference))
        report[label] = {"bytes": len(data), "max_abs_diff_vs_keras": diff, "tensors": tensors}
        print(f"{label}: {len(data) / 1e6:.2f} MB, max |step - keras| = {diff:.2e}")
    if report["model"]["max_abs_diff_vs_keras"] > 1e-4:
        raise RuntimeError(f"float32 step model disagrees with Keras by {report['model']['max_abs_diff_vs_keras']:.2e} (> 1e-4)")
    (out_dir / "export.json").write_text(json.dumps(report, indent=1))
    return report
