"""benchmarks/heldout_eval.py --rooms: the held-out voices played in simulated rooms, as the training mix does it."""
import sys

import numpy as np
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import heldout_eval  # noqa: E402


def test_in_rooms_reverberates_each_clip_keeps_its_peak_and_adds_the_tail():
    rng = np.random.default_rng(0)
    clips = [(rng.normal(0, 0.1, 8000) * np.hanning(8000)).astype(np.float32) for _ in range(6)]
    wet = heldout_eval.in_rooms(clips, 4)
    assert [len(w) for w in wet] == [8000 + 4000] * 6  # the 0.25 s tail of the room is heard after the clip
    for dry, w in zip(clips, wet):
        assert w.dtype == np.float32
        assert abs(np.abs(w).max() - np.abs(dry).max()) < 1e-6  # the level a speaker is heard at stays
        assert np.sqrt(np.mean(w[8000:] ** 2)) > 1e-4  # the room rings on after the clip ends
    again = heldout_eval.in_rooms(clips, 4)
    assert all(np.array_equal(a, b) for a, b in zip(wet, again))  # the same rooms every run: draws compare
