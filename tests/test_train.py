"""Training pipeline: the seed architecture, the step-model export, and the smallest full run."""
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import tensorflow  # noqa: E402,F401  (the [train] extra; script/test installs it)

from wakeword.model.card import ModelCard  # noqa: E402
from wakeword.model.flatbuffer import flex_ops  # noqa: E402
from wakeword.model.runner import StepModel  # noqa: E402
from wakeword.train import export  # noqa: E402
from wakeword.train.export_stage import step_outputs_tflite  # noqa: E402
from wakeword.train.keras_model import EXPECTED_PARAMS, build  # noqa: E402

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


def test_step_model_reproduces_the_keras_model_per_step():
    model = randomized_model()
    x = np.random.default_rng(1).normal(-4, 2, (2, 203, 101)).astype(np.float32)
    ref = model.predict(x, verbose=0)[..., 0]
    w = export.fold_weights(model)
    data = export.convert(w)
    assert flex_ops(data) == set()
    tensors = export.signature_tensors(data)
    for seq, r in zip(x, ref):
        assert np.abs(step_outputs_tflite(data, tensors, seq) - r).max() <= 1e-4
    q = export.convert(w, quantize=True)
    assert len(q) < len(data) / 3
    assert np.abs(step_outputs_tflite(q, export.signature_tensors(q), x[0]) - ref[0]).max() <= 0.05


def test_smallest_full_pipeline_run(tmp_path, real_speech_dir):
    from wakeword.train.clips import ClipSet
    from wakeword.train.pipeline import _shrink, backgrounds_stage, clip_stages, run
    from wakeword.train.recipe import Recipe
    from wakeword.train.voices import Voice

    out = tmp_path / "models"
    # the shipped recipe with two training draws, so the validate stage that picks between them runs too, and
    # with freshly mixed windows in the fine-tune (mining.fresh_windows, off in the shipped recipes)
    data = yaml.safe_load((REPO / "recipes" / "hey_ssafy.yaml").read_text())
    data["training"]["draws"] = 2
    data["mining"]["fresh_windows"] = 4000
    data["real_speech_dir"] = str(real_speech_dir)
    recipe_path = tmp_path / "hey_ssafy.yaml"
    recipe_path.write_text(yaml.safe_dump(data))
    run(str(recipe_path), str(out), str(tmp_path / "cache"), quick=True)
    card = ModelCard.load(out / "hey_ssafy.yaml")
    m = StepModel(card)  # the card agrees with its model
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
    # several draws: each trained (side by side), one kept by the validation set and named in the card
    assert len(list((tmp_path / "cache" / "hey_ssafy").glob("export-*/done"))) == 2
    finetunes = list((tmp_path / "cache" / "hey_ssafy").glob("finetune-*"))
    assert len(finetunes) == 2 and not any((d / "fresh").exists() for d in finetunes)  # made, used, removed
    validation = json.loads((reports / "validation.json").read_text())
    assert validation["picked_run"] == raw["training"]["run"] in (0, 1)
    assert raw["training"]["draw_selection"]["why"] == validation["why"]
    if validation["draws"]:  # the validation voices are installed (script/install-voices)
        assert [row["run"] for row in validation["draws"]] == [0, 1]
        assert min(validation["draws"], key=lambda row: row["score"])["run"] == validation["picked_run"]
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
    from wakeword.train.voices import Prosody, Voice, synthesize

    voice = Voice("pico", "en-GB")
    slow_low, sr = synthesize(voice, "Hey Saffy & co", Prosody(rate=0.8, pitch=0.8))
    fast_high, _ = synthesize(voice, "Hey Saffy & co", Prosody(rate=1.25, pitch=1.3))
    assert len(fast_high) < 0.85 * len(slow_low)
    assert 1.3 < _pitch(fast_high, sr) / _pitch(slow_low, sr) < 1.9


def test_voice_check_says_why_an_installed_voice_fails(monkeypatch, capsys):
    """An engine that is installed but cannot speak a voice (a corrupted model wheel, a missing voice file) is named
    with its error, not just listed as missing."""
    from wakeword.train import voices

    broken = voices.Voice("espeak", "xx-no-such-voice")
    monkeypatch.setattr(voices, "all_voices", lambda: [voices.Voice("espeak", "en-us"), broken])
    assert voices.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert "missing (1): espeak:xx-no-such-voice" in out
    assert "espeak:xx-no-such-voice is installed but fails: CalledProcessError" in out


def test_voices_that_misspeak_a_spelling_only_get_the_ones_they_say_right(tmp_path):
    from wakeword.train.clips import phrase_jobs, spread_jobs
    from wakeword.train.recipe import Recipe
    from wakeword.train.voices import Voice

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


def test_spectral_tilt_is_a_slope_of_the_given_decibels_across_the_band():
    from wakeword.train.fit import tilt_spectra

    x = np.random.default_rng(0).standard_normal((2, 5, 101)).astype(np.float32)
    y = tilt_spectra(x, np.array([10.0, -20.0]))
    d = y - x
    np.testing.assert_allclose(d[:, :, -1] - d[:, :, 0], [[1.0] * 5, [-2.0] * 5], atol=1e-6)  # log10 power: 10 dB = 1
    np.testing.assert_allclose(d[:, :, 50], 0, atol=1e-6)  # pivots on the middle bin: loudness unchanged


def test_darken_weakens_the_upper_band_and_keeps_the_low_one():
    from wakeword.train.mixing import darken

    def band_db(audio: np.ndarray, lo: int, hi: int) -> float:  # one second at 16 kHz: rfft bin k is k Hz
        return float(10 * np.log10(np.sum(np.abs(np.fft.rfft(audio)[lo:hi]) ** 2)))

    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    y = darken(x, np.random.default_rng(1))
    assert band_db(y, 4000, 8000) < band_db(x, 4000, 8000) - 9
    assert abs(band_db(y, 50, 400) - band_db(x, 50, 400)) < 1.5


def test_evaluation_deals_its_negative_clips_every_one_once_before_any_twice():
    from itertools import islice

    from wakeword.train.evaluate import deal_indices

    got = list(islice(deal_indices(40, np.random.default_rng(3)), 100))
    assert sorted(got[:40]) == list(range(40)) and sorted(got[40:80]) == list(range(40))
    assert got[:40] != got[40:80]  # each round is shuffled anew
    drawn = np.random.default_rng(3).integers(40, size=40)
    assert len(set(drawn)) < 40  # drawing with replacement repeats clips early: what dealing prevents


def test_new_options_at_their_default_keep_cached_stages_valid():
    from wakeword.train.recipe import Mining, Training, stage_key

    plain = stage_key("train", Training())
    later = {"freq_warp": 0.1, "average_last": 3, "max_pool_loss": 1.0, "run": 1, "spectral_tilt": 6.0,
             "draws": 2}  # options added later
    assert stage_key("train", Training(**{k: getattr(Training(), k) for k in later})) == plain  # at their default
    for k, v in later.items():
        assert stage_key("train", Training(**{k: v})) != plain, k
    assert stage_key("train", Training(epochs=Training().epochs + 1)) != plain  # ordinary fields always count
    assert stage_key("mine", Mining(fresh_windows=0)) == stage_key("mine", Mining())
    assert stage_key("mine", Mining(fresh_windows=4000)) != stage_key("mine", Mining())


def test_weights_are_averaged_over_the_last_epochs():
    import keras

    from wakeword.train.fit import AverageLastEpochs

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    cb = AverageLastEpochs(2, 3)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate([1.0, 2.0, 4.0]):
        model.set_weights([np.full_like(w, value) for w in model.get_weights()])
        cb.on_epoch_end(epoch)
    cb.on_train_end()
    assert all(np.allclose(w, 3.0) for w in model.get_weights())  # mean of the last two epochs, not of all three


def test_max_pooling_loss_weighs_the_best_step_of_a_positive_and_the_worst_of_a_negative():
    import tensorflow as tf

    from wakeword.train.fit import step_loss

    y = np.zeros((2, 10, 1), np.float32)
    y[0, 6:9] = 1  # window 0: phrase end at step 6; window 1: a negative
    p = np.full((2, 10, 1), 0.01, np.float32)
    p[0, 6:9] = [[0.2], [0.9], [0.3]]  # one confident step inside the label span
    p[1, 4] = 0.8  # one negative peak
    plain, pooled = (step_loss(w)(tf.constant(y), tf.constant(p)).numpy() for w in (0.0, 1.0))
    np.testing.assert_allclose(pooled - plain, [-np.log(0.9), -np.log(1 - 0.8)], rtol=1e-4)
    assert step_loss(0.0)(tf.constant(y), tf.constant(p)).shape == (2,)


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
    """Kokoro (five Japanese styles from its wheels, 28 English ones from script/install-kokoro-voices) and hibari
    run offline; the shipped model hears the phrase in each."""
    from scipy.signal import resample_poly

    from wakeword.engine import Engine
    from wakeword.train.voices import Prosody, Voice, available_voices, synthesize

    found = {v.id for v in available_voices()}
    engine = Engine([REPO / "models" / "hey_ssafy.yaml"])
    peaks = {}
    engine.on_scores(lambda name, p: peaks.__setitem__("now", max(peaks.get("now", 0.0), float(p.max()))))
    pitches = {}
    for voice, pitch in [(Voice("kokoro", "jf_alpha"), 1.0), (Voice("kokoro", "jm_kumo"), 1.0),
                         (Voice("kokoro", "af_heart"), 1.0), (Voice("kokoro", "am_adam"), 1.0),
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
    assert pitches["kokoro:am_adam", 1.0] < 0.85 * pitches["kokoro:af_heart", 1.0]
    assert 1.15 < pitches["hibari:heart", 1.3] / pitches["hibari:heart", 1.0] < 1.45  # Prosody.pitch moves hibari


def test_a_missing_or_corrupted_kokoro_english_style_says_how_to_install_it(tmp_path, monkeypatch):
    """Kokoro's English styles are files outside the wheels: without them the voice is unusable (the probe drops
    it) and says which script installs it; a truncated file is not read as a voice."""
    from wakeword.train import neural_voices
    from wakeword.train.voices import Voice, synthesize

    monkeypatch.setenv("WAKEWORD_VOICE_DATA", str(tmp_path))
    with pytest.raises(OSError, match="not installed: run script/install-kokoro-voices"):
        synthesize(Voice("kokoro", "bf_lily"), "hello")
    (tmp_path / "kokoro-js-1.2.1").mkdir()
    for name in neural_voices.KOKORO_EN_STYLES:  # every clip blends in another style
        (tmp_path / "kokoro-js-1.2.1" / f"{name}.bin").write_bytes(b"\0" * 1000)
    with pytest.raises(OSError, match="corrupted"):
        neural_voices.kokoro("bf_lily", "hello", 1.0, 0)


def test_kokoro_english_voices_train_only_where_the_recipe_asks(tmp_path):
    """The shipped recipes were trained without Kokoro's English styles, so installing them must not change what
    those recipes make; `synthesis.kokoro_english` adds them to every clip set the training voices say."""
    from wakeword.train import neural_voices
    from wakeword.train.pipeline import _shrink, clip_stages
    from wakeword.train.recipe import Recipe

    recipe = Recipe.load(REPO / "recipes" / "hey_ssafy.yaml")
    _shrink(recipe)

    def kokoro_styles() -> set[str]:
        jobs = clip_stages(recipe, tmp_path, quick=True)["positives"][1]
        return {j.voice.name for j in jobs if j.voice.engine == "kokoro"}

    assert kokoro_styles() == set(neural_voices.KOKORO_STYLES)
    recipe.synthesis.kokoro_english = True
    assert kokoro_styles() == set(neural_voices.KOKORO_STYLES + neural_voices.KOKORO_EN_STYLES)


def test_validation_scores_a_model_better_on_its_phrase_than_on_other_words():
    """validate.score picks among training draws, so it must tell a model that hears the phrase from one that
    does not: the shipped model scored with its phrase as positives, then with another wake word in their place."""
    from wakeword import evaluation as ev
    from wakeword.train import clips, validate
    from wakeword.train.recipe import Recipe
    from wakeword.train.voices import Prosody, Voice

    recipe = Recipe.load(REPO / "recipes" / "hey_ssafy.yaml")
    recipe.validation.hours = 0.05
    voices = [Voice("espeak", f"en-gb-scotland+{v}") for v in ("m1", "m3", "f2", "f4")]

    def say(texts: list[str]) -> list[np.ndarray]:
        jobs = [clips.Job(v, t, Prosody(rate=r), 1) for v in voices for t in texts for r in (0.9, 1.1)]
        return clips.render(jobs, "test clips").clips

    phrase, other = say(["[[h'eI s'afi]]", "Hey Saffy"]), say(["hey siri", "hello there"])
    sentences = say(["the weather is nice today", "please close the door behind you"])
    noise = [ev.colored_noise(16000 * 30, np.random.default_rng(0))]
    card = ModelCard.load(REPO / "models" / "hey_ssafy.yaml")
    hears = validate.score(recipe, card, phrase, sentences, noise)
    deaf = validate.score(recipe, card, other, sentences, noise)
    assert set(hears["frr"]) == {"0.5 FA/h", "1 FA/h", "2 FA/h"}
    assert hears["score"] < 0.5 < deaf["score"]


def test_a_bad_recipe_is_one_line_naming_the_key(tmp_path):
    import pytest

    from wakeword.train.pipeline import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nphrase: X\nphrase_texts: [x]\ntraining:\n  draws: 0\n")
    with pytest.raises(SystemExit) as e:
        main([str(bad)])
    assert "training.draws" in str(e.value) and "\n" not in str(e.value)
