"""Our engine under the same harness as the peer adapters: stream a 16 kHz mono s16 WAV in 100 ms reads.

    python ours_probs.py WAV OUT.npz [MODEL]   → times, probs, cpu_s, audio_s, peak_rss_kb

Used for the memory comparison (benchmarks/cpu_per_hour.py): every engine reads the file the same way, so
peak RSS is the engine's own, not the file's. (The CPU table also measures the real `wakeword detect` path.)
"""
import sys
import wave
from pathlib import Path

import numpy as np

from wakeword import Engine
from usage import cpu, peak_rss_kb  # benchmarks/peers/usage.py




def main() -> None:
    wav, out = sys.argv[1], sys.argv[2]
    model = sys.argv[3] if len(sys.argv) > 3 else "hey_ssafy"
    engine = Engine([model])
    probs: list[np.ndarray] = []
    engine.on_scores(lambda name, p: probs.append(p))
    w = wave.open(wav, "rb")
    c0 = cpu()
    while raw := w.readframes(1600):
        engine.process(np.frombuffer(raw, "<i2"))
    cpu_s = cpu() - c0
    p = np.concatenate(probs)
    g = engine.models[0].card.geometry
    np.savez(out, times=g.step_end_times(len(p)), probs=p, cpu_s=np.float64(cpu_s),
             audio_s=np.float64(w.getnframes() / 16000), peak_rss_kb=np.float64(peak_rss_kb()))
    print(f"ours {model}: {len(p)} steps, cpu {cpu_s:.2f} s")


if __name__ == "__main__":
    Path(sys.argv[2]).parent.mkdir(parents=True, exist_ok=True)
    main()
