"""Confusable phrases: dictionary words that sound like the phrase's words, said in the phrase's frame.

Why: the false accepts that remain after training on sentences and hand-written near-misses are ordinary
words with the phrase's sounds and rhythm ("suffer", "sappy", "psyche" for "hey saffy"; "amelia" for
"athena"). A few thousand random sentences contain too few of them, so they are generated on purpose:
every lowercase word of the system dictionary (wamerican) is transcribed once by espeak-ng, and the words
whose phonemes are closest to a phrase word (an edit distance in which vowels and stress marks are cheap
to swap, so rhythm counts) replace that word in the phrase ("hey sappy", "they saffy", "hey suffer").
"""
from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

DICTIONARY = Path("/usr/share/dict/american-english")
VOWELS = set("aeiouAEIOUV@03&")
STRESS = set("',")
CARRIERS = ["{}", "{}", "{}", "{} please", "I said {}", "oh {} again", "the {} is here", "{} and then some"]


def transcribe(words: list[str]) -> list[str]:
    """espeak-ng's phonemes (Kirshenbaum ASCII) for each word, one clause per word."""
    out = subprocess.run(["espeak-ng", "-q", "-x", "--stdin"], input="".join(f"{w}.\n" for w in words),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    if len(out) != len(words):
        raise RuntimeError(f"espeak-ng returned {len(out)} transcriptions for {len(words)} words")
    return [o.strip() for o in out]


def lexicon(cache: Path, limit: int | None = None) -> dict[str, str]:
    """word -> phonemes for the dictionary's plain lowercase words (the first `limit` of them), transcribed
    once into `cache` (about 40 s for the 64k words of wamerican)."""
    if not cache.exists():
        if not DICTIONARY.exists():
            return {}
        words = sorted({w for w in DICTIONARY.read_text(errors="ignore").split() if re.fullmatch(r"[a-z]{2,}", w)})[:limit]
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text("".join(f"{w}\t{p}\n" for w, p in zip(words, transcribe(words))))
        tmp.replace(cache)
    return dict(line.split("\t", 1) for line in cache.read_text().splitlines() if "\t" in line)


def _cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if (a in VOWELS and b in VOWELS) or (a in STRESS and b in STRESS):
        return 0.5
    return 1.0


@lru_cache(maxsize=None)
def distance(a: str, b: str) -> float:
    """Weighted edit distance between two phoneme strings."""
    prev = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        cur = [float(i)]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + _cost(ca, cb)))
        prev = cur
    return prev[-1]


def similar_words(target: str, lex: dict[str, str], exclude: set[str], k: int) -> list[str]:
    """The `k` dictionary words whose phonemes are closest to `target`, at least one full phoneme away: a word
    that differs only in a vowel shade ("hi" for "hey") may be how a real speaker says the phrase."""
    scored = []
    for word, ph in lex.items():
        if word in exclude or abs(len(ph) - len(target)) > 3:
            continue
        d = distance(ph, target)
        if 1 <= d <= max(1.5, 0.45 * len(target)):
            scored.append((d, word))
    return [w for _, w in sorted(scored)[:k]]


def stress_pattern(phonemes: str) -> tuple[int, ...]:
    """Stress of each syllable (2 primary, 1 secondary, 0 none): the rhythm of a word ("athena" and "computer"
    are both (0, 2, 0))."""
    pattern, pending, prev_vowel = [], 0, False
    for ch in phonemes:
        if ch in STRESS:
            pending = 2 if ch == "'" else 1
        is_vowel = ch in VOWELS
        if is_vowel and not prev_vowel:
            pattern.append(pending)
            pending = 0
        if ch != ":":  # a length mark does not end a vowel
            prev_vowel = is_vowel
    return tuple(pattern)


def same_rhythm_words(target: str, lex: dict[str, str], exclude: set[str], k: int, rng: np.random.Generator) -> list[str]:
    """`k` dictionary words picked at random among those with `target`'s stress pattern, whatever their sounds."""
    pattern = stress_pattern(target)
    pool = sorted(w for w, ph in lex.items() if w not in exclude and stress_pattern(ph) == pattern)
    return [pool[i] for i in rng.permutation(len(pool))[:k]]


def phrases(phrase: str, lex: dict[str, str], exclude: set[str], n: int, rng: np.random.Generator,
            per_word: int = 60, rhythm: int = 0) -> list[str]:
    """`n` distinct texts: the phrase with one or more words swapped for sound-alikes (and, with `rhythm`, that
    many words of the same stress pattern per phrase word), alone or in a short carrier."""
    words = re.findall(r"[a-z']+", phrase.lower())
    if not words or not lex:
        return []
    targets = transcribe(words)
    pools = [similar_words(t, lex, exclude | {w}, per_word) for w, t in zip(words, targets)]
    if rhythm:
        pools = [pool + same_rhythm_words(t, lex, exclude | {w} | set(pool), rhythm, rng)
                 for pool, w, t in zip(pools, words, targets)]
    if not any(pools):
        return []
    texts: set[str] = set()
    for _ in range(n * 20):
        swapped = list(words)
        for i in rng.permutation(len(words))[: 1 + int(rng.random() < 0.3)]:
            if pools[i]:
                swapped[i] = pools[i][rng.integers(len(pools[i]))]
        if swapped != words:
            texts.add(CARRIERS[rng.integers(len(CARRIERS))].format(" ".join(swapped)))
        if len(texts) >= n:
            break
    return sorted(texts)
