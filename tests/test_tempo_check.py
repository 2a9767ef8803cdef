"""benchmarks/tempo_check.py: real speakers' clips slower and faster, the keyword spans moved with them."""
import json
import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import tempo_check as tc  # noqa: E402

from wakeword.evaluation import PositiveStream  # noqa: E402

PROXY = str(REPO / "models" / "proxies" / "voyager.yaml")


def test_each_tempo_stretches_the_stream_and_its_spans_alike():
    x = np.zeros(48000, np.float32)
    x[16000:24000] = 0.3 * np.sin(np.arange(8000) * 0.3)  # a 0.5 s tone at 1.0-1.5 s
    out = tc.tempo_streams(PositiveStream(x, [(1.0, 1.5)]))
    assert list(out) == list(tc.TEMPOS)
    for name, tempo in tc.TEMPOS.items():
        stream = out[name]
        assert abs(len(stream.audio) / len(x) - 1 / tempo) < 0.01
        on = np.flatnonzero(np.abs(stream.audio) > 0.05) / 16000
        (start, end), = stream.spans
        assert abs(on[0] - start) < 0.03 and abs(on[-1] - end) < 0.03  # the span still holds the tone
        if tempo != 1.0:
            peak = np.abs(np.fft.rfft(stream.audio)).argmax() * 16000 / len(stream.audio)
            assert abs(peak - 0.3 * 16000 / (2 * np.pi)) < 10  # the pitch stays: only the timing changes


def test_scores_the_real_speakers_clips_at_each_tempo(real_speech_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "tempo.json"
    assert tc.main(["--model", PROXY, "--data", str(real_speech_dir), "--part", "test", "--out", str(out)]) == 0
    res = json.loads(out.read_text())["models"][PROXY]
    assert res["clips"] == 1 and set(res["frr"]) == set(tc.TEMPOS)
    assert all(v in (0.0, 1.0) for v in res["frr"].values())


def test_bad_input_is_one_line(real_speech_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        tc.main(["--model", "missing.yaml", "--data", str(real_speech_dir), "--part", "test", "--out", str(tmp_path / "x.json")])
    assert str(e.value).startswith("tempo_check: ") and "\n" not in str(e.value)
