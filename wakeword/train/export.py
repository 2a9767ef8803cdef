"""Export a trained Keras model as the runtime's streaming step model (float32 and int8 TFLite).

The step model takes one conv window (1, 15, 101) and both GRU states (1, 128) and returns the
probability and the new states. It is written from the Keras weights (BatchNorm folded into the next
linear map), so it is the same function as the full model, step by step; `verify_step_model` checks it.
Conversion enables TFLITE_BUILTINS + SELECT_TF_OPS as the seed did, and the export fails if any Flex op
ended up in the result, so the model runs on every pip-installable interpreter.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.flatbuffer import flex_ops
from .keras_model import KERNEL, N_BINS, UNITS

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


def step_numpy(w: StepWeights, window: np.ndarray, h1: np.ndarray, h2: np.ndarray):
    """Reference step in numpy (float64), the same maths the TFLite step model runs."""
    def sig(v):
        return 1 / (1 + np.exp(-v))

    x = np.maximum(window.reshape(1, -1) @ w.conv_w + w.conv_b, 0)
    states = []
    for (W, U, bi, br), h in zip(w.gru, (h1, h2)):
        xi, hr = x @ W + bi, h @ U + br
        z = sig(xi[:, :UNITS] + hr[:, :UNITS])
        r = sig(xi[:, UNITS:2 * UNITS] + hr[:, UNITS:2 * UNITS])
        c = np.tanh(xi[:, 2 * UNITS:] + r * hr[:, 2 * UNITS:])
        h = z * h + (1 - z) * c
        states.append(h)
        x = h
    return sig(x @ w.dense_w + w.dense_b), states[0], states[1]


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
    """Map the step signature's input/output names to the TFLite tensor names the runtime uses."""
    from ..model.interpreter import load_interpreter

    interp = load_interpreter(model_content=model_bytes).interpreter
    sig = interp._get_full_signature_list()
    sig = sig[next(iter(sig))]
    names = {d["index"]: d["name"] for d in interp.get_input_details() + interp.get_output_details()}
    mapping = {k: names[v] for k, v in sig["inputs"].items()}
    mapping.update({k: names[v] for k, v in sig["outputs"].items()})
    return mapping
