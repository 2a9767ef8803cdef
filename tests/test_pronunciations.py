"""benchmarks/pronunciations.py: ways of saying the phrase, rendered by TTS voices and scored by a model."""
import json
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import pronunciations as pr  # noqa: E402

PROXY = str(REPO / "models" / "proxies" / "wildfire.yaml")


def test_the_proxy_hears_its_phrase_and_not_another_word(tmp_path):
    out = tmp_path / "pr.json"
    assert pr.main(["--model", PROXY, "--text", "Wildfire.", "--text", "Operator.", "--voice", "piper:en_US-joe-medium",
                    "--voice", "flite:rms", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["missing_voices"] == []
    row = res["models"][PROXY]
    assert row["Wildfire."]["clips"] == 6 and row["Operator."]["clips"] == 6  # two voices at three rates
    assert row["Wildfire."]["heard"] >= 0.5 and row["Operator."]["heard"] == 0.0
    assert row["Wildfire."]["mean_peak"] > row["Operator."]["mean_peak"] + 0.3


@pytest.mark.parametrize("args, message", [(["--model", "missing.yaml"], "pronunciations: "),
                                           (["--model", PROXY, "--voice", "nosuch"], "pronunciations: ")])
def test_bad_input_is_one_line(tmp_path, args, message):
    with pytest.raises(SystemExit) as e:
        pr.main([*args, "--text", "Wildfire.", "--out", str(tmp_path / "x.json")])
    assert str(e.value).startswith(message) and "\n" not in str(e.value)
