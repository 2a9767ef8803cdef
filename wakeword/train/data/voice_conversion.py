"""New speakers from the voices we have: Praat's "Change gender" (PSOLA) on a clip, through praat-parselmouth.

Real people's voices the synthetic ones do not cover (deep or high voices, other vocal-tract lengths, slower or
faster talkers) are missed most on real speech (benchmarks/RESULTS.md). Change gender moves the formants by a
ratio, sets a new pitch median and scales the pitch range, and stretches the duration, each independently, where
resampling (mixing.warp) moves all of them together. It needs no model weights and takes ~6 ms per clip.

Praat runs in a worker process: on a few clips in ten thousand its Change gender never returns (it held the
mixing for over 15 minutes, twice, inside one C call). A clip that takes longer than TIMEOUT_S passes unchanged,
the worker is replaced, and the count is logged.
"""
from __future__ import annotations

import logging
import multiprocessing
from multiprocessing.connection import Connection

import numpy as np

from ...audio.signal import SR
from ..recipe import Mixing

log = logging.getLogger(__name__)
PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 75.0, 600.0  # Praat's pitch analysis range for the source voice
MAX_SECONDS = 6.0  # longer clips (real recordings of minutes) pass unchanged: they are real voices already
TIMEOUT_S = 10.0  # a 6 s clip takes ~0.2 s


def _serve(conn: Connection) -> None:
    """The worker: (clip, Change gender's four arguments) in, the converted clip (or None if Praat refuses) out."""
    import parselmouth
    from parselmouth.praat import call

    while True:
        try:
            clip, args = conn.recv()
        except EOFError:
            return
        try:
            out = call(parselmouth.Sound(clip.astype(np.float64), SR), "Change gender", PITCH_FLOOR_HZ,
                       PITCH_CEILING_HZ, *args)
            conn.send(np.nan_to_num(out.values[0]).astype(np.float32))
        except parselmouth.PraatError:
            conn.send(None)


class _Worker:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # not a fork of the training process and its threads
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="ww-praat")
        self.proc.start()
        child.close()

    def convert(self, clip: np.ndarray, args: tuple[float, ...]) -> np.ndarray | None:
        self.conn.send((clip, args))
        if not self.conn.poll(TIMEOUT_S):
            raise TimeoutError
        return self.conn.recv()

    def close(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()


_worker: _Worker | None = None
timeouts = 0


def convert(clip: np.ndarray, rng: np.random.Generator, cfg: Mixing) -> np.ndarray:
    """The clip in a voice drawn from the recipe's ranges; the clip itself where Praat cannot analyse it (shorter
    than its pitch analysis window), where it is longer than MAX_SECONDS or where Praat does not finish in time."""
    global _worker, timeouts
    args = tuple(float(rng.uniform(*r)) for r in (cfg.vc_formant, cfg.vc_pitch_hz, cfg.vc_pitch_range, cfg.vc_duration))
    if len(clip) > MAX_SECONDS * SR:
        return clip
    if _worker is None:
        _worker = _Worker()
    try:
        y = _worker.convert(clip, args)
    except (TimeoutError, EOFError, OSError) as e:  # OSError: a broken pipe, if the worker died
        _worker.close()
        _worker = None
        timeouts += 1
        log.warning("voice conversion of a %.1f s clip %s: passed unchanged (%d so far)", len(clip) / SR,
                    "timed out" if isinstance(e, TimeoutError) else f"failed ({type(e).__name__})", timeouts)
        return clip
    return y if y is not None and len(y) and np.abs(y).max() > 0 else clip
