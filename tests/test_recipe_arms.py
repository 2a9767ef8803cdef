"""benchmarks/recipe_arms.py: draws compared at matched false accepts, not only at one threshold."""
import json
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import recipe_arms as ra  # noqa: E402


def point(t, fa_clean, fa_10db, frr_clean, frr_10db):
    return {"threshold": t, "fa_per_hour_clean": fa_clean, "fa_per_hour_10db": fa_10db,
            "frr_isolated_clean": frr_clean, "frr_isolated_10db": frr_10db}


def test_matched_point_is_the_lowest_threshold_from_which_pooled_false_accepts_stay_within():
    sweep = [point(0.9, 1.23, 1.23, 0.05, 0.2),   # pooled 1.23/h: two false accepts, too many
             point(0.95, 1.23, 0.0, 0.08, 0.25),  # one false accept in the pooled hours: within
             point(0.97, 2.45, 0.0, 0.10, 0.30),  # a score that rises again above: the point must be above it
             point(0.98, 0.0, 0.0, 0.15, 0.40),
             point(0.99, 0.0, 0.0, 0.30, 0.60)]
    assert ra.at_matched_fa(sweep) == {"threshold@fa": 0.98, "frr_isolated_clean@fa": 0.15, "frr_isolated_10db@fa": 0.40}
    assert ra.at_matched_fa(sweep[:2] + sweep[3:])["threshold@fa"] == 0.95
    never = [point(0.9, 5.0, 5.0, 0.05, 0.2), point(0.99, 2.45, 2.45, 0.3, 0.6)]
    assert ra.at_matched_fa(never)["threshold@fa"] == 0.99  # none within: the highest threshold scored


def test_arms_from_an_earlier_file_without_the_matched_figures_print_a_dash(tmp_path, capsys):
    res = {"card_detector": {"threshold": 0.97}, "card_fa_clean": {"fa_per_hour": 0.0}, "card_fa_10db": {"fa_per_hour": 0.0},
           "card_frr_isolated_clean": 0.1, "card_frr_isolated_10db": 0.3, "card_frr_sentence_clean": 0.2,
           "card_frr_sentence_10db": 0.4, "who_is_missed_isolated": {"speakers_always_missed": 3},
           "sweep": [point(t, 0.0, 0.0, 0.1, 0.3) for t in (0.9, 0.97)]}
    (tmp_path / "new.json").write_text(json.dumps({"models": {"voyager": res}}))
    old = {"old arm": {"0": {k: v for k, v in ra.row(res).items() if not k.endswith("@fa")}}}
    (tmp_path / "earlier.json").write_text(json.dumps({"draws": old}))
    assert ra.main([f"new arm (spec_augment: [12, 20]):0={tmp_path / 'new.json'}", "--arms-from",
                    str(tmp_path / "earlier.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = [c.strip() for c in lines[0].split("|")]
    old_row = [c.strip() for c in next(line for line in lines if line.startswith("| old arm | 0")).split("|")]
    assert old_row[header.index("threshold@fa")] == "–"
    new_line = next(line for line in lines if line.startswith("| new arm (spec_augment: [12, 20]) | 0"))
    new_row = [c.strip() for c in new_line.split("|")]
    assert new_row[header.index("threshold@fa")] == "0.9"
