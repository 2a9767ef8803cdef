"""The export stage: a trained Keras model as the runtime's streaming step model (float32 and int8 TFLite).

The step model takes one conv window (1, 15, 101) and both GRU states (1, 128) and returns the
probability and the new states (geometry.SEED's shapes). It is written from the Keras weights (BatchNorm
folded into the next linear map), so it is the same function as the full model, step by step; `export_all`
checks that by running each export through the runtime's own StepModel against the Keras model.
Conversion enables TFLITE_BUILTINS + SELECT_TF_OPS as the seed did, and the export fails if any Flex op
ended up in the result, so the model runs on every pip-installable interpreter.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..model.flatbuffer import flex_ops
from ..model.geometry import SEED
from ..model.runner import StepModel
from .card_writer import step_card

KERNEL, N_BINS, UNITS = SEED.kernel, SEED.n_bins, SEED.units

EPS_DEFAULT = 1e-3


@dataclass
class StepWeights:
    conv_w: np.ndarray  # (KERNEL*N_BINS, F), BN1 folded
    conv_b: np.ndarray
    gru: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]  # (W, U, b_in, b_rec) per layer, BN folded into W/b_in
    dense_w: np.ndarray  # (UNITS, 1), BN3 folded
    dense_b: np.ndarray


def _bn_affine(layer) -> tuple[np.ndarray, np.ndarray]:
    gamma, beta, mean, var = [np.asarray(w, np.float64) for w in layer.get_weights()]
    scale = gamma / np.sqrt(var + layer.epsilon)
    return scale, beta - mean * scale


def fold_weights(model) -> StepWeights:
    """Collect the weights of the seed model with every BatchNorm folded into the following linear map."""
    L = {layer.name: layer for layer in model.layers}
    k, b = [np.asarray(w, np.float64) for w in L["conv"].get_weights()]  # k: (KERNEL, N_BINS, F)
    s1, t1 = _bn_affine(L["bn1"])
    conv_w = (k.reshape(KERNEL * N_BINS, -1) * s1).astype(np.float32)
    conv_b = (b * s1 + t1).astype(np.float32)
    grus = []
    for name, bn in (("gru1", None), ("gru2", "bn2")):
        W, U, bias = [np.asarray(w, np.float64) for w in L[name].get_weights()]
        b_in, b_rec = bias[0], bias[1]
        if bn:
            s, t = _bn_affine(L[bn])
            b_in = b_in + t @ W
            W = W * s[:, None]
        grus.append((W.astype(np.float32), U.astype(np.float32), b_in.astype(np.float32), b_rec.astype(np.float32)))
    s3, t3 = _bn_affine(L["bn3"])
    dw, db = [np.asarray(w, np.float64) for w in L["dense"].get_weights()]
    return StepWeights(conv_w, conv_b, grus, (dw * s3[:, None]).astype(np.float32), (db + t3 @ dw).astype(np.float32))


def _step_module(w: StepWeights):
    import tensorflow as tf

    class Step(tf.Module):
        def __init__(self):
            super().__init__()
            c = lambda a: tf.constant(a, tf.float32)  # noqa: E731
            self.conv_w, self.conv_b = c(w.conv_w), c(w.conv_b)
            self.gru = [tuple(c(a) for a in g) for g in w.gru]
            self.dense_w, self.dense_b = c(w.dense_w), c(w.dense_b)

        @tf.function(input_signature=[tf.TensorSpec([1, KERNEL, N_BINS], tf.float32, name="window"),
                                      tf.TensorSpec([1, UNITS], tf.float32, name="state1"),
                                      tf.TensorSpec([1, UNITS], tf.float32, name="state2")])
        def step(self, window, state1, state2):
            x = tf.nn.relu(tf.matmul(tf.reshape(window, [1, KERNEL * N_BINS]), self.conv_w) + self.conv_b)
            out = []
            for (W, U, bi, br), h in zip(self.gru, (state1, state2)):
                xz, xr, xh = tf.split(tf.matmul(x, W) + bi, 3, axis=1)
                hz, hr, hh = tf.split(tf.matmul(h, U) + br, 3, axis=1)
                z = tf.sigmoid(xz + hz)
                r = tf.sigmoid(xr + hr)
                h = z * h + (1 - z) * tf.tanh(xh + r * hh)
                out.append(h)
                x = h
            prob = tf.sigmoid(tf.matmul(x, self.dense_w) + self.dense_b)
            return {"probability": prob, "state1_out": out[0], "state2_out": out[1]}

    return Step()


def convert(w: StepWeights, quantize: bool = False) -> bytes:
    """TFLite bytes of the step model; raises if the converter needed any Flex op."""
    import tensorflow as tf

    module = _step_module(w)
    fn = module.step.get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn], module)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    if quantize:  # dynamic-range int8 weights; per-tensor dense quantization so tflite-runtime 2.14 loads it
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    data = conv.convert()
    flex = flex_ops(data)
    if flex:
        raise RuntimeError(f"export produced Flex ops {sorted(flex)}; the step model must be builtins-only")
    return data


def signature_tensors(model_bytes: bytes) -> dict[str, str]:
    """Map the step signature's input/output names to the TFLite tensor names the runtime uses. Read with
    TensorFlow's own interpreter (the training extra has it): only it lists a signature's tensor indices."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_content=model_bytes)
    sig = interp._get_full_signature_list()
    sig = sig[next(iter(sig))]
    names = {d["index"]: d["name"] for d in interp.get_input_details() + interp.get_output_details()}
    mapping = {k: names[v] for k, v in sig["inputs"].items()}
    mapping.update({k: names[v] for k, v in sig["outputs"].items()})
    return mapping


def max_step_error(path: Path, tensors: dict[str, str], features: np.ndarray, reference: np.ndarray) -> float:
    """max |p_step - p_keras| of the step model at `path`, run by the runtime's StepModel over each feature
    sequence in `features` (the Keras model's per-step probabilities are `reference`)."""
    model = StepModel(step_card(path, tensors, path.stem))
    worst = 0.0
    for seq, ref in zip(features, reference):
        model.reset()
        worst = max(worst, float(np.abs(model.process_frames(np.asarray(seq, np.float32)) - ref).max()))
    return worst


def export_all(keras_path: Path, out_dir: Path, features_dir: Path | None = None) -> dict:
    """Both variants (`model` float32, `model_int8`) and `export.json` (their size, tensors and error against
    Keras on a few training windows); raises if the float32 one differs by more than 1e-4."""
    import keras

    model = keras.models.load_model(keras_path, compile=False)
    weights = fold_weights(model)
    report: dict = {}
    if features_dir is not None and (features_dir / "x.npy").exists():
        sample = np.asarray(np.load(features_dir / "x.npy", mmap_mode="r")[:3], np.float32)
    else:
        sample = np.random.default_rng(0).normal(-4, 2, (2, 200, N_BINS)).astype(np.float32)
    reference = model.predict(sample, verbose=0)[..., 0]
    for label, quant in (("model", False), ("model_int8", True)):
        data = convert(weights, quantize=quant)
        path = out_dir / f"{label}.tflite"
        path.write_bytes(data)
        tensors = signature_tensors(data)
        diff = max_step_error(path, tensors, sample, reference)
        report[label] = {"bytes": len(data), "max_abs_diff_vs_keras": diff, "tensors": tensors}
        print(f"{label}: {len(data) / 1e6:.2f} MB, max |step - keras| = {diff:.2e}")
    if report["model"]["max_abs_diff_vs_keras"] > 1e-4:
        raise RuntimeError(f"float32 step model disagrees with Keras by {report['model']['max_abs_diff_vs_keras']:.2e} (> 1e-4)")
    (out_dir / "export.json").write_text(json.dumps(report, indent=1))
    return report
