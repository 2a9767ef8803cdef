"""The Python API: same detections from files, arrays and chunk iterables of any size, format and rate."""
import threading

import numpy as np
import pytest
from scipy.signal import resample_poly

from conftest import PLUMBING_THRESHOLD
from wakeword import Detection, Engine


@pytest.fixture(scope="module")
def engine():
    return Engine(["hey_ssafy"])


@pytest.fixture(scope="module")
def plumbing():
    return Engine(["hey_ssafy"], threshold=PLUMBING_THRESHOLD)


def trace(engine, chunks, rate=16000):
    probs = []
    hook = engine.on_scores(lambda name, p: probs.append(p))
    try:
        events = list(engine.detect(chunks, sample_rate=rate))
    finally:
        engine.off_scores(hook)
    return np.concatenate(probs), events


def test_phrase_in_noise_gives_one_event(engine, phrase):
    path, end, _ = phrase
    events = list(engine.detect(path))
    assert len(events) == 1
    d = events[0]
    assert isinstance(d, Detection) and d.wake_word == "hey_ssafy" and d.file == str(path)
    assert end <= d.time <= end + 0.6 and d.time <= d.detected_at
    assert d.score >= engine.detector_config("hey_ssafy").threshold


def test_negative_speech_gives_nothing(engine, negative):
    assert list(engine.detect(negative[0])) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_chunking_gives_same_probabilities_and_events(plumbing, phrase, seed):
    engine = plumbing
    audio = phrase[2]
    whole_p, whole_e = trace(engine, [audio])
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.integers(0, len(audio), rng.integers(1, 400)))
    chunk_p, chunk_e = trace(engine, np.split(audio, cuts))
    assert len(whole_p) == len(chunk_p) and np.abs(whole_p - chunk_p).max() <= 1e-6
    strip = lambda es: [(e.wake_word, e.time, e.detected_at, e.score) for e in es]  # noqa: E731
    assert strip(whole_e) == strip(chunk_e) and len(whole_e) == 1


@pytest.mark.parametrize("rate,channels,dtype", [(16000, 1, np.int16), (48000, 2, np.float32), (44100, 1, np.int16),
                                                 (22050, 2, np.int32), (8000, 1, np.float64)])
def test_any_rate_channels_and_sample_type(plumbing, phrase, rate, channels, dtype):
    engine = plumbing
    audio, end = phrase[2], phrase[1]
    x = audio if rate == 16000 else resample_poly(audio, rate // np.gcd(rate, 16000), 16000 // np.gcd(rate, 16000))
    if channels == 2:
        x = np.stack([x, x * 0.5], axis=1)
    if dtype in (np.int16, np.int32):
        x = (np.clip(x, -1, 1) * np.iinfo(dtype).max).astype(dtype)
    else:
        x = x.astype(dtype)
    chunks = np.array_split(x, 97)
    events = list(engine.detect(chunks, sample_rate=rate))
    assert len(events) == 1 and end - 0.05 <= events[0].time <= end + 0.6


def test_callbacks_iterator_and_context_manager(phrase):
    path, end, audio = phrase
    got, raised = [], threading.Event()

    with Engine(["hey_ssafy"], threshold=PLUMBING_THRESHOLD) as engine:
        @engine.on_detection
        def bad(d):
            raised.set()
            raise RuntimeError("a broken consumer must not stop detection")

        engine.on_detection(got.append)
        engine.start([audio, audio], sample_rate=16000)  # one stream: the phrase twice, > 2 s apart
        iterated = list(engine.events(timeout=30))
        engine.wait(timeout=30)
    assert raised.is_set()
    assert len(iterated) == 2 and [d.sequence for d in got] == [d.sequence for d in iterated]
    assert iterated[1].time - iterated[0].time == pytest.approx(len(audio) / 16000, abs=0.05)


def test_stop_ends_an_endless_source(phrase):
    audio = phrase[2]

    def endless():
        while True:
            yield audio[:1600]

    engine = Engine(["hey_ssafy"]).start(endless(), sample_rate=16000)
    threading.Timer(0.3, engine.stop).start()
    engine.wait(timeout=5)
    assert not engine._thread.is_alive()


def test_two_models_share_one_front_end(phrase):
    audio = phrase[2]
    both = Engine(["hey_ssafy", "alexa"], threshold=PLUMBING_THRESHOLD)
    probs = {}
    both.on_scores(lambda name, p: probs.setdefault(name, []).append(p))
    events = list(both.detect([audio]))
    single_p, _ = trace(Engine(["alexa"], threshold=PLUMBING_THRESHOLD), [audio])
    assert np.array_equal(np.concatenate(probs["alexa"]), single_p)
    assert [e.wake_word for e in events] == ["hey_ssafy"]


def test_threshold_override(phrase):
    assert list(Engine(["hey_ssafy"], threshold=0.999).detect(phrase[0])) == []


def test_detector_overrides_from_config_and_threshold_argument():
    e = Engine(["hey_ssafy"], detector={"threshold": 0.7, "patience": 4})
    cfg = e.detector_config("hey_ssafy")
    assert cfg.threshold == 0.7 and cfg.patience == 4
    assert Engine(["hey_ssafy"], threshold=0.6, detector={"threshold": 0.7}).detector_config("hey_ssafy").threshold == 0.6


def test_unread_events_are_bounded_and_the_newest_kept(phrase, monkeypatch):
    """A service that only uses callbacks never reads events(): the queue keeps the newest EVENTS_KEPT."""
    import wakeword.engine as engine_module

    monkeypatch.setattr(engine_module, "EVENTS_KEPT", 2)
    audio = phrase[2]
    got = []
    with Engine(["hey_ssafy"], threshold=PLUMBING_THRESHOLD) as engine:
        engine.on_detection(got.append)
        engine.start([audio] * 4, sample_rate=16000)
        engine.wait(timeout=60)
        kept = list(engine.events(timeout=1))
    assert len(got) == 4  # callbacks get every event
    assert [d.sequence for d in kept] == [got[3].sequence]  # 2 slots: the newest event and the end marker
