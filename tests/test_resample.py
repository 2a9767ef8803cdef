import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from wakeword.audio.resample import StreamingResampler, to_mono_float


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_streaming_matches_resample_poly(rate):
    x = np.random.default_rng(rate).standard_normal(rate)
    g = np.gcd(rate, 16000)
    ref = resample_poly(x, 16000 // g, rate // g)
    r = StreamingResampler(rate)
    out = np.concatenate([r.process(c) for c in np.array_split(x, 37)])
    assert len(ref) - len(out) < 30  # only the filter's look-ahead at the very end is missing
    assert np.abs(out - ref[: len(out)]).max() < 1e-5


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, 4410), max_size=20))
def test_chunk_sizes_do_not_matter(cuts):
    x = np.random.default_rng(0).standard_normal(4410)
    a = StreamingResampler(44100).process(x)
    r = StreamingResampler(44100)
    b = np.concatenate([r.process(c) for c in np.split(x, sorted(cuts))])
    assert len(a) == len(b) and np.abs(a - b).max(initial=0) < 1e-6


def test_16k_is_passthrough():
    x = np.arange(10, dtype=np.float32)
    assert np.array_equal(StreamingResampler(16000).process(x), x)


def test_to_mono_float_formats():
    assert to_mono_float(np.array([16384, -32768], np.int16)).tolist() == [0.5, -1.0]
    assert to_mono_float(np.array([[0.2, 0.4]], np.float32)).tolist() == pytest.approx([0.3])
    assert to_mono_float(np.array([[0.2, 0.4]], np.float32), channel=1).tolist() == pytest.approx([0.4])
    assert to_mono_float(np.array([128, 0], np.uint8)).tolist() == [0.0, -1.0]
    with pytest.raises(TypeError):
        to_mono_float(np.array(["a"]))
