"""A training recipe: one YAML file per model, loaded into typed dataclasses.

Every stage of the pipeline takes its part of the recipe; the stage's cache key is a hash of that part
(plus the keys of the stages it reads, cache.stage_key), so editing the recipe redoes only what changed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .data.voices import Voice


@dataclass
class Synthesis:
    positives_per_voice: dict[str, int] = field(default_factory=lambda: {"espeak": 6, "mbrola": 24, "flite": 30, "festival": 24,
                                                                       "rhvoice": 30, "pico": 40, "piper": 160,
                                                                       "kokoro": 32, "hibari": 80})
    near_miss_clips: int = 1200
    confusable_clips: int = 3000       # generated sound-alike phrases (confusables.py)
    rhythm_alikes: int = 0             # words per phrase word with its stress pattern added to the sound-alikes
    sentence_clips: int = 1600
    mining_sentence_clips: int = 4000  # fresh sentences that only the hard-negative mining sees
    eval_positive_clips: int = 240
    eval_sentence_clips: int = 1200


@dataclass
class Mixing:
    window_s: float = 2.0
    positive_windows: int = 7000
    negative_windows: int = 13000
    snr_db: tuple[float, float] = (0.0, 25.0)
    label_s: float = 0.4


@dataclass
class Training:
    epochs: int = 14
    batch_size: int = 64
    learning_rate: float = 0.002
    dropout: float = 0.5
    # each training window's frequency axis is scaled by a factor in 1 ± freq_warp (VTLP, fit.warp_frequencies)
    freq_warp: float = field(default=0.0, metadata={"key_at_default": False})
    # which of several training runs on the same data: changes only the initial weights and the batch order
    run: int = field(default=0, metadata={"key_at_default": False})


@dataclass
class Mining:
    """Hard-negative mining: score training-only negative streams with the first model, keep the windows it
    fires on, and fine-tune on the features plus `copies` copies of those windows."""
    hours: float = 2.0
    min_prob: float = 0.2
    max_windows: int = 4000
    epochs: int = 4
    learning_rate: float = 0.0005
    copies: int = 2


@dataclass
class Evaluation:
    snr_db: list[float] = field(default_factory=lambda: [0.0, 5.0, 10.0, 20.0])
    negative_hours: float = 5.0
    fa_per_hour: list[float] = field(default_factory=lambda: [0.1, 0.5, 1.0])


@dataclass
class Recipe:
    name: str
    phrase: str
    phrase_texts: list[str]
    version: str = "1.0.0"
    license: str = "Apache-2.0"
    seed: int = 0
    espeak_phonemes: list[str] = field(default_factory=list)
    # Voice family ("pico:en-GB") or engine ("pico") -> the spellings that voice says right, where it says some of
    # phrase_texts wrong: a clip that does not say the phrase is label noise in training and a false miss in evaluation.
    voice_texts: dict[str, list[str]] = field(default_factory=dict, metadata={"key_at_default": False})
    near_misses: list[str] = field(default_factory=list)
    holdout_families: list[str] = field(default_factory=list)
    real_negative_dirs: list[str] = field(default_factory=list)
    synthesis: Synthesis = field(default_factory=Synthesis)
    mixing: Mixing = field(default_factory=Mixing)
    training: Training = field(default_factory=Training)
    mining: Mining = field(default_factory=Mining)
    evaluation: Evaluation = field(default_factory=Evaluation)
    path: Path | None = None

    def texts_for(self, voice: Voice) -> list[str]:
        """What `voice` is asked to say as the phrase: its own spellings if the recipe lists any, else phrase_texts,
        plus the espeak phoneme strings for the engines that read them."""
        texts = self.voice_texts.get(voice.family) or self.voice_texts.get(voice.engine) or self.phrase_texts
        return list(texts) + (self.espeak_phonemes if voice.engine in ("espeak", "mbrola") else [])

    @property
    def training_seed(self) -> int:
        """The seed of training proper: the recipe's, moved by `training.run` (clip sets and features keep theirs)."""
        return self.seed + 7919 * self.training.run

    @classmethod
    def load(cls, path: str | Path) -> "Recipe":
        path = Path(path)
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a recipe is a YAML mapping")
        sections = {"synthesis": Synthesis, "mixing": Mixing, "training": Training, "mining": Mining,
                    "evaluation": Evaluation}
        kwargs = {}
        known = {f.name for f in dataclasses.fields(cls)} - {"path"}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"{path}: unknown recipe key {key!r}")
            if key in sections:
                sub = sections[key]
                bad = set(value or {}) - {f.name for f in dataclasses.fields(sub)}
                if bad:
                    raise ValueError(f"{path}: unknown key(s) {sorted(bad)} under {key!r}")
                value = sub(**(value or {}))
            kwargs[key] = value
        recipe = cls(**kwargs, path=path)
        # Relative data directories are relative to the working directory (the checkout), like every CLI path.
        recipe.real_negative_dirs = [str(Path(d).resolve()) for d in recipe.real_negative_dirs]
        return recipe
