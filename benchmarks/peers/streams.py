"""The one way benchmarks hand audio to a peer engine: a stream of float blocks written as a 16 kHz s16 WAV."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from wakeword.audio.signal import SR


def write_stream(path: Path, blocks) -> float:
    """Float blocks → one 16 kHz mono s16 WAV (same scaling as wakeword.audio.wav.write_wav); returns seconds."""
    n = 0
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        for b in blocks:
            w.writeframes((np.clip(b, -1, 1) * 32767).astype("<i2").tobytes())
            n += len(b)
    return n / SR
