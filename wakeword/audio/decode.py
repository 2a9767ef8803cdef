"""Decode compressed audio (FLAC, OGG, MP3, ...) with the system's ffmpeg or sox.

The runtime reads WAV itself (wakeword.audio.wav); other formats are only needed by evaluation and training
(music from Debian packages, evaluation sets in FLAC), so they go through a command-line decoder instead of
another Python dependency.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np

from ..errors import AudioError
from .signal import SR
from .wav import read_wav


def decode(path: str) -> np.ndarray:
    """Any audio file → float32 mono 16 kHz; AudioError naming the file if it cannot be decoded."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "o.wav")
        if shutil.which("ffmpeg"):
            cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", path, "-ac", "1", "-ar", str(SR), out]
        elif shutil.which("sox"):
            cmd = ["sox", "-D", path, "-c", "1", "-r", str(SR), "-b", "16", out]  # -D: no random dither
        else:
            raise AudioError(f"{path}: decoding this format needs ffmpeg or sox (apt-get install sox), or convert it to WAV")
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            msg = (r.stderr.strip().splitlines() or ["decoder failed"])[-1]
            raise AudioError(f"{path}: cannot decode ({msg})")
        return read_wav(out).samples
