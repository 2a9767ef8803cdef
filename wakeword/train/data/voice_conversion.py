"""New speakers from the voices we have: Praat's "Change gender" (PSOLA) on a clip, through praat-parselmouth.

Real people's voices the synthetic ones do not cover (deep or high voices, other vocal-tract lengths, slower or
faster talkers) are missed most on real speech (benchmarks/RESULTS.md). Change gender moves the formants by a
ratio, sets a new pitch median and scales the pitch range, and stretches the duration, each independently, where
resampling (mixing.warp) moves all of them together. It needs no model weights and takes ~6 ms per clip.
"""
from __future__ import annotations

import numpy as np

from ...audio.signal import SR
from ..recipe import Mixing

PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 75.0, 600.0  # Praat's pitch analysis range for the source voice
# Longer clips (real recordings of minutes) pass unchanged: Praat took over 18 minutes on one of them, and they are
# real voices already. Phrases, near misses and TTS sentences are all shorter.
MAX_SECONDS = 6.0


def convert(clip: np.ndarray, rng: np.random.Generator, cfg: Mixing) -> np.ndarray:
    """The clip in a voice drawn from the recipe's ranges; the clip itself where Praat cannot analyse it (shorter
    than its pitch analysis window) or where it is longer than MAX_SECONDS."""
    if len(clip) > MAX_SECONDS * SR:
        return clip
    import parselmouth
    from parselmouth.praat import call

    formant, pitch, pitch_range, duration = (float(rng.uniform(*r)) for r in
                                             (cfg.vc_formant, cfg.vc_pitch_hz, cfg.vc_pitch_range, cfg.vc_duration))
    try:
        sound = parselmouth.Sound(clip.astype(np.float64), SR)
        out = call(sound, "Change gender", PITCH_FLOOR_HZ, PITCH_CEILING_HZ, formant, pitch, pitch_range, duration)
    except parselmouth.PraatError:
        return clip
    y = np.nan_to_num(out.values[0]).astype(np.float32)
    return y if len(y) and np.abs(y).max() > 0 else clip
