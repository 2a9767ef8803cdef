"""Live capture end to end: real PortAudio reading a PulseAudio virtual microphone."""
import json
import os
import selectors
import signal
import subprocess
import sys
import time

from rig import play, virtual_microphone


def read_until(proc, stream, predicate, timeout):
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    lines, deadline = [], time.time() + timeout
    while time.time() < deadline:
        if sel.select(timeout=0.2):
            line = stream.readline()
            if not line:
                break
            lines.append(line)
            if predicate(line):
                return lines
    return lines


def test_run_hears_the_phrase_on_a_virtual_microphone(phrase, negative):
    path, _, _ = phrase
    with virtual_microphone() as env:
        proc = subprocess.Popen([sys.executable, "-m", "wakeword", "run", "--model", "hey_ssafy"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            err = read_until(proc, proc.stderr, lambda line: "receiving audio" in line, 60)
            assert any("receiving audio" in line for line in err), err
            play(env, str(negative[0]))
            play(env, str(path))
            out = read_until(proc, proc.stdout, lambda line: True, 10)
            assert len(out) == 1, out
            event = json.loads(out[0])
            assert event["wake_word"] == "hey_ssafy"
            assert read_until(proc, proc.stdout, lambda line: True, 2.5) == []  # exactly one
            t0 = time.time()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
            assert time.time() - t0 < 2.0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_no_microphone_says_how_to_run_on_a_file(tmp_path):
    env = dict(os.environ, PULSE_SERVER=f"unix:{tmp_path}/nothing-here")
    r = subprocess.run([sys.executable, "-m", "wakeword", "run"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "no microphone found" in r.stderr and "wakeword detect" in r.stderr
