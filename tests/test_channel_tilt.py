"""benchmarks/channel_tilt.py: real speakers' clips through a brighter and a darker channel, and its bad input."""
import json
import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import channel_tilt as ct  # noqa: E402

from wakeword.audio.signal import audible_rms  # noqa: E402
from wakeword.evaluation import PositiveStream  # noqa: E402

PROXY = str(REPO / "models" / "proxies" / "voyager.yaml")


def test_channels_tilt_the_spectrum_and_keep_the_speech_level():
    noise = np.random.default_rng(0).normal(0, 0.05, 16000).astype(np.float32)
    out = ct.channel_streams(PositiveStream(noise, []))
    assert list(out) == list(ct.CHANNELS)
    for stream in out.values():
        assert abs(audible_rms(stream.audio) / audible_rms(noise) - 1) < 0.05
    def high_share(x):
        power = np.abs(np.fft.rfft(x)) ** 2
        return power[len(power) // 2:].sum() / power.sum()
    plain, bright, dark = (high_share(out[k].audio) for k in ct.CHANNELS)
    assert bright > plain + 0.2 and dark < plain - 0.2


def test_scores_the_real_speakers_clips_in_each_channel(real_speech_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its real-speech cache goes here, not into the checkout
    out = tmp_path / "tilt.json"
    assert ct.main(["--model", PROXY, "--data", str(real_speech_dir), "--part", "test", "--out", str(out)]) == 0
    res = json.loads(out.read_text())["models"][PROXY]
    assert res["clips"] == 1  # the one test speaker's isolated "Voyager"
    assert set(res["frr"]) == set(ct.CHANNELS) and all(v in (0.0, 1.0) for v in res["frr"].values())


@pytest.mark.parametrize("model, message", [("missing.yaml", "channel_tilt: "),
                                            (str(REPO / "models" / "hey_ssafy.yaml"), "no real speaker says")])
def test_bad_input_is_one_line(real_speech_dir, tmp_path, monkeypatch, model, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        ct.main(["--model", model, "--data", str(real_speech_dir), "--part", "test", "--out", str(tmp_path / "x.json")])
    assert str(e.value).startswith("channel_tilt: ") and message in str(e.value) and "\n" not in str(e.value)
