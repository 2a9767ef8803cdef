"""The shipped recipes' stage keys, pinned: a refactor of the training code must leave every cached stage of
a recipe where it is, so the same recipe still makes the same clips and the same features, bit for bit. The
recipes are the shipped ones as of 2738099 (tests/fixtures/recipes/, so that editing recipes/ does not move the
reference), and the values were computed on the code before the house refactor (issue 21).

What the machine has installed is pinned too (every voice "present", a fixed lexicon, fixed sentences), so
the keys depend on the recipe and the code only. Nothing is synthesized: the clip stages are job lists."""
from pathlib import Path

import pytest

from wakeword.train import dataset, pipeline
from wakeword.train.data import clips, voices
from wakeword.train.recipe import Recipe

RECIPES = Path(__file__).resolve().parent / "fixtures" / "recipes"
LEXICON = "".join(f"{w}\t{p}\n" for w, p in [("savvy", "s'avi"), ("taffy", "t'afi"), ("hay", "h'eI"), ("sappy", "s'api"),
                                             ("election", "I#l'EkS@n"), ("alexis", "@l'EksIs"), ("relax", "rI#l'aks"),
                                             ("taxi", "t'aksi")])
EXPECTED = {
    'alexa': {
        'backgrounds': 'eac66856a620', 'confusables': '45bdd5238f3d', 'eval_positives': 'ada855574cae',
        'eval_sentences': 'f6fb97457c7e', 'evaluate': '246d2c0b455c', 'export': '84b21d08ea35',
        'features': '500ddb749b97', 'finetune': 'd35955ca317d', 'mine': '4e10791da397',
        'mining_sentences': '0ab4dedc5288', 'near_misses': 'eec0efcbb9f9', 'positives': '21032ceb6757',
        'sentences': '6a78301a303d', 'train': '2aecb506eee6',
    },
    'alexa-quick': {
        'backgrounds': '4c8384d6a3ab', 'confusables': '2939a7888d02', 'eval_positives': 'bab33b256856',
        'eval_sentences': '672455d7a6c0', 'evaluate': '2767ecc7bf64', 'export': '9f7af01787ad',
        'features': '9e18c0db079b', 'finetune': '64180a188d43', 'mine': '16b44e674f7d',
        'mining_sentences': 'c265348edf30', 'near_misses': 'e86da7ee6bea', 'positives': 'a5eb776303a8',
        'sentences': '706d5d66cda3', 'train': 'a56a8daa8e68',
    },
    'hey_ssafy': {
        'backgrounds': 'eac66856a620', 'confusables': '94015e02871e', 'eval_positives': 'aa817998a03a',
        'eval_sentences': 'f6fb97457c7e', 'evaluate': '15ad3f38d21d', 'export': '1532659fb691',
        'features': '0ade9637bc42', 'finetune': 'fc6ea412c6a7', 'mine': 'f946bfd27c50',
        'mining_sentences': '0ab4dedc5288', 'near_misses': '5c592978a2e5', 'positives': '0f59b76b9817',
        'sentences': '6a78301a303d', 'train': '2d2fb91a251f',
    },
    'hey_ssafy-quick': {
        'backgrounds': '4c8384d6a3ab', 'confusables': 'dbd754c7548a', 'eval_positives': '2da101670ff8',
        'eval_sentences': '672455d7a6c0', 'evaluate': '1371fa24e521', 'export': '08a0235990e1',
        'features': 'd047abd7c1e5', 'finetune': '7b7cb10b4538', 'mine': '067d4f5fada0',
        'mining_sentences': 'c265348edf30', 'near_misses': 'b97e78b2ddf0', 'positives': 'c6d26a53a576',
        'sentences': '706d5d66cda3', 'train': 'cb920d6e8f02',
    },
}


@pytest.fixture
def pinned_machine(monkeypatch, tmp_path):
    monkeypatch.setattr(voices, "_engine_present", lambda engine: True)
    monkeypatch.setattr(voices, "_probe", lambda voice: None)
    monkeypatch.setattr(clips, "sentences", lambda n, rng: [f"sentence number {i} {int(rng.integers(1000))}"
                                                           for i in range(n)])
    monkeypatch.chdir(tmp_path)  # the keys hold the cache's path as given: "cache"
    for name in ("lexicon.tsv", "lexicon-quick.tsv"):
        (tmp_path / "cache" / "shared").mkdir(parents=True, exist_ok=True)
        (tmp_path / "cache" / "shared" / name).write_text(LEXICON)


def stage_keys(name: str, quick: bool) -> dict[str, str]:
    recipe = Recipe.load(RECIPES / f"{name}.yaml")
    recipe.real_negative_dirs = ["/data/real"]  # resolved against the checkout's place otherwise
    if quick:
        pipeline._shrink(recipe)
    stages = dataset.clip_stages(recipe, "cache", quick)
    keys = {n: st.key for n, (st, _) in stages.items()}
    keys["backgrounds"] = b = dataset.backgrounds_stage(recipe, "cache", quick).key
    clip_dirs = {n: st.dir / "clips.npz" for n, (st, _) in stages.items()}
    keys["features"] = f = dataset.features_stage(recipe, "cache", clip_dirs, b).key
    keys.update({n: st.key for n, st in pipeline.model_stages(recipe, "cache", f, quick).items()})
    return keys


@pytest.mark.parametrize("run", sorted(EXPECTED))
def test_shipped_recipes_keep_their_stage_keys(pinned_machine, run):
    name, quick = run.removesuffix("-quick"), run.endswith("-quick")
    assert stage_keys(name, quick) == EXPECTED[run]
