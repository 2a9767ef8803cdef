"""Shared fixtures: real WAV files made with an offline TTS voice (never a mock), by wakeword.testing."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from wakeword.testing import in_noise, tts, write

REPO = Path(__file__).resolve().parent.parent
# Tests of conversion paths (rates, formats, chunking, threading) use this threshold so they test the plumbing,
# not the model's operating point; the card's own threshold is tested on the 16 kHz phrase.
PLUMBING_THRESHOLD = 0.8  # an 8 kHz copy of the phrase (no energy above 4 kHz) peaks at ~0.87


@pytest.fixture(scope="session")
def phrase(tmp_path_factory) -> tuple[Path, float, np.ndarray]:
    """'Hey, Saffy.' by flite kal16 in pink noise at 15 dB SNR: (wav path, phrase end, audio).

    The bundled model's card threshold (its 0.5 FA/h operating point) detects it; held-out voices are
    measured by the training pipeline's evaluation, not here.
    """
    audio, end = in_noise(tts("Hey, Saffy."), 15.0)
    path = write(tmp_path_factory.mktemp("phrase") / "hey_saffy_15db.wav", audio)
    return path, end, audio


@pytest.fixture(scope="session")
def negative(tmp_path_factory) -> tuple[Path, np.ndarray]:
    audio, _ = in_noise(tts("The weather today is sunny with a light breeze from the west.", "awb"), 15.0, seed=1)
    return write(tmp_path_factory.mktemp("neg") / "negative.wav", audio), audio


@pytest.fixture(scope="session")
def alexa_phrase(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """'Alexa.' in noise at 15 dB SNR: (wav path, audio)."""
    audio, _ = in_noise(tts("Alexa."), 15.0, seed=3)
    return write(tmp_path_factory.mktemp("alexa") / "alexa_15db.wav", audio), audio


# Speakers of the tiny real-speech folder, chosen so that the dev ones fall on both sides of the dev cut
# (wakeword.train.data.real_speech.part_of: ann lee and 0a1b2c3d are tuning speakers, the other dev ones training).
REAL_SPEAKERS = {"wuw:ann lee": ("dev", "00000"), "wuw:cat kim": ("dev", "00002"), "wuw:bob ray": ("test", "00001"),
                 "sc:0a1b2c3d": "dev", "sc:11111111": "dev", "sc:9f8e7d6c": "test"}


@pytest.fixture(scope="session")
def real_speech_dir(tmp_path_factory) -> Path:
    """A real-speech folder laid out like ../shared/data (split file, WUW mu-law calls with data.json, Speech
    Commands FLAC), its speech said by flite and coded by sox, as the real corpora are."""
    root = tmp_path_factory.mktemp("real_speech")
    calls, rows, entries = root / "wuw-corpus-ii" / "calls", ["path\tspeaker\tsplit"], []
    words = ["Operator", "ThinkEngine", "Onword", "Wildfire", "Voyager"]
    for speaker, value in REAL_SPEAKERS.items():
        if speaker.startswith("wuw:"):
            split, session = value
            texts = [speaker[4:]] + words + [f"please call the {w}" for w in words]
            for n, text in enumerate(texts):
                name = f"WUWII{session}_{n:03d}.ulaw"
                path = calls / session / name
                path.parent.mkdir(parents=True, exist_ok=True)
                wav = write(root / "tmp.wav", tts(text))
                subprocess.run(["sox", str(wav), "-t", "ul", "-r", "8000", str(path)], check=True)
                dur = len(path.read_bytes()) / 8000
                entries.append({"filePath": f"calls/{session}/{name}", "utteranceNumber": f"{n:03d}",
                                "transcription": text, "startTime": 0.1 if n else 0, "endTime": dur - 0.1})
                rows.append(f"wuw-corpus-ii/calls/{session}/{name}\t{speaker}\t{split}")
            other = calls / session / f"WUWII{session}_006_original.ulaw"  # another take, not in data.json
            other.write_bytes((calls / session / f"WUWII{session}_006.ulaw").read_bytes())
            rows.append(f"wuw-corpus-ii/calls/{session}/{other.name}\t{speaker}\t{split}")
        else:
            for word in ("yes", "stop"):
                path = root / "speech-commands-test" / word / f"{speaker[3:]}_nohash_0.flac"
                path.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(["sox", str(write(root / "tmp.wav", tts(word))), str(path)], check=True)
                rows.append(f"speech-commands-test/{word}/{path.name}\t{speaker}\t{value}")
    (root / "wuw-corpus-ii" / "data.json").write_text(json.dumps({"entries": entries}))
    (root / "real-speech-split.tsv").write_text("\n".join(rows) + "\n")
    (root / "tmp.wav").unlink()
    return root
