"""Sound-alike negatives: real espeak-ng transcriptions of the real system dictionary."""
import re
import shutil

import numpy as np
import pytest

from wakeword.train.data import confusables as c



@pytest.fixture(scope="module")
def lex(tmp_path_factory):
    if not shutil.which("espeak-ng") or not c.DICTIONARY.exists():
        pytest.fail("espeak-ng and wamerican are required: script/test installs them")
    return c.lexicon(tmp_path_factory.mktemp("lex") / "lexicon.tsv", limit=6000)


def test_distance_counts_rhythm_cheaper_than_consonants():
    assert c.distance("s'afi", "s'afi") == 0
    assert c.distance("s'afi", "s'api") == 1  # one consonant
    assert c.distance("s'afi", "s'Vf3") == 1  # two vowel shades
    assert c.distance("s'afi", "s'afi") < c.distance("s'afi", "t'api") < c.distance("s'afi", "bAnan@")


def test_similar_words_are_close_but_never_the_same_sound(lex):
    target = c.transcribe(["saffy"])[0]
    words = c.similar_words(target, lex, set(), 40)
    assert words, "the first 6000 dictionary words contain sound-alikes of 'saffy'"
    for w in words:
        assert 1 <= c.distance(lex[w], target) <= max(1.5, 0.45 * len(target))
    assert "saffy" not in words


def test_phrases_swap_words_and_never_say_the_phrase(lex):
    texts = c.phrases("Hey Saffy", lex, {"hey", "saffy"}, 50, np.random.default_rng(0))
    assert 20 <= len(texts) <= 50 and len(set(texts)) == len(texts)
    for t in texts:
        words = re.findall(r"[a-z']+", t.lower())
        assert words != ["hey", "saffy"] and not ("hey" in words and "saffy" in words)
    again = c.phrases("Hey Saffy", lex, {"hey", "saffy"}, 50, np.random.default_rng(0))
    assert again == texts  # a fixed seed gives the same texts


def test_rhythm_words_share_the_stress_pattern_whatever_their_sounds(lex):
    athena, computer = c.transcribe(["athena", "computer"])
    assert c.stress_pattern(athena) == c.stress_pattern(computer) == (0, 2, 0)
    assert c.stress_pattern(c.transcribe(["saffy"])[0]) == (2, 0)
    words = c.same_rhythm_words(athena, lex, {"athena"}, 25, np.random.default_rng(1))
    assert len(words) == 25 and "athena" not in words
    assert all(c.stress_pattern(lex[w]) == (0, 2, 0) for w in words)
    plain = c.phrases("Athena", lex, set(), 30, np.random.default_rng(0))
    with_rhythm = c.phrases("Athena", lex, set(), 30, np.random.default_rng(0), rhythm=40)
    assert plain != with_rhythm  # the rhythm pool changes what is said; rhythm=0 keeps the old texts
    assert plain == c.phrases("Athena", lex, set(), 30, np.random.default_rng(0), rhythm=0)
