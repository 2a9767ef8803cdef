"""Offline TTS voices: the only source of "Hey SSAFY" positives (no human recording exists).

Every engine of notes/data.md, and the neural voices of PyPI wheels (neural_voices.py), is wrapped behind
one call, `synthesize(voice, text, prosody)`, that returns float32 audio at the engine's native rate. Engines
differ in how they accept speed and pitch, so `Prosody` is mapped per engine; voices that are missing on this
machine are simply not listed by `available_voices()`, and `python -m wakeword.train.data.voices --check` says which are missing.
"""
from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from xml.sax.saxutils import escape as xml_escape

import numpy as np
from scipy.io import wavfile

from ...audio.resample import to_mono_float
from . import neural_voices

ESPEAK_BASES = ["en-us", "en-gb", "en-us-nyc", "en-029", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
ESPEAK_VARIANTS = ["", "m1", "m3", "m5", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt3"]
MBROLA = ["mb-us1", "mb-us2", "mb-us3", "mb-en1"]
FLITE = ["kal", "kal16", "awb", "rms", "slt"]
FESTIVAL = ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"]
RHVOICE = ["alan", "bdl", "clb", "slt", "evgeniy-eng", "lyubov"]
PICO = ["en-US", "en-GB"]
PIPER = ["en_US-joe-medium"]
KOKORO = neural_voices.KOKORO_STYLES
HIBARI = ["heart"]
NEURAL = ("piper", "kokoro", "hibari")  # run in-process from wheels of the train extra (neural_voices.py)
# Bumped when an engine's rendering of the same job changes, so clip sets made with the old one are redone
# (part of every clip set's cache key). pico 2: it follows Prosody (before, all its clips of a text were identical).
ENGINE_REVISIONS = {"pico": 2}


@dataclass(frozen=True)
class Voice:
    engine: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.engine}:{self.name}"

    @property
    def family(self) -> str:
        """Voices sharing a family share a speaker model; hold-outs remove whole families."""
        return f"{self.engine}:{self.name.split('+')[0]}"

    @classmethod
    def parse(cls, text: str) -> "Voice":
        engine, _, name = text.partition(":")
        return cls(engine, name)


# Voices no recipe trains on or evaluates on: 16 MBROLA diphone voices of native speakers of other languages
# reading English phonemes through espeak-ng (German, French, Dutch, Swedish, ...; 7 female) and festival's two
# British diphone voices. They are the fresh-voice check of benchmarks/fresh_voices.py; script/install-voices
# installs them.
MBROLA_ACCENTED = ["af1", "de1", "de2", "de3", "de4", "de5", "de6", "fr1", "fr4", "gr2", "hu1", "nl2", "pl1", "ro1",
                   "sw1", "sw2"]
FRESH_VOICES = [Voice("mbrola", f"mb-{m}-en") for m in MBROLA_ACCENTED] + [Voice("festival", "rab_diphone"),
                                                                            Voice("festival", "don_diphone")]


@dataclass(frozen=True)
class Prosody:
    rate: float = 1.0  # >1 speaks faster
    pitch: float = 1.0  # multiplier of the voice's mean pitch, where the engine allows it


def _run(cmd: list[str], text: str | None = None) -> None:
    subprocess.run(cmd, input=text.encode() if text is not None else None, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def _read(path: str) -> tuple[np.ndarray, int]:
    sr, data = wavfile.read(path)
    return to_mono_float(data), int(sr)


def synthesize(voice: Voice, text: str, prosody: Prosody = Prosody(), seed: int = 0) -> tuple[np.ndarray, int]:
    """Speak `text` (or espeak phonemes `[[...]]`) with `voice`; returns (float32 audio, sample rate)."""
    if voice.engine == "piper":
        return neural_voices.piper(voice.name, text, prosody.rate, seed)
    if voice.engine == "kokoro":
        return neural_voices.kokoro(voice.name, text, prosody.rate, seed)
    if voice.engine == "hibari":
        return neural_voices.hibari(voice.name, text, prosody.rate, prosody.pitch, seed)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.wav")
        e, n = voice.engine, voice.name
        if e in ("espeak", "mbrola"):
            _run(["espeak-ng", "-v", n, "-s", str(int(165 * prosody.rate)), "-p", str(int(np.clip(50 * prosody.pitch, 0, 99))),
                  "-w", out, "--", text])
        elif e == "flite":
            f0 = (110 if n in ("kal", "kal16", "awb", "rms") else 170) * prosody.pitch
            _run(["flite", "-voice", n, "--setf", f"duration_stretch={1 / prosody.rate:.3f}",
                  "--setf", f"int_f0_target_mean={f0:.0f}", "-t", text, "-o", out])
        elif e == "festival":
            _run(["text2wave", "-eval", f"(voice_{n})", "-eval", f"(Parameter.set 'Duration_Stretch {1 / prosody.rate:.3f})",
                  "-o", out], text)
        elif e == "rhvoice":
            _run(["RHVoice-test", "-p", n, "-r", str(int(100 * prosody.rate)), "-t", str(int(100 * prosody.pitch)),
                  "-o", out], text)
        elif e == "pico":  # pico2wave has no speed or pitch options, but it reads SVOX markup
            markup = (f'<speed level="{100 * prosody.rate:.0f}"><pitch level="{100 * prosody.pitch:.0f}">'
                      f'{xml_escape(text)}</pitch></speed>')
            _run(["pico2wave", "-l", n, "-w", out, "--", markup])
        else:
            raise ValueError(f"unknown TTS engine {e!r}")
        return _read(out)


def _engine_present(engine: str) -> bool:
    if engine in NEURAL:
        return neural_voices.installed(engine)
    binary = {"espeak": "espeak-ng", "mbrola": "mbrola", "flite": "flite", "festival": "text2wave",
              "rhvoice": "RHVoice-test", "pico": "pico2wave"}[engine]
    return shutil.which(binary) is not None


def all_voices() -> list[Voice]:
    voices = [Voice("espeak", b + (f"+{v}" if v else "")) for b in ESPEAK_BASES for v in ESPEAK_VARIANTS]
    voices += [Voice("mbrola", n) for n in MBROLA] + [Voice("flite", n) for n in FLITE]
    voices += [Voice("festival", n) for n in FESTIVAL] + [Voice("rhvoice", n) for n in RHVOICE]
    voices += [Voice("pico", n) for n in PICO] + [Voice("piper", n) for n in PIPER]
    voices += [Voice("kokoro", n) for n in KOKORO] + [Voice("hibari", n) for n in HIBARI]
    return voices


@functools.lru_cache(maxsize=None)
def _probe(voice: Voice) -> str | None:
    """None if the voice says "hello", else why not (shown by --check: a corrupted model wheel is not "missing")."""
    try:
        audio, _ = synthesize(voice, "hello")
    except (subprocess.SubprocessError, OSError, ValueError, ImportError) as e:
        return f"{type(e).__name__}: {e}"
    return None if len(audio) > 1000 and float(np.abs(audio).max()) > 1e-3 else "synthesized silence"


def available_voices() -> list[Voice]:
    """Voices whose engine is installed and which actually speak (one probe per voice family)."""
    present = {e for e in {v.engine for v in all_voices()} if _engine_present(e)}
    family_ok: dict[str, bool] = {}
    out = []
    for v in all_voices():
        if v.engine not in present:
            continue
        probe = Voice(v.engine, v.name.split("+")[0])
        if v.family not in family_ok:
            family_ok[v.family] = _probe(probe) is None
        if family_ok[v.family]:
            out.append(v)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="List the offline TTS voices usable for training.")
    ap.add_argument("--check", action="store_true", help="probe every engine and report what is missing")
    args = ap.parse_args(argv)
    ok = available_voices()
    families = sorted({v.family for v in ok})
    missing = sorted({v.family for v in all_voices()} - set(families))
    print(f"{len(ok)} voice setups in {len(families)} voice families usable: {', '.join(families)}")
    if missing:
        print(f"missing ({len(missing)}): {', '.join(missing)}  -> run script/install-voices, "
              "and `pip install .[train]` for piper, kokoro and hibari")
        for v in all_voices():  # installed but failing: say why, once per family
            if v.family in missing and _engine_present(v.engine) and v.name == v.name.split("+")[0]:
                print(f"  {v.family} is installed but fails: {_probe(v)}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
