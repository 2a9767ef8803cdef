"""A training recipe: one YAML file per model, loaded into typed dataclasses and checked like the daemon
config: a wrong type, a value out of range or an unknown key is one line naming the file and the dotted key.

Every stage of the pipeline takes its part of the recipe; the stage's cache key is a hash of that part
(plus the keys of the stages it reads, cache.stage_key), so editing the recipe redoes only what changed.
Options added after the shipped models were trained carry `key_at_default: False` (cache.stage_key): at their
default, which is the behaviour from before they existed, they leave every stage key as it was.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # texts_for reads a voice's engine and family; the recipe does not import the voices at run time
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


def _later(default: Any, lo: float | None = 0.0, hi: float | None = None) -> Any:
    """A field added after the shipped models were trained (out of the stage key at its default); `lo`..`hi`
    bound the value, or each number of a pair or list."""
    return field(default=default, metadata={"key_at_default": False, "range": (lo, hi)})


def _bounded(default: Any, lo: float | None, hi: float | None = None) -> Any:
    return field(default=default, metadata={"range": (lo, hi)})


@dataclass
class Mixing:
    """How clips become training windows (data/mixing.py); pairs are (low, high) of a uniform draw."""
    window_s: float = 2.0
    positive_windows: int = 7000
    negative_windows: int = 13000
    snr_db: tuple[float, float] = _bounded((0.0, 25.0), -30, 80)
    label_s: float = 0.4
    clean: float = _later(0.1, 0, 1)  # share of speech windows at `clean_snr_db` instead of `snr_db`
    clean_snr_db: tuple[float, float] = _later((35, 60), -30, 80)
    level_dbfs: tuple[float, float] = _later((-45, -12), -100, 0)  # RMS of the finished window
    quiet_gain: tuple[float, float] = _later((0.001, 0.3), 0, 1)  # a window without speech: background alone
    warp: tuple[float, float] = _later((0.87, 1.15), 0.5, 2)  # resampling factor of each speech clip
    reverb: float = _later(0.35, 0, 1)  # share of speech clips convolved with a room impulse response
    lowpass: float = _later(0.3, 0, 1)  # share low-passed like a cheap microphone, corner in `lowpass_hz`
    lowpass_hz: tuple[float, float] = _later((2800, 7000), 50, 8000)
    highpass: float = _later(0.2, 0, 1)
    highpass_hz: tuple[float, float] = _later((100, 400), 10, 8000)
    command: float = _later(0.3, 0, 1)  # share of positives followed by a sentence ("hey saffy, turn on ...")
    command_gap_s: tuple[float, float] = _later((0.1, 0.4))
    preamble: float = _later(0.2, 0, 1)  # share of positives preceded by a sentence
    preamble_gap_s: tuple[float, float] = _later((0.1, 0.5))
    speech_gain: tuple[float, float] = _later((0.5, 1.0), 0, 1)  # of every sentence and negative clip
    # the speech of negative windows: how many clips (one drawn from the list) from which pool (near-misses,
    # sentences, real speech: weights of those that are not empty)
    negative_clips: tuple[int, ...] = _later((0, 1, 1, 2, 2, 3))
    negative_weights: tuple[float, float, float] = _later((0.45, 0.35, 0.2))
    babble_voices: tuple[int, int] = _later((3, 7), 1)  # overlapping sentences of a babble background (high excluded)
    background_speech_gain: tuple[float, float] = _later((0.3, 1.0), 0, 1)  # of each babble or real-speech clip
    # share of windows (positive and negative alike) passed through a telephone channel (data/real_speech.telephone)
    telephone: float = _later(0.0, 0, 1)


@dataclass
class Training:
    epochs: int = 14
    batch_size: int = 64
    learning_rate: float = 0.002
    dropout: float = _bounded(0.5, 0, 1)
    # each training window's frequency axis is scaled by a factor in 1 ± freq_warp (VTLP, fit.warp_frequencies)
    freq_warp: float = field(default=0.0, metadata={"key_at_default": False})
    # each training window's spectrum coloured by a random smooth curve, new every epoch: a tilt of up to
    # ± channel_eq dB between the band's ends and ripples of a fifth of that (fit.colour_channel): microphones and
    # phone lines differ in tilt, and the model must not care
    channel_eq: float = _later(0.0, 0, 40)
    # which of several training runs on the same data: changes only the initial weights and the batch order
    run: int = field(default=0, metadata={"key_at_default": False})


@dataclass
class Mining:
    """Hard-negative mining: score training-only negative streams with the first model, keep the windows it
    fires on, and fine-tune on the features plus `copies` copies of those windows."""
    hours: float = 2.0
    min_prob: float = _bounded(0.2, 0, 1)
    max_windows: int = 4000
    epochs: int = 4
    learning_rate: float = 0.0005
    copies: int = 2


@dataclass
class Evaluation:
    snr_db: list[float] = field(default_factory=lambda: [0.0, 5.0, 10.0, 20.0], metadata={"range": (-30, 80)})
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
    # the real-speech data folder (data/real_speech.py): its dev `training` speakers are negatives, its `tuning` speakers
    # set the card's threshold; relative to the working directory, like real_negative_dirs
    real_speech_dir: str | None = field(default=None, metadata={"key_at_default": False})
    # a measurement, not a way to train a shipped model (no real "Hey SSAFY" exists): this share of the dev training
    # speakers' own renditions of a proxy phrase join its positives (data/real_speech.phrase_clips), to say what
    # real recordings would buy
    real_positives: float = _later(0.0, 0, 1)
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
        """The recipe in `path`; ValueError (one line: file and dotted key) if any key is unknown or any value
        has the wrong type or lies out of range."""
        path = Path(path)
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a recipe is a YAML mapping")
        missing = [f.name for f in dataclasses.fields(cls) if f.name != "path" and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING and f.name not in data]
        if missing:
            raise ValueError(f"{path}: missing recipe key(s) {', '.join(missing)}")
        recipe = cls(**_checked(path, cls, data, ""), path=path)
        # Relative data directories are relative to the working directory (the checkout), like every CLI path.
        recipe.real_negative_dirs = [str(Path(d).resolve()) for d in recipe.real_negative_dirs]
        if recipe.real_speech_dir is not None:
            recipe.real_speech_dir = str(Path(recipe.real_speech_dir).resolve())
        return recipe


def _checked(path: Path, cls: type, data: Any, dotted: str) -> dict[str, Any]:
    """The keyword arguments of dataclass `cls` from the mapping `data`, every value checked."""
    where = dotted[:-1] or "the top level"
    if not isinstance(data, dict):
        raise ValueError(f"{path}: {where} must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "path"}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(dotted + str(k) for k in unknown)}; known: "
                         f"{', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in data.items():
        typ, key_path = hints[key], dotted + key
        if isinstance(typ, type) and dataclasses.is_dataclass(typ):
            out[key] = typ(**_checked(path, typ, value or {}, key_path + "."))
            continue
        ok, value = _typed(typ, value)
        if not ok:
            raise ValueError(f"{path}: {key_path} must be {_describe(typ)} (got {value!r})")
        lo, hi = fields[key].metadata.get("range", (0.0, None))
        nums = [v for v in (value if isinstance(value, (list, tuple)) else [value]) if isinstance(v, (int, float))]
        if any((lo is not None and v < lo) or (hi is not None and v > hi) for v in nums):
            raise ValueError(f"{path}: {key_path} must lie in [{lo}, {'∞' if hi is None else hi}] (got {value!r})")
        if typing.get_origin(typ) is tuple and len(typing.get_args(typ)) == 2 and typing.get_args(typ)[1] is not Ellipsis \
                and value[0] > value[1]:
            raise ValueError(f"{path}: {key_path} is a (low, high) range: low must not exceed high (got {value!r})")
        out[key] = value
    return out


def _is(kind: Any, v: Any) -> bool:
    if kind is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind is int:
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, kind)


def _typed(typ: Any, v: Any) -> tuple[bool, Any]:
    """(whether `v` fits `typ`, `v` with lists made tuples where `typ` is a tuple). Numbers keep their own type,
    so a stage key is the same as before the check existed."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin is tuple:
        fixed = not (len(args) == 2 and args[1] is Ellipsis)
        ok = isinstance(v, (list, tuple)) and (not fixed or len(v) == len(args)) and \
            all(_is(args[0] if not fixed else a, x) for a, x in zip(args if fixed else [args[0]] * len(v), v))
        return ok, tuple(v) if ok else v
    if origin is list:
        return isinstance(v, list) and all(_typed(args[0], x)[0] for x in v), v
    if origin is dict:
        return isinstance(v, dict) and all(_is(args[0], k) and _typed(args[1], x)[0] for k, x in v.items()), v
    return _is(typ, v), v


def _describe(typ: Any) -> str:
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin is tuple:
        return f"a list of {len(args)} numbers" if args[-1] is not Ellipsis else "a list of whole numbers"
    if origin is list:
        return f"a list of {_describe(args[0])}s"
    if origin is dict:
        return f"a mapping of {_describe(args[0])} to {_describe(args[1])}"
    return {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}.get(typ, str(typ))
