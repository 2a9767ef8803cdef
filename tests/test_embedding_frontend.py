"""benchmarks/embedding_frontend.py: the speech embedding's timing, its samples' labels, and its per-step trace.

The embedding comes from the openwakeword 0.4.0 wheel, fetched with pip into .cache/downloads/ on first use."""
import sys

import numpy as np
import pytest

from conftest import REPO
from wakeword.audio.signal import SR
from wakeword.model.geometry import StepGeometry
from wakeword.train.data.mixing import Sources, make_features
from wakeword.train.recipe import Mixing

pytest.importorskip("onnxruntime")
sys.path.insert(0, str(REPO / "benchmarks"))
import embedding_frontend as ef  # noqa: E402


def test_embeddings_of_a_long_stream_in_chunks_are_those_of_one_call_and_tell_sounds_apart():
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.05, 5 * SR).astype(np.float32)
    whole, chunked = ef.embeddings(audio, chunk_frames=100_000), ef.embeddings(audio, chunk_frames=37)
    mel_frames = (len(audio) - ef.MEL_WIN) // ef.MEL_HOP + 1
    assert whole.shape == ((mel_frames - ef.SPAN) // ef.STRIDE + 1, ef.DIM)
    np.testing.assert_allclose(chunked, whole, atol=1e-4)
    assert ef.end_times(len(whole))[-1] <= len(audio) / SR  # every embedding ends inside the audio
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(5 * SR) / SR)).astype(np.float32)
    assert np.abs(ef.embeddings(tone) - whole).mean() > 1


def test_each_embedding_takes_the_label_of_the_first_step_ending_after_it():
    geom = StepGeometry()
    n_steps = geom.num_steps(geom.frontend.num_frames(2 * SR))
    steps = ef.label_steps(16, n_steps)
    ends, step_ends = ef.end_times(16), geom.step_end_times(n_steps)
    assert (step_ends[steps] >= ends - 1e-6).all() and (step_ends[steps] - ends < geom.step_seconds).all()
    y = np.zeros((2, n_steps), np.float32)
    y[1, steps[-1]] = 1  # window 1's phrase ends right before its last embedding
    e = np.random.default_rng(1).normal(size=(2, 16, ef.DIM)).astype(np.float32)
    x, labels = ef.samples(e, y)
    runs = 16 - ef.CONTEXT + 1
    assert x.shape == (2 * runs, ef.CONTEXT, ef.DIM) and labels.sum() == 1
    assert labels[-1] == 1 and np.array_equal(x[-1], e[1, -ef.CONTEXT:])  # the last run of window 1


def test_the_classifier_becomes_a_step_trace_that_changes_only_when_an_embedding_ends():
    class Newest:  # scores a run by its newest embedding's first number
        def predict(self, runs, batch_size, verbose):
            return runs[:, -1, :1]

    audio = np.random.default_rng(2).normal(0, 0.05, 3 * SR).astype(np.float32)
    trace = ef.step_probs(Newest(), [audio[:SR], audio[SR:]])
    geom = StepGeometry()
    assert len(trace) == geom.num_steps(geom.frontend.num_frames(len(audio)))
    e = ef.embeddings(audio)
    ends, step_ends = ef.end_times(len(e)), geom.step_end_times(len(trace))
    assert (trace[step_ends < ends[ef.CONTEXT - 1]] == 0).all()  # nothing before CONTEXT embeddings
    for j in range(ef.CONTEXT - 1, len(e)):
        at = (step_ends >= ends[j]) & (step_ends < (ends[j + 1] if j + 1 < len(e) else np.inf))
        np.testing.assert_allclose(trace[at], e[j, 0], atol=1e-4)


def test_mixed_windows_carry_their_audio_through_embed():
    speech = [np.random.default_rng(3).normal(0, 0.1, SR).astype(np.float32)]
    src = Sources([], [], speech, speech, [], [])
    x, y, e = make_features(src, Mixing(telephone=0.0), StepGeometry(), 0, 3, 4, embed=lambda a: a[None, :2])
    assert e.shape == (3, 1, 2) and e.dtype == np.float16
    x2, y2, none = make_features(src, Mixing(telephone=0.0), StepGeometry(), 0, 3, 4)
    assert none is None and np.array_equal(x, x2) and np.array_equal(y, y2)  # embedding draws nothing from the rng
