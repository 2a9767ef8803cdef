import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wakeword.features import PCEN_DELTA, FrontEndConfig, StreamingSpectrogram, spectrogram


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
@given(n=st.integers(0, 6000), cuts=st.lists(st.integers(0, 6000), max_size=30), seed=st.integers(0, 2**16),
       pcen=st.booleans())
def test_chunked_streaming_equals_one_pass(n, cuts, seed, pcen):
    x = np.random.default_rng(seed).uniform(-1, 1, n).astype(np.float32)
    config = FrontEndConfig(pcen=pcen)
    whole = spectrogram(x, config)
    fe = StreamingSpectrogram(config)
    parts = [fe.process(c) for c in np.split(x, sorted(c for c in cuts if c <= n))]
    streamed = np.concatenate(parts) if parts else np.zeros((0, 101), np.float32)
    assert streamed.shape == whole.shape
    assert np.abs(streamed - whole).max(initial=0) <= 1e-5


def test_one_sample_chunks():
    x = np.random.default_rng(1).uniform(-1, 1, 1000).astype(np.float32)
    fe = StreamingSpectrogram()
    streamed = np.concatenate([fe.process(x[i:i + 1]) for i in range(len(x))])
    assert np.abs(streamed - spectrogram(x)).max() <= 1e-5


def test_pcen_reads_a_steady_noise_the_same_at_any_level_and_a_rise_above_it():
    """What PCEN is for: a steady hiss settles near one value in every band whatever its level (each band's power
    over its running mean has a median of ln 2 in white noise: log1p(0.69 / delta)), so 40 dB of gain changes
    nothing; a tone 30 dB above the hiss stands out in its band and nowhere else."""
    config = FrontEndConfig(pcen=True)
    noise = np.random.default_rng(3).standard_normal(3 * 16000).astype(np.float32)
    quiet, loud = spectrogram(noise * 1e-3, config), spectrogram(noise * 0.1, config)
    settled = slice(200, None)  # after 1 s: a few time constants from the first frame
    assert np.abs(quiet[settled] - loud[settled]).max() < 1e-3
    assert abs(np.median(loud[settled]) - np.log1p(np.log(2) / PCEN_DELTA)) < 0.05
    tone = noise * 1e-3
    tone[32000:] += 0.03 * np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)  # 1 kHz: bin 12.5 of 101
    onset = spectrogram(tone, config)[400:404]  # the first frames wholly in the tone
    assert onset[:, 12:14].min() > 2.2 and np.median(onset[:, 40:]) < 1.0
