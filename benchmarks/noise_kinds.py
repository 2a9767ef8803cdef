"""What the real-speech benchmark's 10 dB figure is made of: misses per kind of background and SNR.

real_speech.py scores real speakers' clips clean and at 10 dB over held-out music and coloured noise. The WUW
clips are telephone calls: nothing above ~3.4 kHz. This scores one model's misses of the phrase over each kind of
background alone (white, pink, brown noise, music, and white noise cut below 3.6 kHz or above 4 kHz) at several
SNRs, on the real speakers' isolated clips and on the recipe's synthetic held-out clips full band and through the
telephone channel, so that a loss in noise can be read as the speakers, the channel or the noise.
(faint_noise.py asks the per-voice-family question on single clips; this one scores the benchmark's streams.)

    .venv/bin/python benchmarks/noise_kinds.py --model models/proxies/voyager.yaml \\
        --recipe recipes/proxies/voyager.yaml [--part dev] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import butter, sosfiltfilt

from wakeword import evaluation as ev
from wakeword.audio.signal import SR, audible_rms, colored_noise, excerpt, rms
from wakeword.detector import DetectorConfig
from wakeword.engine import Engine
from wakeword.errors import WakewordError
from wakeword.model.card import ModelCard
from wakeword.train.data import backgrounds
from wakeword.train.data import real_speech as rs
from wakeword.train.data.clips import ClipSet
from wakeword.train.dataset import recipe_stages
from wakeword.train.recipe import Recipe

SNRS = (10, 20, 40)
SEGMENT_S = 10


def backgrounds_by_kind(n: int, music: list[np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Unit-RMS backgrounds of n samples, one per kind, in 10 s segments (as evaluation.background makes them)."""
    def segments(make) -> np.ndarray:
        out = np.zeros(n, np.float32)
        for a in range(0, n, SEGMENT_S * SR):
            x = make(min(n, a + SEGMENT_S * SR) - a)
            out[a:a + len(x)] = x / max(rms(x), 1e-4)
        return out

    kinds = {k: segments(lambda m, k=k: colored_noise(m, rng, k)) for k in ("white", "pink", "brown")}
    kinds["music"] = segments(lambda m: excerpt(music, m, rng))
    for name, cut, btype in (("white_below_3.6k", 3600, "low"), ("white_above_4k", 4000, "high")):
        x = sosfiltfilt(butter(8, cut, btype, fs=SR, output="sos"), kinds["white"])
        kinds[name] = (x / rms(x)).astype(np.float32)
    return kinds


def frr_table(engine: Engine, card: ModelCard, rule: DetectorConfig, stream: ev.PositiveStream,
              music: list[np.ndarray], seed: int) -> dict:
    """FRR of the phrase in `stream`, clean and over each kind of background at each SNR."""
    def frr(audio: np.ndarray) -> float:
        probs = ev.probabilities(engine, [audio])[card.name]
        return round(ev.missed_share(probs, rule, card.geometry, stream.spans), 4)

    out: dict = {"clips": len(stream.spans), "clean": frr(stream.audio)}
    level = audible_rms(stream.audio)
    for kind, noise in backgrounds_by_kind(len(stream.audio), music, np.random.default_rng(seed)).items():
        out[kind] = {f"{snr} dB": frr(np.clip(stream.audio + noise * level * 10 ** (-snr / 20), -1, 1).astype(np.float32))
                     for snr in SNRS}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="model card")
    ap.add_argument("--recipe", required=True, help="the recipe that made it (its synthetic held-out clips)")
    ap.add_argument("--detector-from", metavar="CARD", help="score at this card's detector settings")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--part", default="dev", choices=("dev", "test"))
    ap.add_argument("--cache", default=".cache/train")
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--out", help="results JSON (default: benchmarks/results/noise_kinds_<name>_<part>.json)")
    a = ap.parse_args(argv)
    t0 = time.time()
    try:
        card = ModelCard.load(a.model)
        rule = DetectorConfig.from_card(ModelCard.load(a.detector_from).detector if a.detector_from else card.detector)
    except (OSError, ValueError, WakewordError) as e:
        raise SystemExit(f"noise_kinds: {e}") from None
    engine = Engine([card])
    _, music = backgrounds.split(backgrounds.music_tracks(Path(a.cache) / "downloads"), eval_fraction=0.3)
    parts = ("tuning", "training") if a.part == "dev" else ("test",)
    words = rs.transcript_words(card.phrase)
    real = [u for p in parts for u in rs.load(a.data, p) if u.keyword in words and u.span and u.isolated]
    results: dict = {"model": a.model, "detector": {"threshold": rule.threshold, "smoothing": rule.smoothing,
                                                     "patience": rule.patience},
                     "part": a.part, "snr": "audible speech RMS against the background's RMS", "sets": {}}
    if real:  # a phrase no real speaker says here (hey_ssafy, alexa) has only the synthetic sets
        stream = rs.keyword_stream(real, np.random.default_rng(a.seed))
        results["sets"]["real_isolated"] = frr_table(engine, card, rule, stream, music, a.seed + 1)
    [positives] = recipe_stages(Recipe.load(a.recipe), Path(a.cache), "eval_positives")
    clips = ClipSet.load(positives / "clips.npz").clips
    for label, chan in (("synthetic_full_band", lambda c: c),
                        ("synthetic_telephone", lambda c: rs.telephone(c, np.random.default_rng(a.seed)))):
        st = ev.positive_stream([chan(c) for c in clips], None, [], np.random.default_rng(a.seed))
        results["sets"][label] = frr_table(engine, card, rule, st, music, a.seed + 1)
    results["seconds"] = round(time.time() - t0, 1)
    out = Path(a.out or f"benchmarks/results/noise_kinds_{card.name}_{a.part}.json")
    out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results["sets"], indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
