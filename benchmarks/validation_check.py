"""Does the validation set that picks among training draws rank them as the held-out evaluation does?

Training draws of one recipe, which differ only in initial weights and batch order, land anywhere between ~14 and
~55 % FRR at 0.5 FA/h on the held-out families (benchmarks/RESULTS.md). The pipeline can train several
(`training.draws`) and keep the one its validation set scores best (wakeword/train/validate.py: voices and
sentences that neither training nor the evaluation uses). That only helps if the validation score ranks models as
the test does; this scores model cards on exactly the pipeline's validation set (rendering it if the recipe's
pipeline has not) and prints each score next to the card's own FRR at 0.5 FA/h, if its reports are beside it.

    .venv/bin/python benchmarks/validation_check.py RECIPE CARD [CARD ...] [--out FILE]
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from wakeword.model.card import ModelCard  # noqa: E402
from wakeword.train import clips  # noqa: E402
from wakeword.train.pipeline import _load_clips, _load_list, clip_stages, make_clip_sets  # noqa: E402
from wakeword.train.recipe import Recipe  # noqa: E402
from wakeword.train.validate import score  # noqa: E402
from heldout_eval import recipe_stages  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("cards", nargs="+")
    ap.add_argument("--cache", default=".cache/train")
    ap.add_argument("--out")
    a = ap.parse_args()
    recipe, cache = Recipe.load(a.recipe), Path(a.cache)
    recipe.training.draws = max(2, recipe.training.draws)  # the validation sets exist for recipes with draws
    dirs = make_clip_sets({n: st for n, st in clip_stages(recipe, cache).items() if n.startswith("validation")})
    load = functools.partial(_load_clips, dirs, clips.phrase_words(recipe.phrase_texts, recipe.near_misses))
    bg, = recipe_stages(recipe, cache, "backgrounds")
    music = _load_list(bg / "music_train.npz")
    positives, sentences = load("validation_positives"), load("validation_sentences")
    report = {}
    for path in a.cards:
        got = score(recipe, ModelCard.load(path), positives, sentences, music)
        test = Path(path).parent / "reports" / recipe.name / "results.json"
        got["test_frr_0.5"] = (json.loads(test.read_text())["accuracy"]["operating_points"]["0.5 FA/h"]["frr_10db"]
                               if test.exists() else None)
        report[path] = got
        print(f"{path}: validation FRR {got['frr']}, score {got['score']:.3f} | test FRR at 0.5 FA/h {got['test_frr_0.5']}",
              flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
