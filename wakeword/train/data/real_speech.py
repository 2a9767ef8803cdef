"""Real speech by hundreds of speakers: the accuracy yardstick, and real negatives for training.

Two corpora under the shared data folder (its README.md), both split by speaker in `real-speech-split.tsv`:
- WUW Corpus II: 189 speakers on the telephone (8 kHz mu-law), each saying a name (`_000`), five keywords alone
  (`_001`-`_005`: Operator, ThinkEngine, Onword, Wildfire, Voyager) and the same keywords inside sentences
  (`_006`-`_010`), with the keyword's start and end times in `data.json`.
- The Speech Commands v0.02 test set: 239 speakers, 1 s words, 16 kHz FLAC.

The `test` half is read only for reported figures (benchmarks/real_speech.py). The `dev` half is cut once more by
speaker: `training` speakers become negative foregrounds, babble and mining material; `tuning` speakers are never
trained on and choose each model's threshold (the evaluate stage). A model is never trained or scored as negative on
an utterance that says its own phrase (`says`).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from ...audio.decode import decode
from ...audio.signal import SR, audible_rms
from ...evaluation import PositiveStream
from .backgrounds import in_share
from .clips import load_audio, save_audio

SPLIT_FILE = "real-speech-split.tsv"
WUW_KEYWORDS = ("operator", "thinkengine", "onword", "wildfire", "voyager")
TUNING_SHARE = 0.35  # share of dev speakers kept out of training for threshold choice
PARTS = ("training", "tuning", "test")


@dataclass(frozen=True)
class Utterance:
    """One real recording at 16 kHz. `keyword` is the WUW keyword it contains (None for names and Speech Commands),
    `span` its (start, end) seconds, `isolated` whether it is said alone."""
    path: str
    speaker: str
    corpus: str
    text: str
    keyword: str | None
    span: tuple[float, float] | None
    isolated: bool
    audio: np.ndarray

    def says(self, words: set[str]) -> bool:
        """Whether the utterance contains any of `words` (lowercase): the keyword, or a transcript word starting with
        one (the corpus marks cut-off words like "Voyag-" and mispronunciations like "_V-ager" with extra signs)."""
        if self.keyword in words:
            return True
        spoken = re.sub(r"[^a-z ]", "", self.text.lower()).split()
        return any(w.startswith(k[:5]) for w in spoken for k in words)


def mulaw_decode(raw: bytes) -> np.ndarray:
    """G.711 mu-law bytes → float32 in [-1, 1]."""
    u = ~np.frombuffer(raw, np.uint8)
    exponent, mantissa = (u >> 4) & 7, u & 15
    magnitude = ((mantissa.astype(np.int32) << 3) + 0x84) << exponent
    x = np.where(u & 0x80, -(magnitude - 0x84), magnitude - 0x84)
    return (x / 32768.0).astype(np.float32)


def part_of(speaker: str, split: str) -> str:
    """`test`, or the dev speaker's part (`training`/`tuning`) by a stable hash of the speaker id."""
    if split != "dev":
        return split
    return "tuning" if in_share(speaker, TUNING_SHARE) else "training"


def load(data_dir: str | Path, part: str, cache_dir: str | Path = ".cache/real_speech") -> list[Utterance]:
    """Every utterance of `part` (`training`, `tuning` or `test`), decoded once and cached under `cache_dir`."""
    if part not in PARTS:
        raise ValueError(f"real speech part must be one of {PARTS}, not {part!r}")
    data_dir = Path(data_dir)
    split_file = data_dir / SPLIT_FILE
    if not split_file.exists():
        raise FileNotFoundError(f"{split_file}: not found (the real speech data folder, see its README.md)")
    key = hashlib.sha256(f"{data_dir.resolve()}|{part}|{TUNING_SHARE}|1".encode()).hexdigest()[:12]
    cached = Path(cache_dir) / f"{part}-{key}.npz"
    if cached.exists():
        return _read(cached)
    rows = [r for r in csv.DictReader(split_file.open(), delimiter="\t") if part_of(r["speaker"], r["split"]) == part]
    wuw = {e["filePath"]: e for e in json.loads((data_dir / "wuw-corpus-ii" / "data.json").read_text())["entries"]}
    # WUW files that data.json does not describe (`_001a`, `_006_original`: other takes of a described utterance,
    # with no keyword times) are left out.
    out = [_utterance(data_dir, r, wuw) for r in rows
           if not r["path"].startswith("wuw-corpus-ii/") or r["path"].removeprefix("wuw-corpus-ii/") in wuw]
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f"{cached.stem}.{os.getpid()}.partial.npz")
    _write(partial, out)
    os.replace(partial, cached)  # whole or absent: benchmarks run side by side read it while another writes it
    return _read(cached)  # as every later call reads it (16-bit): the first run's figures equal the next ones'


def _utterance(data_dir: Path, row: dict, wuw: dict) -> Utterance:
    path = row["path"]
    if path.startswith("wuw-corpus-ii/"):
        entry = wuw[path.removeprefix("wuw-corpus-ii/")]
        audio = resample_poly(mulaw_decode((data_dir / path).read_bytes()), 2, 1).astype(np.float32)
        n = int(entry["utteranceNumber"])
        keyword = WUW_KEYWORDS[(n - 1) % 5] if 1 <= n <= 10 else None
        span = (entry["startTime"], entry["endTime"]) if entry["endTime"] > entry["startTime"] else None
        return Utterance(path, row["speaker"], "wuw", entry["transcription"], keyword, span, 1 <= n <= 5, audio)
    word = Path(path).parent.name
    return Utterance(path, row["speaker"], "speech_commands", word, None, None, False, decode(str(data_dir / path)))


def _write(path: Path, utts: list[Utterance]) -> None:
    meta = [{k: getattr(u, k) for k in ("path", "speaker", "corpus", "text", "keyword", "span", "isolated")}
            for u in utts]
    save_audio(path, [u.audio for u in utts], meta=json.dumps(meta))


def _read(path: Path) -> list[Utterance]:
    meta = json.loads(str(np.load(path)["meta"]))
    return [Utterance(**{**m, "span": tuple(m["span"]) if m["span"] else None}, audio=audio)
            for m, audio in zip(meta, load_audio(path))]


def transcript_words(phrase: str) -> set[str]:
    """The words that identify `phrase` in a transcript ("hey" alone is not the phrase)."""
    return {w for w in re.findall(r"[a-z]+", phrase.lower()) if w != "hey"}


def keyword_stream(utts: list[Utterance], rng: np.random.Generator) -> PositiveStream:
    """Whole utterances 1.5-3 s apart, each at speech level 0.05 RMS; spans are their keyword times (every
    utterance must have them: `span` set)."""
    parts: list[np.ndarray] = [np.zeros(int(1.5 * SR), np.float32)]
    spans: list[tuple[float, float]] = []
    pos = int(1.5 * SR)
    for u in utts:
        if u.span is None:
            raise ValueError(f"{u.path}: no keyword times")
        a = u.audio / max(audible_rms(u.audio), 1e-4)
        parts += [a * 0.05, np.zeros(int(rng.uniform(1.5, 3.0) * SR), np.float32)]
        spans.append((pos / SR + u.span[0], pos / SR + u.span[1]))
        pos += len(a) + len(parts[-1])
    return PositiveStream(np.clip(np.concatenate(parts), -1, 1).astype(np.float32), spans)


def negatives(utts: list[Utterance], phrase_words: set[str]) -> list[np.ndarray]:
    """The audio of every utterance that does not say the phrase."""
    return [u.audio for u in utts if not u.says(phrase_words)]


def telephone(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A telephone channel: band-limited to ~300-3400 Hz by 8 kHz sampling, mu-law coded, back to 16 kHz. The
    real speech the models are judged on (WUW) and many cheap microphones sound like this; a model that only heard
    full-band speech would learn 'band-limited means not the phrase' from the real negatives."""
    x = sosfilt(butter(2, rng.uniform(200, 350), "high", fs=SR, output="sos"), audio)
    narrow = resample_poly(x, 1, 2)
    gain = rng.uniform(0.3, 0.9) / max(float(np.abs(narrow).max()), 1e-6)  # the coder's level: its noise is relative
    coded = mulaw_decode(_mulaw_encode(narrow * gain)) / gain
    return resample_poly(coded, 2, 1)[: len(audio)].astype(np.float32)


def _mulaw_encode(x: np.ndarray) -> bytes:
    """float in [-1, 1] → G.711 mu-law bytes (the inverse of `mulaw_decode`)."""
    v = np.clip(np.round(x * 32768), -32635, 32635).astype(np.int32)
    sign = np.where(v < 0, 0x80, 0)
    mag = np.abs(v) + 0x84
    exponent = np.clip(np.floor(np.log2(mag)).astype(np.int32) - 7, 0, 7)
    mantissa = (mag >> (exponent + 3)) & 15
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def phrase_clips(utts: list[Utterance], phrase_words: set[str], share: float) -> list[np.ndarray]:
    """The renditions of a WUW keyword of the phrase, alone or in a sentence, by `share` of the utterances' speakers
    (chosen by a stable hash), each cut 0.3 s before the keyword's start and at its end (a positive clip ends
    where the phrase does)."""
    return [u.audio[max(0, int((u.span[0] - 0.3) * SR)): int((u.span[1] + 0.02) * SR)]
            for u in utts if u.keyword in phrase_words and u.span is not None and in_share(f"positives|{u.speaker}", share)]
