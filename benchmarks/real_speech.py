"""The accuracy yardstick: models on real speech by hundreds of speakers they never heard.

    .venv/bin/python benchmarks/real_speech.py [--model models/alexa.yaml ...] [--part test] [--out FILE]

For every model card (default: the bundled models and any proxy models under models/proxies/):
- **False accepts on real speech**: every utterance of the part (WUW Corpus II calls and Speech Commands words;
  wakeword/train/data/real_speech.py) that does not say the model's phrase, back to back as one continuous stream, clean
  and at 10 dB over held-out music and coloured noise; FA/h (4 s lockout) at the card's settings and over a sweep.
- **Real-speaker recall** where real people say the phrase (the proxy phrases "voyager" and "wildfire" in WUW):
  the part's clips of it said alone and inside sentences, 1.5-3 s apart in one stream, hit = an event within
  [keyword start, keyword end + 1 s] from data.json's times; FRR at the card threshold and at 0.1 / 0.5 / 1 FA/h on
  the negatives (both conditions).
- **A peer on the very same negative streams** (with `--peer pymicro`): pymicro-wakeword 2.5.0's built-in model of
  the same name (alexa), run in its own venv (benchmarks/peers/), at its own cutoff with smoothing 1, patience 1,
  refractory 2 s, as benchmarks/accuracy_vs_peers.py scores it.
- **The channel check** (with `--recipe`): the recipe's synthetic held-out clips, full band and through the
  telephone channel the WUW calls went through, at the same thresholds, so a WUW figure can be read as speakers
  rather than channel.
Decisions are made on dev speakers: `--part dev` scores false accepts on the `tuning` speakers (never trained on) and
recall on every dev speaker who says the phrase (`training` and `tuning`: no recipe trains on a real utterance of
its own phrase, data/real_speech.negatives drops them), 3x the clips of `--part tuning` alone. `test` is for
reported figures only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np

from wakeword import evaluation as ev
from wakeword.detector import DetectorConfig
from wakeword.engine import Engine
from wakeword.errors import WakewordError
from wakeword.model.card import ModelCard, bundled_dir
from wakeword.train.data import backgrounds
from wakeword.train.data import real_speech as rs

from peers import venvs  # benchmarks/peers/venvs.py
from peers.streams import write_stream

CONDITIONS = {"clean": None, "10db": 10.0}
PYMICRO_MODELS = {"alexa"}  # pymicro-wakeword's built-in models that share a name with ours
PEER_DETECTOR = dict(smoothing=1, patience=1, refractory_s=2.0)
WUW_FIELDS = ("gender", "dialect", "phonetype")  # data.json's speaker fields
TARGETS = [0.1, 0.5, 1.0]


def negative_streams(negatives: list[np.ndarray], music: list[np.ndarray], seed: int) -> dict[str, list[np.ndarray]]:
    """The negatives back to back in 60 s blocks, per condition (the same audio for every engine)."""
    return {c: list(ev.with_noise(ev.concatenated(negatives), snr, music, np.random.default_rng(seed)))
            for c, snr in CONDITIONS.items()}


def pymicro_false_accepts(model: str, streams: dict[str, list[np.ndarray]]) -> dict:
    """pymicro-wakeword's `model` on the same negative streams: FA/h at its cutoff (benchmarks/peers/pymicro_probs.py)."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for c, blocks in streams.items():
            wav, npz = Path(tmp) / f"{c}.wav", Path(tmp) / f"{c}.npz"
            write_stream(wav, blocks)
            subprocess.run([str(venvs.pymicro()), str(Path(__file__).parent / "peers" / "pymicro_probs.py"), str(wav),
                            str(npz), model], check=True, capture_output=True)
            d = np.load(npz)
            trace = ev.Trace(d["probs"].astype(np.float32), d["times"], float(d["step_s"]), float(d["audio_s"]))
            base = DetectorConfig(threshold=float(d["cutoff"]), **PEER_DETECTOR)
            fa = ev.lockout_count(ev.event_times(trace, base))
            out[f"fa_{c}"] = {"false_accepts": fa, "fa_per_hour": round(fa / (trace.seconds / 3600), 3),
                              "cutoff": float(d["cutoff"])}
    return out


def speaker_tag(speaker: str) -> str:
    """A speaker as results files name them: corpus and a hash, not the person's name (WUW ids are names)."""
    corpus, _, name = speaker.partition(":")
    return f"{corpus}:{hashlib.sha1(name.encode()).hexdigest()[:10]}"


def who_is_missed(clips: list[rs.Utterance], hit: list[bool], data_dir: str) -> dict:
    """Misses per WUW speaker field (gender, dialect, phone type) and per speaker: which real speakers the synthetic
    voices do not cover (issue 18 asks this of the tuning speakers before choosing voices)."""
    wuw = json.loads((Path(data_dir) / "wuw-corpus-ii" / "data.json").read_text())["entries"]
    meta = {"wuw-corpus-ii/" + e["filePath"]: e for e in wuw}
    groups: dict[str, list[int]] = {}
    speakers: dict[str, list[int]] = {}
    for u, h in zip(clips, hit):
        e = meta.get(u.path)
        keys = [f"{f}={e.get(f, '?')}" for f in WUW_FIELDS] if e else []
        for key in keys:
            groups.setdefault(key, [0, 0])
        for counts in [groups[k] for k in keys] + [speakers.setdefault(u.speaker, [0, 0])]:
            counts[0] += 1
            counts[1] += not h
    return {"frr_by": {k: {"clips": n, "frr": round(miss / n, 4)} for k, (n, miss) in sorted(groups.items())},
            "speakers": len(speakers), "speakers_always_missed": sum(miss == n for n, miss in speakers.values()),
            "speakers_sometimes_missed": sum(0 < miss < n for n, miss in speakers.values()),
            "per_speaker": {speaker_tag(s): {"clips": n, "missed": miss} for s, (n, miss) in sorted(speakers.items())}}


def score_model(card: ModelCard, utts: list[rs.Utterance], music: list[np.ndarray], seed: int,
                peer: str | None = None, data_dir: str = "../shared/data",
                speakers_of_phrase: list[rs.Utterance] | None = None, rule: dict | None = None,
                probs: Callable[[list[np.ndarray]], np.ndarray] | None = None) -> dict:
    """False accepts on `utts` without the phrase; recall on the clips of the phrase in `speakers_of_phrase`
    (default: `utts`); at the card's detector settings, or at `rule` (another card's) where given. `probs` scores
    another model in the card's place: per-step probabilities of a stream's blocks, at the card's step times."""
    if probs is None:
        engine = Engine([card])
        probs = lambda blocks: ev.probabilities(engine, blocks)[card.name]  # noqa: E731
    words = rs.transcript_words(card.phrase)
    negatives = rs.negatives(utts, words)
    base = DetectorConfig.from_card(rule or card.detector)
    streams = negative_streams(negatives, music, seed)
    negs = {c: probs(blocks) for c, blocks in streams.items()}
    hours = len(negs["clean"]) * card.geometry.step_seconds / 3600
    out: dict = {"negatives": f"{len(negatives)} utterances ({hours:.2f} h) without the phrase by "
                              f"{len({u.speaker for u in utts})} speakers",
                 "card_detector": asdict(base)}
    for c, p in negs.items():
        fa = ev.lockout_count(ev.event_times(p, base, card.geometry))
        out[f"card_fa_{c}"] = {"false_accepts": fa, "fa_per_hour": round(fa / hours, 3)}
    if peer == "pymicro" and card.name in PYMICRO_MODELS:
        out["pymicro_wakeword"] = pymicro_false_accepts(card.name, streams)
    del streams

    said = [u for u in (utts if speakers_of_phrase is None else speakers_of_phrase) if u.keyword in words and u.span]
    positives, clips_of = {}, {}
    for kind, isolated in (("isolated", True), ("sentence", False)):
        clips = clips_of[kind] = [u for u in said if u.isolated == isolated]
        if not clips:
            continue
        stream = rs.keyword_stream(clips, np.random.default_rng(seed + 1))
        for c, snr in CONDITIONS.items():
            audio = next(ev.with_noise([stream.audio], snr, music, np.random.default_rng(seed + 2)))
            positives[f"{kind}_{c}"] = (probs([audio]), stream.spans)
        out[f"{kind}_clips"] = len(clips)
    curve = []
    for row, extra in zip(ev.sweep(positives, negs["clean"], base, card.geometry),
                          ev.fa_columns({"10db": negs["10db"]}, base, card.geometry)):
        curve.append({**row, "fa_per_hour_clean": row["fa_per_hour"], **extra})
    out["sweep"] = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if not k.startswith("latency")
                     or k.startswith("latency_p50")} for r in curve]
    if positives:
        for label, (p, spans) in positives.items():
            times = ev.event_times(p, base, card.geometry)
            hits, lat = ev.score_positives(times, spans)
            out[f"card_frr_{label}"] = round(1 - hits / len(spans), 4)
            if label.endswith("_clean"):
                kind = label.removesuffix("_clean")
                out[f"who_is_missed_{kind}"] = who_is_missed(clips_of[kind], [t is not None for t in ev.first_hits(times, spans)],
                                                             data_dir)
        ref = "isolated_clean" if "isolated_clean" in positives else next(iter(positives))
        points = ev.operating_points(curve, TARGETS, ref, ("fa_per_hour_clean", "fa_per_hour_10db"))
        out["operating_points"] = {f"{t} FA/h": {k: round(v, 4) if isinstance(v, float) else v
                                                 for k, v in points[t].items() if k.startswith(("threshold", "frr", "fa_"))}
                                   if t in points else None for t in (f"{x:g}" for x in TARGETS)}
    return out


def channel_check(card: ModelCard, recipe_path: str, cache: str, seed: int) -> dict:
    """Recall of the recipe's synthetic held-out clips at the card's settings, full band and through the telephone."""
    from wakeword.train.data.clips import ClipSet
    from wakeword.train.dataset import clip_stages
    from wakeword.train.recipe import Recipe

    stage, _ = clip_stages(Recipe.load(recipe_path), cache)["eval_positives"]
    if not stage.done:
        return {"skipped": f"the recipe's held-out clips are not in {cache} (run the pipeline first)"}
    clips = ClipSet.load(stage.dir / "clips.npz").clips
    engine = Engine([card])
    base, out = DetectorConfig.from_card(card.detector), {"clips": len(clips)}
    for label, chan in (("full_band", lambda c: c), ("telephone", lambda c: rs.telephone(c, np.random.default_rng(seed)))):
        st = ev.positive_stream([chan(c) for c in clips], None, [], np.random.default_rng(seed))
        probs = ev.probabilities(engine, [st.audio])[card.name]
        out[f"frr_{label}"] = round(ev.missed_share(probs, base, card.geometry, st.spans), 4)
    return out


def card_summary(res: dict, part: str) -> dict:
    """What a card states about real speech: FA/h at its settings and, for proxies, real-speaker FRR."""
    out = {"data": f"{part} half of ../shared/data (WUW Corpus II + Speech Commands test; speakers never trained on): "
                   f"{res['negatives']}; clean and at 10 dB over held-out music/noise",
           "command": f"benchmarks/real_speech.py --part {part} --write-cards",
           **{f"fa_per_hour_{c}": res[f"card_fa_{c}"]["fa_per_hour"] for c in CONDITIONS}}
    out.update({k.removeprefix("card_"): v for k, v in res.items() if k.startswith("card_frr_")})
    if res.get("operating_points"):
        out["operating_points"] = res["operating_points"]
    return out


def write_card_figures(path: str, summary: dict) -> None:
    """Put the real-speech figures into the card (accuracy.real_speech), keeping its header line."""
    import yaml

    text = Path(path).read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    card = yaml.safe_load(text)
    if not isinstance(card.get("accuracy"), dict):
        return  # a variant card that points at the shipped model's figures
    card["accuracy"]["real_speech"] = summary
    Path(path).write_text(header + yaml.safe_dump(card, sort_keys=False, width=110))


def default_models() -> list[str]:
    found = sorted(bundled_dir().glob("*.yaml")) + sorted((bundled_dir() / "proxies").glob("*.yaml"))
    return [str(p) for p in found]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", help="model card (repeatable; default: bundled + models/proxies)")
    ap.add_argument("--recipe", action="append", default=[], help="NAME=RECIPE.yaml for the channel check")
    ap.add_argument("--data", default="../shared/data", help="the real-speech folder (default: ../shared/data)")
    ap.add_argument("--part", default="test", choices=(*rs.PARTS, "dev"),
                    help="dev: false accepts on `tuning`, recall on `training` + `tuning` (see above)")
    ap.add_argument("--detector-from", metavar="CARD", help="score every model at this card's detector settings "
                    "(threshold, smoothing, patience...): draws of a recipe compared under one operating rule")
    ap.add_argument("--cache", default=".cache/train")
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--peer", choices=["pymicro"], help="also score pymicro-wakeword's model of the same name")
    ap.add_argument("--write-cards", action="store_true", help="write the figures into each card (accuracy.real_speech)")
    ap.add_argument("--out", default=None, help="results JSON (default: benchmarks/results/real_speech_<part>.json)")
    a = ap.parse_args(argv)
    t0 = time.time()
    paths = a.model or default_models()
    try:  # before the data: a wrong path is a one-line error at once
        cards = [ModelCard.load(p) for p in paths]
        rule = ModelCard.load(a.detector_from).detector if a.detector_from else None
    except (OSError, ValueError, WakewordError) as e:
        raise SystemExit(f"real_speech: {e}") from None
    utts = rs.load(a.data, "tuning" if a.part == "dev" else a.part)
    said = utts + rs.load(a.data, "training") if a.part == "dev" else None
    _, music = backgrounds.split(backgrounds.music_tracks(Path(a.cache) / "downloads"), eval_fraction=0.3)
    recipes = dict(r.split("=", 1) for r in a.recipe)
    results = {"part": a.part, "data": a.data, "utterances": len(utts), "speakers": len({u.speaker for u in utts}),
               "models": {}}
    for path, card in zip(paths, cards):
        print(f"[{card.name}] scoring on {a.part} real speech ...", file=sys.stderr)
        res = score_model(card, utts, music, a.seed, a.peer, a.data, said, rule)
        if card.name in recipes:
            res["channel_check"] = channel_check(card, recipes[card.name], a.cache, a.seed)
        results["models"][card.name] = res
        if a.write_cards:
            write_card_figures(path, card_summary(res, a.part))
        print(json.dumps({k: v for k, v in res.items() if k != "sweep"}), file=sys.stderr)
    results["seconds"] = round(time.time() - t0, 1)
    out = Path(a.out or f"benchmarks/results/real_speech_{a.part}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
