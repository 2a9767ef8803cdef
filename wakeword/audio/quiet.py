"""Quiet detection for the live microphone, so the processing thread can wake less often in a quiet room.

Why: on the live path a wake-up of the processing thread costs several times the work it does (caches are
cold after each sleep: the model's first step alone takes ~0.12 ms cold against 0.008 ms warm), and a room
is quiet most of the time. While the microphone hears nothing above its noise floor, `Microphone` reads
every `idle_s` instead of on every block, and PortAudio's callback wakes it at once for a block louder
than `wake_level`. Every sample is still processed, in order, so detections are unchanged, and sound is
read as soon as it arrives, so events are not delayed; only audio no louder than the floor waits.
"""
from __future__ import annotations

import numpy as np

MIN_LEVEL = 8  # peak-to-peak (int16 units, ~-72 dBFS) below which a chunk is quiet whatever the floor


def level(chunk: np.ndarray) -> int:
    """Peak-to-peak level of int16 samples: two passes, no overflow (the gate's measure and the callback's)."""
    return int(chunk.max()) - int(chunk.min()) if len(chunk) else 0


class QuietGate:
    """Tracks the noise floor of int16 chunks (peak-to-peak level); quiet = no louder chunk for `hold_s`."""

    def __init__(self, sample_rate: int, margin_db: float = 6.0, hold_s: float = 2.0, rise_db_per_s: float = 3.0) -> None:
        self.sample_rate = sample_rate
        self.hold_s = hold_s
        self._margin = 10 ** (margin_db / 20)
        self._rise_per_s = 10 ** (rise_db_per_s / 20)
        self.floor: float | None = None  # follows the level down at once and up at rise_db_per_s
        self._since_sound = 0.0  # seconds of audio since the last chunk above the floor

    @property
    def quiet(self) -> bool:
        return self._since_sound >= self.hold_s

    @property
    def wake_level(self) -> float:
        """Peak-to-peak level above which a chunk is sound (floor + margin)."""
        return max((self.floor or 0.0) * self._margin, MIN_LEVEL)

    def update(self, chunk: np.ndarray) -> bool:
        """Feed the chunk just read (int16, (frames,) or (frames, channels)); returns `quiet`."""
        seconds = len(chunk) / self.sample_rate
        lvl = float(level(chunk))
        if self.floor is None:
            self.floor = lvl
        sound = lvl > self.wake_level
        self.floor = min(lvl, max(self.floor, MIN_LEVEL) * self._rise_per_s ** seconds)
        self._since_sound = 0.0 if sound else self._since_sound + seconds
        return self.quiet
