"""Quiet detection for the live microphone, so the processing thread can wake less often in a quiet room.

Why: on the live path a wake-up of the processing thread costs about twice the work it does (caches are
cold after each sleep: ~0.7 ms for a 100 ms block that takes ~0.3 ms back to back), and a room is quiet
most of the time. While the microphone hears nothing above its noise floor, `Microphone` reads
every `idle_s` instead of on every block. Every sample is still processed, in order, so detections are
unchanged; only audio that arrives in quiet waits up to `idle_s` longer. The first chunk louder than the
floor switches back to a read per block, and a phrase's "hey" comes ~0.5 s before the end of the phrase,
where the event fires, so the event is not delayed.
"""
from __future__ import annotations

import numpy as np

MIN_LEVEL = 8  # peak-to-peak (int16 units, ~-72 dBFS) below which a chunk is quiet whatever the floor


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

    def update(self, chunk: np.ndarray) -> bool:
        """Feed the chunk just read (int16, (frames,) or (frames, channels)); returns `quiet`."""
        seconds = len(chunk) / self.sample_rate
        level = float(int(chunk.max()) - int(chunk.min())) if len(chunk) else 0.0  # two int16 passes, no overflow
        if self.floor is None:
            self.floor = level
        sound = level > max(self.floor * self._margin, MIN_LEVEL)
        self.floor = min(level, max(self.floor, MIN_LEVEL) * self._rise_per_s ** seconds)
        self._since_sound = 0.0 if sound else self._since_sound + seconds
        return self.quiet
