"""Peer adapter, run with the `oww` venv's python (benchmarks/peers/venvs.py): openWakeWord per-step scores.

    python oww_probs.py FILE.wav OUT.npz [--model alexa_v0.1] [--models-dir DIR]

A faithful, single-threaded re-implementation of wyoming-openwakeword 1.8.2's streaming
(wyoming_openwakeword/openwakeword.py: mels_proc → embeddings_proc → ww_proc, for one client after
`audio-start`, with const.py's buffer sizes), using ai_edge_litert's Interpreter in place of tflite_runtime:
  - audio arrives in 1280-sample (80 ms) chunks as int16-valued float32 into a 10 s buffer, starting empty;
  - whenever >= 1760 new samples are buffered, the melspectrogram model runs on the 1760 samples starting at
    the oldest new one (1280 + 480 overlap → 8 mel frames), `mels / 10 + 2`, and 1280 samples are consumed;
  - whenever >= 76 new mel frames are buffered, the embedding model runs on those 76 frames (one 96-d
    embedding) and 8 frames are consumed;
  - whenever >= 16 new embeddings are buffered, the wake-word model runs on those 16 and 1 is consumed.
The threads of the original each drain their queue in order, so running the three stages to completion
after each chunk gives the same scores; each score is timed at the end of the audio fed so far. Model
resizes / allocations are done per call as the original does (they count in cpu_s).

Saves: probs (raw model output, one per 80 ms), times (stream seconds fed when each was produced),
threshold (0.5: wyoming-openwakeword's default; it fires when prob >= threshold with --trigger-level 1),
step_s (0.08), cpu_s (process CPU of the streaming loop, model loading excluded), audio_s.
The models are openWakeWord's (CC BY-NC-SA 4.0): read from the local cache for benchmarking only.
"""
import argparse
import sys
import wave
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from usage import cpu, peak_rss_kb  # benchmarks/peers/usage.py

# wyoming_openwakeword/const.py (1.8.2)
SAMPLE_RATE = 16000
MAX_SAMPLES = 10 * SAMPLE_RATE
SAMPLES_PER_CHUNK = 1280
MEL_SAMPLES = 1760
NUM_MELS = 32
MAX_MELS = 10 * 97
EMB_FEATURES = 76
EMB_STEP = 8
MAX_EMB = 10 * EMB_STEP
WW_FEATURES = 96
THRESHOLD = 0.5

DEFAULT_MODELS = Path(__file__).resolve().parents[2] / ".cache" / "peers" / "oww-wheel" / "wyoming_openwakeword" / "models"



class OpenWakeWordStream:
    """One wyoming-openwakeword client's buffers and the three models; `feed(chunk)` → new probabilities."""

    def __init__(self, models_dir: Path, model: str) -> None:
        self.mel = Interpreter(model_path=str(models_dir / "melspectrogram.tflite"), num_threads=1)
        self.mel_in = self.mel.get_input_details()[0]["index"]
        self.mel_out = self.mel.get_output_details()[0]["index"]
        self.emb = Interpreter(model_path=str(models_dir / "embedding_model.tflite"), num_threads=1)
        self.emb_in = self.emb.get_input_details()[0]["index"]
        self.emb_out = self.emb.get_output_details()[0]["index"]
        self.ww = Interpreter(model_path=str(models_dir / f"{model}.tflite"), num_threads=1)
        ww_input = self.ww.get_input_details()[0]
        self.ww_windows = int(ww_input["shape"][1])
        self.ww_in = ww_input["index"]
        self.ww_out = self.ww.get_output_details()[0]["index"]
        # ClientData / WakeWordData after reset() (audio-start)
        self.audio = np.zeros(MAX_SAMPLES, np.float32)
        self.new_audio = 0
        self.mels = np.zeros((MAX_MELS, NUM_MELS), np.float32)
        self.new_mels = 0
        self.embeddings = np.zeros((MAX_EMB, WW_FEATURES), np.float32)
        self.new_embeddings = 0

    def feed(self, chunk: np.ndarray) -> list[float]:
        n = len(chunk)
        # handler.py, AudioChunk
        self.audio[:-n] = self.audio[n:]
        self.audio[-n:] = chunk
        self.new_audio = min(len(self.audio), self.new_audio + n)
        # mels_proc
        while self.new_audio >= MEL_SAMPLES:
            x = np.zeros((1, MEL_SAMPLES), np.float32)
            x[0, :] = self.audio[-self.new_audio: len(self.audio) - self.new_audio + MEL_SAMPLES]
            self.new_audio = max(0, self.new_audio - SAMPLES_PER_CHUNK)
            self.mel.resize_tensor_input(self.mel_in, x.shape, strict=True)
            self.mel.allocate_tensors()
            self.mel.set_tensor(self.mel_in, x)
            self.mel.invoke()
            mels = self.mel.get_tensor(self.mel_out) / 10 + 2
            k = mels.shape[2]
            self.mels[:-k] = self.mels[k:]
            self.mels[-k:] = mels[0, 0, :, :]
            self.new_mels = min(len(self.mels), self.new_mels + k)
        # embeddings_proc
        while self.new_mels >= EMB_FEATURES:
            x = np.zeros((1, EMB_FEATURES, NUM_MELS, 1), np.float32)
            x[0, :, :, 0] = self.mels[-self.new_mels: len(self.mels) - self.new_mels + EMB_FEATURES, :]
            self.new_mels = max(0, self.new_mels - EMB_STEP)
            self.emb.resize_tensor_input(self.emb_in, x.shape, strict=True)
            self.emb.allocate_tensors()
            self.emb.set_tensor(self.emb_in, x)
            self.emb.invoke()
            emb = self.emb.get_tensor(self.emb_out)
            k = emb.shape[2]
            self.embeddings[:-k] = self.embeddings[k:]
            self.embeddings[-k:] = emb[0, 0, :, :]
            self.new_embeddings = min(len(self.embeddings), self.new_embeddings + k)
        # ww_proc
        probs = []
        while self.new_embeddings >= self.ww_windows:
            x = np.zeros((1, self.ww_windows, WW_FEATURES), np.float32)
            x[0, :] = self.embeddings[-self.new_embeddings: len(self.embeddings) - self.new_embeddings + self.ww_windows]
            self.new_embeddings = max(0, self.new_embeddings - 1)
            self.ww.resize_tensor_input(self.ww_in, x.shape, strict=False)
            self.ww.allocate_tensors()
            self.ww.set_tensor(self.ww_in, x)
            self.ww.invoke()
            probs.append(float(self.ww.get_tensor(self.ww_out)[0].item()))
        return probs



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wav")
    ap.add_argument("out")
    ap.add_argument("--model", default="alexa_v0.1")
    ap.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    a = ap.parse_args()
    w = wave.open(a.wav, "rb")  # read as a stream, chunk by chunk, so peak memory is the engine's, not the file's
    if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (SAMPLE_RATE, 2, 1):
        sys.exit(f"{a.wav}: need 16 kHz 16-bit mono")
    n_samples = w.getnframes()
    stream = OpenWakeWordStream(a.models_dir, a.model)
    times, probs = [], []
    fed = 0
    c0 = cpu()
    while raw := w.readframes(SAMPLES_PER_CHUNK):
        chunk = np.frombuffer(raw, np.int16).astype(np.float32)
        fed += len(chunk)
        for p in stream.feed(chunk):
            times.append(fed / SAMPLE_RATE)
            probs.append(p)
    cpu_s = cpu() - c0
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(a.out, times=np.array(times, np.float64), probs=np.array(probs, np.float32), threshold=np.float64(THRESHOLD),
             step_s=np.float64(SAMPLES_PER_CHUNK / SAMPLE_RATE), cpu_s=np.float64(cpu_s),
             audio_s=np.float64(n_samples / SAMPLE_RATE), peak_rss_kb=np.float64(peak_rss_kb()))
    print(f"openwakeword {a.model}: {len(probs)} steps, max {max(probs, default=0):.3f}, threshold {THRESHOLD}, "
          f"cpu {cpu_s:.2f} s for {n_samples / SAMPLE_RATE:.1f} s of audio")


if __name__ == "__main__":
    main()
