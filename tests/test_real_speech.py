"""Real speech (wakeword.train.data.real_speech): decoding the corpora, the speaker split, the phrase filter, the channel."""
import subprocess

import numpy as np

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
