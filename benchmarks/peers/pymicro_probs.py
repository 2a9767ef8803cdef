"""Peer adapter, run with the pymicro-wakeword 2.5.0 venv's python (benchmarks/peers/venvs.py): per-step scores.

    python pymicro_probs.py FILE.wav OUT.npz [MODEL]     (MODEL: a built-in name, default alexa, or a model .json)

Streams a 16 kHz mono s16 WAV in 10 ms pieces, as a live microphone would, through
MicroWakeWordFeatures.process_streaming → MicroWakeWord.process_streaming_prob, and saves:
  probs   the value process_streaming_prob returns after each real inference (every `stride` feature
          frames, i.e. every 30 ms): the mean of the last sliding_window_size probabilities, 0.0 until the
          window is full. The 0.0 placeholders it returns between inferences are not scores and are left out.
  times   stream seconds at the end of the audio consumed when each of those was produced
  cutoff  probability_cutoff from the model's json (its own threshold: it fires when probs > cutoff)
  step_s  seconds between inferences (stride × 10 ms)
  cpu_s   process CPU seconds (user + sys) of the streaming loop only (model load excluded)
  audio_s length of the WAV in seconds
"""
import sys
import wave
from pathlib import Path

import numpy as np
from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
from usage import cpu, peak_rss_kb  # benchmarks/peers/usage.py

CHUNK_SAMPLES = 160  # 10 ms




def main() -> None:
    wav, out = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "alexa"
    mww = MicroWakeWord.from_config(name) if name.endswith(".json") else MicroWakeWord.from_builtin(Model(name))
    feats = MicroWakeWordFeatures()
    w = wave.open(wav, "rb")  # read as a stream, chunk by chunk, so peak memory is the engine's, not the file's
    if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (16000, 2, 1):
        sys.exit(f"{wav}: need 16 kHz 16-bit mono")
    n_samples = w.getnframes()
    times, probs = [], []
    fed = 0
    c0 = cpu()
    while chunk := w.readframes(CHUNK_SAMPLES):
        fed += len(chunk) // 2
        fed_s = fed / 16000
        for f in feats.process_streaming(chunk):
            infer = len(mww._features) == mww.stride - 1  # this frame completes a stride: a real inference
            p = mww.process_streaming_prob(f)
            if infer and p is not None:
                times.append(fed_s)
                probs.append(p)
    cpu_s = cpu() - c0
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, times=np.array(times, np.float64), probs=np.array(probs, np.float32),
             cutoff=np.float64(mww.probability_cutoff), step_s=np.float64(mww.stride * CHUNK_SAMPLES / 16000),
             cpu_s=np.float64(cpu_s), audio_s=np.float64(n_samples / 16000),
             peak_rss_kb=np.float64(peak_rss_kb()))
    print(f"pymicro {name}: {len(probs)} steps, max {max(probs, default=0):.3f}, cutoff {mww.probability_cutoff}, "
          f"cpu {cpu_s:.2f} s for {n_samples / 16000:.1f} s of audio")


if __name__ == "__main__":
    main()
