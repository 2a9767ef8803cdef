"""Cached stages: each writes into `<cache>/<recipe name or shared>/<stage>-<key>/`, where the key hashes what the
stage reads (its part of the recipe, the keys of the stages before it). A finished stage leaves a `done` marker,
so a rerun, or a session that was cut off, only redoes what changed or never finished.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Callable

# Part of every stage key: bumped when the stages make different outputs from the same recipe.
PIPELINE_VERSION = 2


class Stage:
    def __init__(self, root: Path, name: str, key: str) -> None:
        self.name, self.key = name, key
        self.dir = root / f"{name}-{key}"

    @property
    def done(self) -> bool:
        return (self.dir / "done").exists()

    def run(self, fn: Callable[[Path], None]) -> "Stage":
        if self.done:
            print(f"[{self.name}] cached ({self.dir})")
            return self
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        t0 = time.time()
        print(f"[{self.name}] running -> {self.dir}")
        fn(self.dir)
        (self.dir / "done").write_text(f"{time.time() - t0:.1f}\n")
        print(f"[{self.name}] done in {time.time() - t0:.0f} s")
        return self


def _default(f: dataclasses.Field) -> object:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def stage_key(*parts: object) -> str:
    """Stable short hash of the configuration a stage depends on.

    Options added after models were trained carry `key_at_default: False`: at their default (the behaviour from
    before they existed) they are left out of the hash, so adding an option never invalidates a cached stage."""
    def default(o: object) -> object:
        if dataclasses.is_dataclass(o):
            return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)
                    if f.metadata.get("key_at_default", True) or getattr(o, f.name) != _default(f)}
        return str(o)

    blob = json.dumps(parts, sort_keys=True, default=default).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
