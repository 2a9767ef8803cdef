"""Peer adapter, run inside the pymicro-wakeword venv: CPU seconds to process a 16 kHz mono s16 WAV.

    python pymicro_cpu.py FILE.wav [MODEL]    → one JSON line {"cpu_s", "audio_s", "detections"}

Start-up (model load) is excluded, as for our engine; features and inference are both timed, the way
its own CLI streams a file (MicroWakeWordFeatures.process_streaming → MicroWakeWord.process_streaming).
"""
import json
import resource
import sys
import wave

from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    path = sys.argv[1]
    model = Model(sys.argv[2] if len(sys.argv) > 2 else "alexa")
    with wave.open(path, "rb") as w:
        audio = w.readframes(w.getnframes())
        seconds = w.getnframes() / w.getframerate()
    mww = MicroWakeWord.from_builtin(model)
    feats = MicroWakeWordFeatures()
    chunk = 1600 * 2  # 100 ms of s16 audio per call, like a live stream
    detections = 0
    c0 = cpu()
    for i in range(0, len(audio), chunk):
        for f in feats.process_streaming(audio[i:i + chunk]):
            if mww.process_streaming(f):
                detections += 1
    print(json.dumps({"cpu_s": cpu() - c0, "audio_s": seconds, "detections": detections}))


if __name__ == "__main__":
    main()
