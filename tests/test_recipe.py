"""Recipes are checked like the daemon config: one line naming the file and the dotted key."""
from pathlib import Path

import pytest
import yaml

from wakeword.train.cache import stage_key
from wakeword.train.recipe import Mixing, Recipe

REPO = Path(__file__).resolve().parent.parent


def recipe_with(tmp_path: Path, **sections) -> Path:
    data = yaml.safe_load((REPO / "recipes" / "hey_ssafy.yaml").read_text())
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("section, values, words", [
    ("mixing", {"clean": 1.5}, ["mixing.clean", "[0, 1]"]),
    ("mixing", {"snr_db": [25, 0]}, ["mixing.snr_db", "low must not exceed high"]),
    ("mixing", {"warp": [0.9]}, ["mixing.warp", "a list of 2 numbers"]),
    ("mixing", {"positive_windows": "many"}, ["mixing.positive_windows", "a whole number"]),
    ("training", {"epochz": 3}, ["training.epochz", "known:"]),
    ("training", {"dropout": True}, ["training.dropout", "a number"]),
    ("synthesis", {"positives_per_voice": {"pico": 1.5}}, ["synthesis.positives_per_voice", "mapping"]),
])
def test_a_bad_value_is_one_line_naming_file_and_key(tmp_path, section, values, words):
    path = recipe_with(tmp_path, **{section: values})
    with pytest.raises(ValueError) as e:
        Recipe.load(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    assert all(w in msg for w in words), msg


def test_every_mixing_number_is_a_recipe_setting_outside_the_key_at_its_default(tmp_path):
    """The mixing numbers moved into the recipe leave the shipped features key alone at today's values, even
    restated in the YAML; any other value is a new key."""
    base = Recipe.load(REPO / "recipes" / "hey_ssafy.yaml").mixing
    restated = Recipe.load(recipe_with(tmp_path, mixing={"warp": [0.87, 1.15], "clean": 0.1})).mixing
    assert stage_key(restated) == stage_key(base)
    changed = Recipe.load(recipe_with(tmp_path, mixing={"clean": 0.0})).mixing
    assert changed.clean == 0.0 and stage_key(changed) != stage_key(base)
    assert stage_key(Mixing()) == stage_key(Mixing(clean=0.1, level_dbfs=(-45, -12)))
