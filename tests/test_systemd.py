"""The shipped units pass `systemd-analyze verify` and score OK or better on hardening."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"
UNIT = SYSTEMD / "wakeword.service"
WYOMING_UNIT = SYSTEMD / "wakeword-wyoming.service"
UNITS = pytest.mark.parametrize("unit", [UNIT, WYOMING_UNIT], ids=lambda u: u.name)


def local_unit(tmp_path, unit: Path = UNIT) -> Path:
    # verify checks that ExecStart's program exists: point it at this machine's interpreter
    local = tmp_path / unit.name
    local.write_text(unit.read_text().replace("/opt/wakeword/.venv/bin/wakeword", sys.executable))
    return local


@UNITS
def test_unit_verifies(tmp_path, unit):
    assert shutil.which("systemd-analyze"), "systemd-analyze missing: script/setup --dev installs systemd"
    r = subprocess.run(["systemd-analyze", "verify", str(local_unit(tmp_path, unit))], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@UNITS
def test_unit_hardening_scores_ok_or_better(tmp_path, unit):
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(local_unit(tmp_path, unit))],
                       capture_output=True, text=True)
    m = re.search(rf"Overall exposure level for {re.escape(unit.name)}: ([\d.]+) (\w+)", r.stdout)
    assert m, r.stdout[-500:] + r.stderr
    assert m.group(2) in ("OK", "SAFE") and float(m.group(1)) <= 4.9


def test_unit_has_notify_watchdog_restart_audio():
    text = UNIT.read_text()
    for line in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "SupplementaryGroups=audio", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "PrivateTmp=yes", "--config /etc/wakeword/config.yaml"):
        assert line in text


FILTER = Path(__file__).resolve().parent / "unit_filter.py"


def test_the_units_syscall_filter_is_enforced_and_fails_calls_with_eperm():
    """unit_filter.py applies the unit's filter for real: a call the unit denies (@resources) fails with EPERM
    rather than killing the process (the shipped unit once killed the daemon with SIGSYS in `import numpy`)."""
    probe = "import numpy, os\ntry:\n    os.setpriority(os.PRIO_PROCESS, 0, 0)\nexcept PermissionError:\n    print('denied')"
    r = subprocess.run([sys.executable, str(FILTER), str(UNIT), "--", sys.executable, "-c", probe],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "denied", (r.returncode, r.stderr[-500:])


def test_the_daemon_runs_under_its_units_syscall_filter(phrase):
    """`wakeword run` under the shipped unit's seccomp filter: PortAudio capture from the virtual microphone,
    detection, and the event on stdout and on MQTT."""
    from test_microphone import read_until
    from test_mqtt import observer
    from wakeword.testing import mosquitto, virtual_microphone

    with virtual_microphone() as mic, mosquitto() as broker, observer(broker.port, ["wakeword/+/detected"]) as obs:
        proc = subprocess.Popen([sys.executable, str(FILTER), str(UNIT), "--", sys.executable, "-m", "wakeword", "run",
                                 "--model", "hey_ssafy", "--mqtt-host", "127.0.0.1", "--mqtt-port", str(broker.port)],
                                env=mic.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            err = read_until(proc.stderr, lambda line: "receiving audio" in line, 60)
            assert any("receiving audio" in line for line in err), (err, proc.poll())
            mic.play(str(phrase[0]))
            out = read_until(proc.stdout, lambda line: True, 10)
            assert len(out) == 1 and '"hey_ssafy"' in out[0], out
            topic, payload, _ = obs.get(timeout=10)
            assert topic == "wakeword/default/detected" and '"hey_ssafy"' in payload
            proc.terminate()
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_wyoming_unit_has_the_daemons_hardening_and_no_audio():
    """The daemon's hardening lines, less what capture needs (ALSA devices) and its state directory; no audio group."""
    daemon = UNIT.read_text()
    hardening = [line for line in daemon[daemon.index("# Hardening"):daemon.index("[Install]")].splitlines()
                 if "=" in line and not line.startswith(("#", "DeviceAllow=", "StateDirectory=", "ReadWritePaths="))]
    own = WYOMING_UNIT.read_text().splitlines()
    assert len(hardening) > 20
    for line in hardening + ["Type=notify", "WatchdogSec=30", "Restart=on-failure", "DynamicUser=yes", "PrivateDevices=yes",
                             "ExecStart=/opt/wakeword/.venv/bin/wakeword serve --config /etc/wakeword/config.yaml"]:
        assert line in own, line
    assert not [line for line in own if line.startswith(("SupplementaryGroups=", "DeviceAllow="))]
