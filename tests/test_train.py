"""Training pipeline: the seed architecture, the step-model export, and the smallest full run."""
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import tensorflow  # noqa: F401  (the [train] extra; script/test installs it)

from wakeword.model.card import ModelCard
from wakeword.model.flatbuffer import flex_ops
from wakeword.model.runner import StepModel
from wakeword.train import export
from wakeword.train.keras_model import EXPECTED_PARAMS, build

REPO = Path(__file__).resolve().parent.parent


def randomized_model():
    """The seed model with non-trivial BatchNorm statistics, so folding is really exercised."""
    model = build(0.5)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if layer.name.startswith("bn"):
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.2, b.shape), rng.normal(0, 0.5, m.shape),
                               rng.uniform(0.5, 2, v.shape)])
    return model


def test_every_layer_has_the_seed_parameter_count():
    model = build()
    assert {layer.name: layer.count_params() for layer in model.layers if layer.name in EXPECTED_PARAMS} == EXPECTED_PARAMS
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Conv1D", "BatchNormalization", "Activation", "Dropout", "GRU", "Dropout",
                     "BatchNormalization", "GRU", "Dropout", "BatchNormalization", "Dropout", "Dense"]


def test_step_model_reproduces_the_keras_model_per_step(tmp_path):
    """Both exports, run by the runtime's own StepModel, give the Keras model's per-step probabilities."""
    model = randomized_model()
    x = np.random.default_rng(1).normal(-4, 2, (2, 203, 101)).astype(np.float32)
    ref = model.predict(x, verbose=0)[..., 0]
    w = export.fold_weights(model)
    data = export.convert(w)
    assert flex_ops(data) == set()
    (tmp_path / "model.tflite").write_bytes(data)
    assert export.max_step_error(tmp_path / "model.tflite", export.signature_tensors(data), x, ref) <= 1e-4
    q = export.convert(w, quantize=True)
    assert len(q) < len(data) / 3
    (tmp_path / "model_int8.tflite").write_bytes(q)
    assert export.max_step_error(tmp_path / "model_int8.tflite", export.signature_tensors(q), x[:1], ref[:1]) <= 0.05


def test_smallest_full_pipeline_run(tmp_path, real_speech_dir):
    from wakeword.train.data.clips import ClipSet
    from wakeword.train.dataset import backgrounds_stage, clip_stages
    from wakeword.train.pipeline import _shrink, run
    from wakeword.train.recipe import Recipe
    from wakeword.train.data.voices import Voice

    out = tmp_path / "models"
    # the shipped recipe, its real speech from the tiny folder of the real_speech_dir fixture
    data = yaml.safe_load((REPO / "recipes" / "hey_ssafy.yaml").read_text())
    data["real_speech_dir"] = str(real_speech_dir)
    recipe_path = tmp_path / "hey_ssafy.yaml"
    recipe_path.write_text(yaml.safe_dump(data))
    run(str(recipe_path), str(out), str(tmp_path / "cache"), quick=True)
    card = ModelCard.load(out / "hey_ssafy.yaml")
    m = StepModel(card)  # the card agrees with its model, its self-check included
    assert len(card.raw["check"]["state_values"]) == 16
    assert flex_ops(card.model_path.read_bytes()) == set()
    raw = yaml.safe_load((out / "hey_ssafy.yaml").read_text())
    assert set(raw["accuracy"]["operating_points"]) <= {"0.1 FA/h", "0.5 FA/h", "1 FA/h"}
    assert 0 < raw["detector"]["threshold"] < 1
    # the threshold also held real tuning speech within the target, alone and over noise
    assert "tuning speakers" in raw["accuracy"]["real_negatives"]
    for point in raw["accuracy"]["operating_points"].values():
        assert {"fa_per_hour", "fa_per_hour_real_clean", "fa_per_hour_real_10db"} <= set(point)
    reports = out / "reports" / "hey_ssafy"
    assert (reports / "det.png").stat().st_size > 1000 and (reports / "example.png").stat().st_size > 1000
    assert StepModel(ModelCard.load(reports / "hey_ssafy_float32.yaml")).backend == m.backend
    results = json.loads((reports / "results.json").read_text())
    assert len(results["curve"]) > 10
    by_family = results["accuracy"]["recall_by_family_10db"]  # every held-out family the quick run could voice
    assert by_family and set(by_family) <= set(yaml.safe_load((REPO / "recipes" / "hey_ssafy.yaml").read_text())
                                               ["holdout_families"])
    assert all(0 <= r <= 1 for r in by_family.values())
    assert len(list((tmp_path / "cache" / "hey_ssafy").glob("clips_confusables-*/done"))) == 1
    assert raw["training"]["run"] == 0
    # benchmarks find the clip sets and backgrounds this recipe used by their keys, not by age (another recipe's
    # may be newer)
    shrunk = Recipe.load(recipe_path)
    _shrink(shrunk)
    assert backgrounds_stage(shrunk, tmp_path / "cache", quick=True).done
    stages = clip_stages(shrunk, tmp_path / "cache", quick=True)
    assert all(st.done for st, _ in stages.values())
    held = ClipSet.load(stages["eval_positives"][0].dir / "clips.npz")
    assert {Voice.parse(v).family for v in held.voices} <= set(shrunk.holdout_families)
    # a rerun reuses every cached stage
    run(str(recipe_path), str(out), str(tmp_path / "cache"), quick=True)


def test_pico_follows_prosody():
    """pico2wave has no speed or pitch options; through its markup every clip of a text still differs (before, all
    46 held-out pico clips of "Hey Saffy" were one recording)."""
    from wakeword.train.data.voices import Prosody, Voice, synthesize

    voice = Voice("pico", "en-GB")
    slow_low, sr = synthesize(voice, "Hey Saffy & co", Prosody(rate=0.8, pitch=0.8))
    fast_high, _ = synthesize(voice, "Hey Saffy & co", Prosody(rate=1.25, pitch=1.3))
    assert len(fast_high) < 0.85 * len(slow_low)
    assert 1.3 < _pitch(fast_high, sr) / _pitch(slow_low, sr) < 1.9


def test_voice_check_says_why_an_installed_voice_fails(monkeypatch, capsys):
    """An engine that is installed but cannot speak a voice (a corrupted model wheel, a missing voice file) is named
    with its error, not just listed as missing."""
    from wakeword.train.data import voices

    broken = voices.Voice("espeak", "xx-no-such-voice")
    monkeypatch.setattr(voices, "all_voices", lambda: [voices.Voice("espeak", "en-us"), broken])
    assert voices.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert "missing (1): espeak:xx-no-such-voice" in out
    assert "espeak:xx-no-such-voice is installed but fails: CalledProcessError" in out


def test_voices_that_misspeak_a_spelling_only_get_the_ones_they_say_right(tmp_path):
    from wakeword.train.data.clips import phrase_jobs, spread_jobs
    from wakeword.train.recipe import Recipe
    from wakeword.train.data.voices import Voice

    recipe = Recipe.load(REPO / "recipes" / "hey_ssafy.yaml")
    gb, us, espeak = Voice("pico", "en-GB"), Voice("pico", "en-US"), Voice("espeak", "en-us+f3")
    assert set(recipe.texts_for(gb)) == set(recipe.voice_texts["pico:en-GB"]) < set(recipe.phrase_texts)
    assert recipe.texts_for(us) == recipe.phrase_texts  # the override is per family, not per engine
    assert set(recipe.texts_for(espeak)) == set(recipe.phrase_texts) | set(recipe.espeak_phonemes)
    rng = np.random.default_rng(0)
    jobs = phrase_jobs([gb, us], {"pico": 50}, recipe.texts_for, rng) + \
        spread_jobs([gb, us], recipe.texts_for, 200, rng)
    assert {j.text for j in jobs if j.voice == gb} == set(recipe.voice_texts["pico:en-GB"])
    assert {j.text for j in jobs if j.voice == us} == set(recipe.phrase_texts)


def test_frequency_warp_moves_formants_and_keeps_the_shape():
    from wakeword.train.fit import warp_frequencies

    x = np.zeros((3, 4, 101), np.float32)
    x[:, :, 40] = 1.0
    y = warp_frequencies(x, np.array([1.0, 1.1, 0.9]))
    assert y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_array_equal(y[0], x[0])
    assert np.argmax(y[1, 0]) == 44 and np.argmax(y[2, 0]) == 36  # 40 bins * factor
    assert np.all(y[1, 1:] == y[1, :1])  # every frame warped alike


def test_channel_colour_is_one_smooth_bounded_curve_per_window():
    from wakeword.train.fit import colour_channel

    x = np.random.default_rng(1).normal(-4, 1, (200, 5, 101)).astype(np.float32)
    y = colour_channel(x, np.random.default_rng(2), 15.0)
    assert y.shape == x.shape and y.dtype == x.dtype
    added = (y - x) * 10  # dB
    np.testing.assert_allclose(added, added[:, :1, :].repeat(5, axis=1), atol=1e-4)  # every frame alike
    curve = added[:, 0, :]
    assert np.abs(curve).max() <= 15 / 2 + 3 * 15 / 5 + 1e-3  # tilt ± half the range, ripples ± a fifth each
    tilt = curve[:, -1] - curve[:, 0] - (curve[:, -1] - curve[:, 0]).mean()
    assert tilt.std() > 5  # windows differ: a new curve per window
    assert np.abs(np.diff(curve, axis=1)).max() < 1.0  # smooth: under 1 dB between neighbouring bins


def test_evaluation_deals_its_negative_clips_every_one_once_before_any_twice():
    from itertools import islice

    from wakeword.train.evaluate import deal_indices

    got = list(islice(deal_indices(40, np.random.default_rng(3)), 100))
    assert sorted(got[:40]) == list(range(40)) and sorted(got[40:80]) == list(range(40))
    assert got[:40] != got[40:80]  # each round is shuffled anew
    drawn = np.random.default_rng(3).integers(40, size=40)
    assert len(set(drawn)) < 40  # drawing with replacement repeats clips early: what dealing prevents


def test_new_options_at_their_default_keep_cached_stages_valid():
    from wakeword.train.cache import stage_key
    from wakeword.train.recipe import Training

    plain = stage_key("train", Training())
    later = {"freq_warp": 0.1, "run": 1, "channel_eq": 15}  # options added later
    assert stage_key("train", Training(**{k: getattr(Training(), k) for k in later})) == plain  # at their default
    for k, v in later.items():
        assert stage_key("train", Training(**{k: v})) != plain, k
    assert stage_key("train", Training(epochs=Training().epochs + 1)) != plain  # ordinary fields always count


def test_training_run_moves_only_the_training_seed():
    from wakeword.train.recipe import Recipe, Training

    a = Recipe("x", "X", ["x"], seed=5)
    b = Recipe("x", "X", ["x"], seed=5, training=Training(run=2))
    assert a.training_seed == 5 and b.training_seed not in (5, 6) and b.seed == 5  # clip sets keep the recipe seed


def _pitch(audio: np.ndarray, sr: int) -> float:
    """Median autocorrelation pitch (Hz) over the loud 40 ms frames."""
    n, found = int(0.04 * sr), []
    for i in range(0, len(audio) - n, n // 2):
        x = audio[i:i + n]
        if np.sqrt(np.mean(x ** 2)) < 0.05 * np.abs(audio).max():
            continue
        c = np.correlate(x, x, "full")[n - 1:]
        lo, hi = sr // 400, sr // 60
        k = lo + int(np.argmax(c[lo:hi]))
        if c[k] > 0.3 * c[0]:
            found.append(sr / k)
    return float(np.median(found))


def test_neural_voices_from_wheels_say_the_phrase():
    """Kokoro (five Japanese styles from its wheels) and hibari run offline; the shipped model hears the phrase in
    each."""
    from scipy.signal import resample_poly

    from wakeword.engine import Engine
    from wakeword.train.data.voices import Prosody, Voice, available_voices, synthesize

    found = {v.id for v in available_voices()}
    engine = Engine([REPO / "models" / "hey_ssafy.yaml"])
    peaks = {}
    engine.on_scores(lambda name, p: peaks.__setitem__("now", max(peaks.get("now", 0.0), float(p.max()))))
    pitches = {}
    for voice, pitch in [(Voice("kokoro", "jf_alpha"), 1.0), (Voice("kokoro", "jm_kumo"), 1.0),
                         (Voice("hibari", "heart"), 1.0), (Voice("hibari", "heart"), 1.3)]:
        assert voice.id in found
        audio, sr = synthesize(voice, "Hey Saffy", Prosody(pitch=pitch), seed=1)
        assert sr == 24000 and 0.5 < len(audio) / sr < 2.0 and np.abs(audio).max() > 0.05
        pitches[voice.id, pitch] = _pitch(audio, sr)
        x = resample_poly(audio, 2, 3).astype(np.float32)
        peaks["now"] = 0.0
        engine.reset(16000)
        engine.process(np.concatenate([np.zeros(8000, np.float32), 0.5 * x / np.abs(x).max(), np.zeros(16000, np.float32)]))
        assert peaks["now"] > 0.5, voice.id
    assert pitches["kokoro:jm_kumo", 1.0] < 0.6 * pitches["kokoro:jf_alpha", 1.0]  # a male and a female style
    assert 1.15 < pitches["hibari:heart", 1.3] / pitches["hibari:heart", 1.0] < 1.45  # Prosody.pitch moves hibari


def test_a_bad_recipe_is_one_line_naming_the_key(tmp_path):

    from wakeword.train.pipeline import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nphrase: X\nphrase_texts: [x]\ntraining:\n  epochz: 3\n")
    with pytest.raises(SystemExit) as e:
        main([str(bad)])
    assert "epochz" in str(e.value) and "\n" not in str(e.value)
