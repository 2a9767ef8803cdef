"""The shipped unit passes `systemd-analyze verify` and scores OK or better on hardening."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "wakeword.service"


def local_unit(tmp_path) -> Path:
    # verify checks that ExecStart's program exists: point it at this machine's interpreter
    unit = tmp_path / "wakeword.service"
    unit.write_text(UNIT.read_text().replace("/opt/wakeword/.venv/bin/wakeword", sys.executable))
    return unit


def test_unit_verifies(tmp_path):
    assert shutil.which("systemd-analyze"), "systemd-analyze missing: script/setup --dev installs systemd"
    r = subprocess.run(["systemd-analyze", "verify", str(local_unit(tmp_path))], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_unit_hardening_scores_ok_or_better(tmp_path):
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(local_unit(tmp_path))],
                       capture_output=True, text=True)
    m = re.search(r"Overall exposure level for wakeword.service: ([\d.]+) (\w+)", r.stdout)
    assert m, r.stdout[-500:] + r.stderr
    assert m.group(2) in ("OK", "SAFE") and float(m.group(1)) <= 4.9


def test_unit_has_notify_watchdog_restart_audio():
    text = UNIT.read_text()
    for line in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "SupplementaryGroups=audio", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "PrivateTmp=yes", "--config /etc/wakeword/config.yaml"):
        assert line in text
