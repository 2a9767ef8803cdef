"""benchmarks/synthetic_vs_real.py: whether the synthetic held-out figure ranks draws as real speakers do."""
import json
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synthetic_vs_real as svr  # noqa: E402


def draw(syn_clean, dev_clean, test_clean):
    return {"synthetic": {"clean": syn_clean, "10db": 0.2}, "real_dev": {"clean": dev_clean, "10db": 0.3},
            "real_test": {"clean": test_clean, "10db": 0.3}}


def test_correlations_set_the_synthetic_figure_beside_the_real_halves():
    # the real halves rise together; the synthetic figure falls as they rise
    r = svr.correlations([draw(0.3, 0.10, 0.15), draw(0.2, 0.20, 0.25), draw(0.1, 0.30, 0.35)])
    assert r["real_dev_clean~real_test_clean"] == 1.0
    assert r["synthetic_clean~real_dev_clean"] == -1.0 and r["synthetic_clean~real_test_clean"] == -1.0
    assert r["synthetic_10db~real_dev_10db"] is None  # neither side varies: no r, not a made-up one


def test_real_frr_reads_a_real_speech_results_file_and_names_what_is_missing(tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(json.dumps({"models": {"voyager": {"card_frr_isolated_clean": 0.11,
                                                       "card_frr_isolated_10db": 0.19}}}))
    assert svr.real_frr(str(path), "voyager") == {"clean": 0.11, "10db": 0.19}
    with pytest.raises(SystemExit, match="wildfire"):
        svr.real_frr(str(path), "wildfire")
