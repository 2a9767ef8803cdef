import numpy as np
import pytest

from wakeword.detector import DetectorConfig, TriggerDetector
from wakeword.errors import ConfigError

STEP = 0.02


def trace(n, bumps):
    """Probability trace of n steps with (start, length, height) bumps over a 0.02 floor."""
    p = np.full(n, 0.02)
    for start, length, height in bumps:
        p[start:start + length] = height
    return p


def events(p, **kw):
    d = TriggerDetector(DetectorConfig(**{"threshold": 0.5, "smoothing": 3, "patience": 2, "refractory_s": 2.0, **kw}), STEP)
    return [t for x in p if (t := d.update(float(x))) is not None]


def test_one_event_per_utterance():
    ev = events(trace(500, [(100, 15, 0.95)]))
    assert len(ev) == 1
    assert 100 <= ev[0].onset_step <= ev[0].step <= 105
    assert ev[0].score > 0.9


def test_nothing_below_threshold():
    assert events(trace(500, [(100, 50, 0.45), (300, 5, 0.49)])) == []


def test_long_plateau_gives_one_event():
    assert len(events(trace(3000, [(100, 2500, 0.99)]))) == 1  # 50 s high: refractory over, never re-armed


def test_two_utterances_beyond_refractory_give_two_events():
    ev = events(trace(1000, [(100, 15, 0.95), (100 + 150, 15, 0.95)]))  # 3 s apart > 2 s refractory
    assert [e.onset_step for e in ev] == [100 + 1, 250 + 1] or len(ev) == 2


def test_two_utterances_within_refractory_give_one_event():
    assert len(events(trace(1000, [(100, 15, 0.95), (100 + 60, 15, 0.95)]))) == 1  # 1.2 s apart


def test_patience_filters_single_spikes():
    assert events(trace(500, [(100, 1, 1.0)]), smoothing=1, patience=2) == []
    assert len(events(trace(500, [(100, 2, 1.0)]), smoothing=1, patience=2)) == 1


def test_rearm_needs_the_score_to_fall():
    # a dip to 0.3 between two bumps does not re-arm with rearm 0.25, does with rearm 0.35
    p = trace(1000, [(100, 150, 0.9), (250, 20, 0.3), (270, 30, 0.9)])
    assert len(events(p, rearm_threshold=0.25)) == 1
    assert len(events(p, rearm_threshold=0.35)) == 2


def test_scan_matches_streaming_updates():
    rng = np.random.default_rng(3)
    p = np.clip(np.convolve(rng.random(20000) ** 6, np.ones(25) / 5, "same"), 0, 1)
    cfg = DetectorConfig(0.5, 3, 2, 1.0)
    streamed = events(p, refractory_s=1.0)
    scanned = TriggerDetector(cfg, STEP).scan(p)
    assert len(streamed) > 10
    assert [(t.step, t.onset_step) for t in scanned] == [(t.step, t.onset_step) for t in streamed]
    assert np.allclose([t.score for t in scanned], [t.score for t in streamed])


@pytest.mark.parametrize("smoothing, patience", [(1, 1), (3, 2), (5, 1)])
def test_chunked_feed_matches_streaming_updates(smoothing, patience):
    """feed() skips quiet chunks whole; in any chunking it gives update()'s events at the same steps."""
    rng = np.random.default_rng(smoothing)
    p = np.clip(np.convolve(rng.random(20000) ** 6, np.ones(25) / 5, "same"), 0, 1)
    kw = {"smoothing": smoothing, "patience": patience, "refractory_s": 1.0}
    streamed = events(p, **kw)
    d = TriggerDetector(DetectorConfig(**{"threshold": 0.5, **kw}), STEP)
    fed, start = [], 0
    while start < len(p):
        n = int(rng.integers(1, 40))
        fed += [(start + i, t) for i, t in d.feed(p[start:start + n])]
        start += n
    assert len(streamed) > 10
    assert [(i, t.step, t.onset_step, t.score) for i, t in fed] == [(t.step, t.step, t.onset_step, t.score) for t in streamed]


def test_feed_does_not_skip_a_chunk_that_fires_only_through_the_window():
    """Every probability of the second chunk is at the threshold, but its mean with the first chunk's last
    one is above it: the chunk cannot be skipped."""
    d = TriggerDetector(DetectorConfig(threshold=0.5, smoothing=3, patience=1), STEP)
    assert d.feed(np.array([0.02, 0.02, 0.6])) == []  # score 0.21
    fired = d.feed(np.array([0.5, 0.5]))  # scores 0.37, then 0.53
    assert [i for i, _ in fired] == [1]


@pytest.mark.parametrize("bad", [{"threshold": 1.5}, {"smoothing": 0}, {"refractory_s": -1}, {"rearm_threshold": 0.9}])
def test_invalid_settings_are_refused(bad):
    with pytest.raises(ConfigError):
        DetectorConfig(**{"threshold": 0.5, **bad})


def test_overrides_and_unknown_keys():
    cfg = DetectorConfig().replace(threshold=0.7, patience=None)
    assert cfg.threshold == 0.7 and cfg.patience == 2 and cfg.rearm == 0.35
    with pytest.raises(ConfigError, match="unknown detector setting"):
        DetectorConfig().replace(treshold=0.7)


def test_a_new_threshold_scales_the_cards_rearm_level():
    card = DetectorConfig(threshold=0.8, rearm_threshold=0.4)
    assert card.replace(threshold=0.2).rearm == pytest.approx(0.1)
    assert card.replace(threshold=0.2, rearm_threshold=0.15).rearm == 0.15
