"""Real speech (wakeword.train.data.real_speech): decoding the corpora, the speaker split, the phrase filter, the channel."""
import dataclasses
import subprocess

import numpy as np
import pytest

from conftest import REAL_SPEAKERS
from wakeword.audio.signal import SR
from wakeword.testing import tts, write
from wakeword.train.data import real_speech as rs


def test_mulaw_decoding_agrees_with_sox(tmp_path):
    speech = tts("the telephone rang twice")
    ulaw = tmp_path / "a.ulaw"
    subprocess.run(["sox", str(write(tmp_path / "a.wav", speech)), "-t", "ul", "-r", "8000", str(ulaw)], check=True)
    raw = subprocess.run(["sox", "-t", "ul", "-r", "8000", str(ulaw), "-t", "s16", "-"], capture_output=True,
                         check=True).stdout
    theirs = np.frombuffer(raw, np.int16) / 32768
    ours = rs.mulaw_decode(ulaw.read_bytes())
    assert len(ours) == len(theirs) and np.abs(ours - theirs).max() < 1e-6
    again = rs.mulaw_decode(rs._mulaw_encode(ours))  # the encoder inverts the decoder on its own code points
    assert np.abs(again - ours).max() < 1e-6


def test_parts_are_disjoint_by_speaker_and_read_every_described_file(real_speech_dir, tmp_path):
    parts = {p: rs.load(real_speech_dir, p, tmp_path) for p in rs.PARTS}
    speakers = {p: {u.speaker for u in utts} for p, utts in parts.items()}
    assert speakers["tuning"] == {"wuw:ann lee", "sc:0a1b2c3d"}
    assert speakers["training"] == {"wuw:cat kim", "sc:11111111"}
    assert speakers["test"] == {s for s, v in REAL_SPEAKERS.items() if "test" in v}
    test = parts["test"]
    assert not any("original" in u.path for u in test)  # takes that data.json does not describe are left out
    wuw = [u for u in test if u.corpus == "wuw"]
    assert len(wuw) == 11 and [u.keyword for u in wuw[1:6]] == list(rs.WUW_KEYWORDS)
    assert all(u.isolated for u in wuw[1:6]) and not any(u.isolated for u in wuw[6:])
    assert wuw[5].span[0] == 0.1 and abs(wuw[5].span[1] - (len(wuw[5].audio) / SR - 0.1)) < 0.01  # 8 kHz -> 16 kHz
    sc = [u for u in test if u.corpus == "speech_commands"]
    assert sorted(u.text for u in sc) == ["stop", "yes"] and all(0.2 < len(u.audio) / SR < 2 for u in sc)
    cached = rs.load(real_speech_dir, "test", tmp_path)  # read back from the cache: the very same samples, so
    assert [u.path for u in cached] == [u.path for u in test]  # a first run scores what every later one does
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(cached, test))
    assert sorted(f.name.split("-")[0] for f in tmp_path.iterdir()) == sorted(rs.PARTS)  # one whole file a part


def test_negatives_leave_out_every_utterance_that_says_the_phrase(real_speech_dir, tmp_path):
    test = rs.load(real_speech_dir, "test", tmp_path)
    assert len(rs.negatives(test, {"alexa"})) == len(test)
    assert len(rs.negatives(test, {"voyager"})) == len(test) - 2  # alone and in a sentence
    cut = rs.Utterance("x", "s", "wuw", "I think I'll take a trip on the Voyag-", None, None, False, np.zeros(1))
    assert cut.says({"voyager"}) and not cut.says({"wildfire"})


def test_the_telephone_channel_keeps_the_voice_band_and_drops_the_rest():
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    voice, high = 0.3 * np.sin(2 * np.pi * 1000 * t), 0.3 * np.sin(2 * np.pi * 6000 * t)
    out = rs.telephone((voice + high).astype(np.float32), rng)
    spectrum = np.abs(np.fft.rfft(out))
    assert len(out) == SR
    assert spectrum[6000] < spectrum[1000] / 100  # 6 kHz is gone (> 40 dB down), 1 kHz is kept
    assert 0.5 < spectrum[1000] / np.abs(np.fft.rfft(voice))[1000] < 1.5


def test_real_positives_are_the_chosen_training_speakers_renditions_cut_at_the_keyword(real_speech_dir, tmp_path):
    from wakeword.train import dataset
    from wakeword.train.recipe import Recipe

    training = rs.load(real_speech_dir, "training", tmp_path)
    said = [u for u in training if u.keyword == "wildfire"]
    assert len(said) == 2  # alone and in a sentence
    clips = rs.phrase_clips(training, {"wildfire"}, 1.0)
    assert len(clips) == 2
    for clip, u in zip(clips, said):  # from 0.3 s before the keyword to its end
        assert abs(len(clip) / SR - (min(u.span[1] + 0.02, len(u.audio) / SR) - max(0.0, u.span[0] - 0.3))) < 0.01
    assert rs.phrase_clips(training, {"wildfire"}, 0.0) == [] and rs.phrase_clips(training, {"alexa"}, 1.0) == []
    many = [dataclasses.replace(said[0], speaker=f"wuw:s{i}", audio=np.full(SR, i, np.float32)) for i in range(400)]
    chosen = [{int(c[0]) for c in rs.phrase_clips(many, {"wildfire"}, s)} for s in (0.25, 0.5, 1.0)]
    assert 70 < len(chosen[0]) < 130 and 170 < len(chosen[1]) < 230 and len(chosen[2]) == 400
    assert chosen[0] < chosen[1] < chosen[2]  # a share's speakers are among every larger share's
    plain = Recipe("wildfire", "Wildfire", ["Wildfire"], real_speech_dir=str(real_speech_dir))
    measured = Recipe("wildfire", "Wildfire", ["Wildfire"], real_speech_dir=str(real_speech_dir), real_positives=0.5)
    assert dataset.real_speech_key(plain) != dataset.real_speech_key(measured)  # other windows, another stage
    everyone = Recipe("wildfire", "Wildfire", ["Wildfire"], real_speech_dir=str(real_speech_dir), real_positives=1.0)
    assert dataset.real_positives(plain) == [] and len(dataset.real_positives(everyone)) == 2
    nobody = Recipe("hey_ssafy", "Hey SSAFY", ["Hey Saffy"], real_speech_dir=str(real_speech_dir), real_positives=1.0)
    with pytest.raises(SystemExit, match="no dev training speaker says 'Hey SSAFY'"):
        dataset.real_positives(nobody)  # a phrase nobody in the corpus says: one line, not an empty measurement
