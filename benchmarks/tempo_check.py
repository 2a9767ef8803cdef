"""Real speakers slower and faster: misses of the phrase when the speakers' clips are time-stretched.

Real people draw a word out or clip it short in ways no TTS voice does. This scores the real speakers' isolated
clips (real_speech.keyword_stream, the stream real_speech.py and channel_tilt.py score) stretched by sox's `tempo
-s` (WSOLA: the pitch and the spectrum stay, only the timing changes) to 0.8x and 1.25x, the keyword spans moved
with the audio. A model that misses fewer of them slowed down was trained on slower renditions than the
speakers say, and the other way round.

    .venv/bin/python benchmarks/tempo_check.py --model CARD [--model CARD ...] \\
        --detector-from models/proxies/wildfire.yaml [--part dev] [--out FILE]
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
from channel_tilt import run

from wakeword import evaluation as ev
from wakeword.audio.signal import SR

TEMPOS = {"as recorded": 1.0, "slower (tempo 0.8)": 0.8, "faster (tempo 1.25)": 1.25}


def stretch(audio: np.ndarray, tempo: float) -> np.ndarray:
    """`audio` at `tempo` times its speed (sox tempo -s), float32 in and out through pipes."""
    raw = ["-t", "f32", "-r", str(SR), "-c", "1"]
    try:
        out = subprocess.run(["sox", *raw, "-", *raw, "-", "tempo", "-s", str(tempo)],
                             input=audio.astype(np.float32).tobytes(), capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"tempo_check: sox tempo failed ({e}); it needs sox: apt-get install sox") from None
    return np.frombuffer(out, np.float32).copy()


def tempo_streams(stream: ev.PositiveStream) -> dict[str, ev.PositiveStream]:
    """The stream at each tempo; every span scaled by the length ratio (the stretch is uniform in time)."""
    out = {}
    for name, tempo in TEMPOS.items():
        audio = stream.audio if tempo == 1.0 else stretch(stream.audio, tempo)
        k = len(audio) / len(stream.audio)
        out[name] = ev.PositiveStream(audio, [(a * k, b * k) for a, b in stream.spans])
    return out


def main(argv: list[str] | None = None) -> int:
    return run(argv, "tempo_check", __doc__, tempo_streams)


if __name__ == "__main__":
    sys.exit(main())
