"""Synthesize the speech clips the pipeline mixes: positives, near-misses and sentences, per voice.

A clip set is stored as one .npz (all clips at 16 kHz as int16, concatenated, with offsets and the
voice of each clip) so later stages load thousands of clips in one read; `save_audio`/`load_audio` are that
codec without the voices and texts, for the backgrounds stage's recordings.
"""
from __future__ import annotations

import glob
import multiprocessing
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

from ...audio.signal import SR, resample_to_16k, trim
from .voices import Prosody, Voice, synthesize


@dataclass
class ClipSet:
    clips: list[np.ndarray]  # float32 at 16 kHz, silence trimmed
    voices: list[str]
    texts: list[str]

    def save(self, path: Path) -> None:
        save_audio(path, self.clips, voices=np.array(self.voices), texts=np.array(self.texts))

    def without(self, words: set[str]) -> "ClipSet":
        """The clips whose text contains none of `words` (keeps the phrase out of negative sentences)."""
        keep = [i for i, t in enumerate(self.texts) if not words & set(re.findall(r"[a-z']+", t.lower()))]
        return ClipSet([self.clips[i] for i in keep], [self.voices[i] for i in keep], [self.texts[i] for i in keep])

    @classmethod
    def load(cls, path: Path) -> "ClipSet":
        z = np.load(path)
        return cls(load_audio(path), [str(v) for v in z["voices"]], [str(t) for t in z["texts"]])


def save_audio(path: Path, arrays: list[np.ndarray], **extra: Any) -> None:
    """float32 clips as one int16 array and their lengths (plus `extra` arrays) in one .npz."""
    lengths = np.array([len(a) for a in arrays], np.int64)
    audio = np.concatenate(arrays) if arrays else np.zeros(0, np.float32)
    np.savez(path, audio=(np.clip(audio, -1, 1) * 32767).astype(np.int16), lengths=lengths, **extra)


def load_audio(path: Path) -> list[np.ndarray]:
    """The float32 clips `save_audio` stored."""
    z = np.load(path)
    audio = z["audio"].astype(np.float32) / 32767
    bounds = np.concatenate([[0], np.cumsum(z["lengths"])])
    return [audio[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


@dataclass(frozen=True)
class Job:
    voice: Voice
    text: str
    prosody: Prosody
    seed: int


def _render(job: Job) -> np.ndarray | None:
    try:
        audio, sr = synthesize(job.voice, job.text, job.prosody, job.seed)
    except (subprocess.SubprocessError, OSError, ValueError):
        return None
    audio = resample_to_16k(audio, sr)
    if len(audio) < SR // 10 or np.abs(audio).max() < 1e-3:
        return None
    audio = trim(audio)
    return (audio / (np.abs(audio).max() + 1e-9) * 0.9).astype(np.float32)


def render(jobs: list[Job], desc: str, workers: int | None = None) -> ClipSet:
    """Synthesize jobs in parallel (one process per core); failed syntheses are dropped and counted."""
    workers = workers or max(1, os.cpu_count() or 1)
    out = ClipSet([], [], [])
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for job, audio in zip(jobs, tqdm(pool.imap(_render, jobs, chunksize=4), total=len(jobs), desc=desc)):
            if audio is not None:
                out.clips.append(audio)
                out.voices.append(job.voice.id)
                out.texts.append(job.text)
    failed = len(jobs) - len(out.clips)
    if failed:
        print(f"{desc}: {failed} of {len(jobs)} syntheses failed and were dropped")
    return out


def random_prosody(rng: np.random.Generator) -> Prosody:
    return Prosody(rate=float(rng.uniform(0.8, 1.25)), pitch=float(rng.uniform(0.75, 1.35)))


def phrase_jobs(voices: list[Voice], per_engine: dict[str, int], texts: Callable[[Voice], list[str]],
                rng: np.random.Generator) -> list[Job]:
    """Positive jobs: each voice says the phrase `per_engine[engine]` times with random spelling (`texts(voice)`)
    and prosody."""
    jobs = []
    for v in voices:
        choices = texts(v)
        for _ in range(per_engine.get(v.engine, 10)):
            jobs.append(Job(v, str(rng.choice(choices)), random_prosody(rng), int(rng.integers(1 << 31))))
    return jobs


def spread_jobs(voices: list[Voice], texts: list[str] | Callable[[Voice], list[str]], n: int, rng: np.random.Generator
                ) -> list[Job]:
    """`n` jobs with texts and voices drawn at random (voice engines weighted equally, not per setup); `texts` is
    one list for every voice or a function giving each voice its own."""
    by_engine: dict[str, list[Voice]] = {}
    for v in voices:
        by_engine.setdefault(v.engine, []).append(v)
    engines = sorted(by_engine)
    jobs = []
    for _ in range(n):
        pool = by_engine[engines[rng.integers(len(engines))]]
        voice = pool[rng.integers(len(pool))]
        choices = texts(voice) if callable(texts) else texts
        jobs.append(Job(voice, str(rng.choice(choices)), random_prosody(rng), int(rng.integers(1 << 31))))
    return jobs


def phrase_words(phrase_texts: list[str], near_misses: list[str]) -> set[str]:
    """Words of the phrase that must not occur in negative sentences (those also listed as near-misses may)."""
    allowed = {w for n in near_misses for w in re.findall(r"[a-z']+", n.lower())}
    return {w for t in phrase_texts for w in re.findall(r"[a-z']+", t.lower())} - allowed


def sentences(n: int, rng: np.random.Generator) -> list[str]:
    """Short English sentences from Debian's fortunes (fallback: random dictionary words).

    Sentences that contain the phrase are removed where they are used (`ClipSet.without`), so one sentence set
    serves every recipe."""
    lines: list[str] = []
    for path in sorted(glob.glob("/usr/share/games/fortunes/*")):
        if path.endswith(".dat") or os.path.isdir(path):
            continue
        try:
            text = Path(path).read_text(errors="ignore")
        except OSError:
            continue
        for part in re.split(r"[\n%]+", text):
            part = part.strip().lstrip("-").strip()
            words = part.split()
            if 3 <= len(words) <= 14 and re.fullmatch(r"[A-Za-z ,.'?!]+", part):
                lines.append(part)
    if not lines:
        words = Path("/usr/share/dict/words").read_text().split() if os.path.exists("/usr/share/dict/words") else \
            "the quick brown fox jumps over a lazy dog while seven tall ships sail home".split()
        lines = [" ".join(rng.choice(words, rng.integers(3, 10))) for _ in range(n * 2)]
    lines = sorted(set(lines))
    idx = rng.permutation(len(lines))
    return [lines[i] for i in idx[: n]] if len(lines) >= n else [lines[i % len(lines)] for i in range(n)]
