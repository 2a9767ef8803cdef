import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wakeword.features import FrontEndConfig, StreamingSpectrogram, spectrogram


def test_shape_and_values_match_a_direct_stft():
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    s = spectrogram(x)
    assert s.shape == (198, 101)  # (16000 - 200) // 80 + 1 frames, n_fft/2 + 1 bins
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(200) / 200)
    frame7 = np.fft.rfft(x[7 * 80:7 * 80 + 200] * win)
    np.testing.assert_allclose(s[7], np.log10(np.abs(frame7) ** 2 + 1e-10), atol=1e-4)


def test_silence_sits_at_the_log_floor():
    assert np.allclose(spectrogram(np.zeros(1000, np.float32)), -10.0)


def test_short_signal_has_no_frames():
    assert spectrogram(np.zeros(199, np.float32)).shape == (0, 101)
    assert FrontEndConfig().num_frames(200) == 1


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 6000), cuts=st.lists(st.integers(0, 6000), max_size=30), seed=st.integers(0, 2**16))
def test_chunked_streaming_equals_one_pass(n, cuts, seed):
    x = np.random.default_rng(seed).uniform(-1, 1, n).astype(np.float32)
    whole = spectrogram(x)
    fe = StreamingSpectrogram()
    parts = [fe.process(c) for c in np.split(x, sorted(c for c in cuts if c <= n))]
    streamed = np.concatenate(parts) if parts else np.zeros((0, 101), np.float32)
    assert streamed.shape == whole.shape
    assert np.abs(streamed - whole).max(initial=0) <= 1e-5


def test_one_sample_chunks():
    x = np.random.default_rng(1).uniform(-1, 1, 1000).astype(np.float32)
    fe = StreamingSpectrogram()
    streamed = np.concatenate([fe.process(x[i:i + 1]) for i in range(len(x))])
    assert np.abs(streamed - spectrogram(x)).max() <= 1e-5
