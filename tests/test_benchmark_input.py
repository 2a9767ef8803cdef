"""The real-speaker benchmarks answer a missing or broken model card with one line, before reading any data."""
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import noise_kinds  # noqa: E402
import real_speech  # noqa: E402


@pytest.mark.parametrize("bench, extra", [(real_speech, []),
                                          (noise_kinds, ["--recipe", str(REPO / "recipes/proxies/voyager.yaml")])])
@pytest.mark.parametrize("broken", ["missing.yaml", "not_a_card.yaml"])
def test_a_bad_card_is_one_line(bench, extra, broken, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not_a_card.yaml").write_text("name: [unclosed\n")
    with pytest.raises(SystemExit) as e:
        bench.main(["--model", broken, "--data", str(tmp_path / "no_data"), "--out", str(tmp_path / "x.json")] + extra)
    name = bench.__name__
    assert str(e.value).startswith(f"{name}: ") and "\n" not in str(e.value)
    assert not (tmp_path / "x.json").exists()
