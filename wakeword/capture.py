"""Save the audio around each detection as a WAV file, so users can collect real examples of their wake
word and find what caused false wakes (the raw material for retraining with mined hard negatives).

The recorder keeps the last few seconds of the engine's 16 kHz audio in a ring; a detection schedules a clip
of [time - before_s, time + after_s] (stream time), written once the audio after the phrase has arrived.
Files are written on a short-lived thread so the processing thread never waits on the disk.
"""
from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np

from .audio.signal import SR
from .audio.wav import write_wav

log = logging.getLogger("wakeword.capture")


class DetectionRecorder:
    def __init__(self, directory: str, before_s: float = 1.5, after_s: float = 0.5, keep_s: float = 6.0) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory, self.before_s, self.after_s = directory, before_s, after_s
        self._ring = np.zeros(int(max(keep_s, before_s + after_s + 2) * SR), np.float32)
        self._total = 0  # samples seen (stream time * SR)
        self._pending: list = []
        self._lock = threading.Lock()
        self.saved: list[str] = []
        self._writers: list[threading.Thread] = []

    def audio(self, chunk: np.ndarray) -> None:
        """Engine audio hook (processing thread)."""
        cap = len(self._ring)
        self._total += len(chunk)  # ring position of the chunk's end
        chunk = chunk[-cap:]
        n = len(chunk)
        start = (self._total - n) % cap
        first = min(n, cap - start)
        self._ring[start:start + first] = chunk[:first]
        self._ring[: n - first] = chunk[first:]
        self._save(lambda d: (d.time + self.after_s) * SR <= self._total)

    def flush(self) -> None:
        """Save pending clips with whatever audio arrived (the stream ended) and wait for the writes."""
        self._save(lambda d: True)
        for t in self._writers:
            t.join(5)

    def _save(self, due) -> None:
        cap = len(self._ring)
        with self._lock:
            ready = [d for d in self._pending if due(d)]
            self._pending = [d for d in self._pending if d not in ready]
        for d in ready:
            a = max(0, int((d.time - self.before_s) * SR), self._total - cap)
            b = min(self._total, int((d.time + self.after_s) * SR))
            idx = np.arange(a, b) % cap
            clip = self._ring[idx].copy()
            t = threading.Thread(target=self._write, args=(d, clip), daemon=True)
            t.start()
            self._writers = [w for w in self._writers if w.is_alive()] + [t]

    def detection(self, d) -> None:
        """Detection callback (dispatcher thread)."""
        with self._lock:
            self._pending.append(d)

    def _write(self, d, clip: np.ndarray) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(d.wall_time))
        path = os.path.join(self.directory, f"{stamp}-{d.wake_word}-{d.sequence:05d}-{d.score:.2f}.wav")
        try:
            write_wav(path, clip)
            self.saved.append(path)
        except OSError as e:
            log.warning("could not save detection audio to %s: %s", path, e)
