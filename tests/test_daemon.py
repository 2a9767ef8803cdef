"""`wakeword run` as a service: stdout + MQTT + Hermes delivery, systemd notifications, signals, config."""
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np

from wakeword.testing import mosquitto
from test_mqtt import observer

CMD = [sys.executable, "-m", "wakeword", "run"]


def pcm(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def feed(proc, audio: np.ndarray, realtime: float = 4.0) -> None:
    """Write raw PCM to the daemon's stdin at `realtime` times real time (a live-ish stream)."""
    step = 1600
    for i in range(0, len(audio), step):
        proc.stdin.write(pcm(audio[i:i + step]))
        proc.stdin.flush()
        time.sleep(step / 16000 / realtime)


def test_file_input_events_on_stdout_plain_and_hermes_topics(phrase):
    path, end, _ = phrase
    with mosquitto() as broker, observer(broker.port, ["wakeword/+/detected", "hermes/hotword/+/detected"]) as obs:
        r = subprocess.run(CMD + ["--input", str(path), "--model", "hey_ssafy", "--mqtt-host", "127.0.0.1",
                                  "--mqtt-port", str(broker.port), "--site-id", "kitchen", "--hermes"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        out = [json.loads(line) for line in r.stdout.splitlines()]
        assert len(out) == 1 and out[0]["wake_word"] == "hey_ssafy"
        got = {}
        for _ in range(2):
            topic, payload, _ = obs.get(timeout=5)
            got[topic] = json.loads(payload)
        obs.expect_nothing(0.5)
    plain = got["wakeword/kitchen/detected"]
    assert plain["site_id"] == "kitchen" and plain["sequence"] == out[0]["sequence"] and end <= plain["time"] <= end + 0.6
    hermes = got["hermes/hotword/hey_ssafy/detected"]
    assert hermes["siteId"] == "kitchen" and hermes["modelId"] == "hey_ssafy" and hermes["modelType"] == "universal"


def test_notify_ready_watchdog_stopping_and_sigterm(tmp_path, phrase):
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(0.2)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="1000000")
    proc = subprocess.Popen(CMD + ["--input", "-", "--model", "hey_ssafy"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    messages = []
    try:
        deadline = time.time() + 60
        silence = np.zeros(1600, np.float32)
        while time.time() < deadline and not {"READY=1", "WATCHDOG=1"} <= set(messages):
            proc.stdin.write(pcm(silence))
            proc.stdin.flush()
            try:
                messages += sock.recv(1024).decode().splitlines()
            except socket.timeout:
                pass
        assert "READY=1" in messages and "WATCHDOG=1" in messages
        feed(proc, phrase[2])
        t0 = time.time()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.time() - t0 < 2.0
        while True:
            try:
                messages += sock.recv(1024).decode().splitlines()
            except socket.timeout:
                break
        assert "STOPPING=1" in messages
        out = proc.stdout.read().decode().splitlines()
        assert len(out) == 1 and json.loads(out[0])["wake_word"] == "hey_ssafy"  # flushed before exit
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()


def test_hermes_toggle_off_pauses_detection_until_toggle_on(phrase):
    audio = phrase[2]
    with mosquitto() as broker, observer(broker.port, ["wakeword/+/detected", "wakeword/+/available"]) as obs:
        proc = subprocess.Popen(CMD + ["--input", "-", "--model", "hey_ssafy", "--mqtt-host", "127.0.0.1", "--mqtt-port",
                                       str(broker.port), "--hermes", "--site-id", "den"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            topic, payload, _ = obs.get(timeout=30)
            assert (topic, payload) == ("wakeword/den/available", "online")
            time.sleep(0.5)  # the daemon subscribes to the toggles right after connecting
            obs.publish("hermes/hotword/toggleOff", {"siteId": "den", "reason": "dialogueSession"})
            time.sleep(0.5)
            feed(proc, audio)
            obs.expect_nothing(1.0)
            obs.publish("hermes/hotword/toggleOn", {"siteId": "den", "reason": ""})
            time.sleep(0.5)
            feed(proc, audio)
            topic, payload, _ = obs.get(timeout=10)
            assert topic == "wakeword/den/detected" and json.loads(payload)["wake_word"] == "hey_ssafy"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
            assert len(proc.stdout.read().decode().splitlines()) == 1
        finally:
            if proc.poll() is None:
                proc.kill()


def test_config_file_and_flag_override(tmp_path, phrase):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"audio:\n  input: {phrase[0]}\nmodels: [hey_ssafy]\ndetector:\n  threshold: 0.999\n")
    r = subprocess.run(CMD + ["--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == ""  # threshold 0.999 from the file: nothing
    r = subprocess.run(CMD + ["--config", str(cfg), "--threshold", "0.5"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1  # the flag overrides the file


def test_invalid_config_is_one_line_with_key_and_line(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("audio:\n  input: x.wav\nmqtt:\n  host: localhost\n  port: abc\n")
    r = subprocess.run(CMD + ["--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "line 5" in r.stderr and "mqtt.port" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_detection_audio_is_captured(tmp_path, phrase):
    path, end, audio = phrase
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"audio:\n  input: {path}\nmodels: [hey_ssafy]\ncapture:\n  dir: {tmp_path / 'clips'}\n"
                   "  before_s: 1.5\n  after_s: 0.5\n")
    r = subprocess.run(CMD + ["--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    event = json.loads(r.stdout)
    files = list((tmp_path / "clips").glob("*.wav"))
    assert len(files) == 1 and "hey_ssafy" in files[0].name
    from wakeword.audio.wav import read_wav

    clip = read_wav(files[0]).samples
    assert abs(len(clip) / 16000 - 2.0) < 0.05
    start = int((event["time"] - 1.5) * 16000)
    assert np.abs(clip - audio[start:start + len(clip)]).max() < 1e-3  # the very audio around the phrase


def test_sighup_reloads_the_config_without_dropping_audio(tmp_path, phrase):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("models: [alexa]\n")
    proc = subprocess.Popen(CMD + ["--config", str(cfg), "--input", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        feed(proc, phrase[2])
        cfg.write_text("models: [hey_ssafy]\n")
        time.sleep(1.0)
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        offset = len(phrase[2]) / 16000
        feed(proc, phrase[2])
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        out = [json.loads(line) for line in proc.stdout.read().decode().splitlines()]
        assert len(out) == 1 and out[0]["wake_word"] == "hey_ssafy"  # only after the reload swapped the model in
        assert offset + phrase[1] <= out[0]["time"] <= offset + phrase[1] + 0.6  # stream time continues across the reload
        assert b"configuration reloaded" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_main_thread_sleeps_while_listening_and_still_stops_at_once():
    """Without a watchdog the main loop wakes only for signals, audio starting/ending and the overflow report."""
    proc = subprocess.Popen(CMD + ["--input", "-", "--model", "hey_ssafy"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(pcm(np.zeros(16000, np.float32)))
        proc.stdin.flush()
        for _ in range(20):  # start-up lines, then "receiving audio"
            line = proc.stderr.readline()
            if not line or b"receiving audio" in line:
                break
        assert b"receiving audio" in line
        main = f"/proc/{proc.pid}/task/{proc.pid}/status"

        def switches() -> int:
            return int(open(main).read().split("voluntary_ctxt_switches:")[1].split()[0])

        time.sleep(0.5)
        before = switches()
        time.sleep(3.0)
        assert switches() - before <= 1  # was 6 (a 0.5 s poll)
        t0 = time.time()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0 and time.time() - t0 < 1.0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_failed_reload_keeps_the_running_engine_and_sinks(tmp_path, phrase):
    """A reload that cannot be applied whole changes nothing: an unreadable password file (it once left MQTT
    silently dead), or a new audio setting with a missing model (it once stopped everything and exited 0)."""
    cfg = tmp_path / "config.yaml"
    with mosquitto() as broker, observer(broker.port, ["wakeword/+/detected"]) as obs:
        good = f"models: [hey_ssafy]\nmqtt: {{host: 127.0.0.1, port: {broker.port}, site_id: porch}}\n"
        cfg.write_text(good)
        proc = subprocess.Popen(CMD + ["--config", str(cfg), "--input", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            err_lines: queue.Queue = queue.Queue()  # a thread reads stderr: lines that arrive together stay apart
            threading.Thread(target=lambda: [err_lines.put(line) for line in proc.stderr], daemon=True).start()
            while b"listening for" not in err_lines.get(timeout=60):  # the good config is the running one
                pass
            bad = [good.replace("site_id: porch", f"site_id: porch, username: u, password_file: {tmp_path}/nope"),
                   "audio: {input: '-', block_ms: 50}\nmodels: [nope]\n" + good.split("\n", 1)[1]]
            for text in bad:
                cfg.write_text(text)
                proc.send_signal(signal.SIGHUP)
                while b"config reload failed" not in (line := err_lines.get(timeout=20)):
                    assert b"Traceback" not in line and b"configuration reloaded" not in line, line
                assert b"keeping the running config" in line
            feed(proc, phrase[2])
            topic, payload, _ = obs.get(timeout=10)  # the running MQTT sink still delivers
            assert topic == "wakeword/porch/detected" and json.loads(payload)["wake_word"] == "hey_ssafy"
            proc.stdin.close()
            assert proc.wait(timeout=30) == 0
            out = proc.stdout.read().decode().splitlines()
            assert len(out) == 1 and json.loads(out[0])["wake_word"] == "hey_ssafy"
            rest = b"".join(err_lines.queue)
            assert b"Traceback" not in rest and b"configuration reloaded" not in rest and b"reload failed" not in rest
        finally:
            if proc.poll() is None:
                proc.kill()


def test_a_closed_stdout_costs_only_stdout_events(tmp_path, phrase):
    """`wakeword run ... | head -1`: the reader goes away after one event; every event still reaches MQTT, stdout's
    loss is one log line, and the exit is clean (it once lost every later MQTT event, a traceback each)."""
    from wakeword.testing import write

    gap = np.zeros(3 * 16000, np.float32)
    audio = np.concatenate([phrase[2], gap] * 4)
    wav = write(tmp_path / "four.wav", audio)
    with mosquitto() as broker, observer(broker.port, ["wakeword/+/detected"]) as obs:
        proc = subprocess.Popen(CMD + ["--input", str(wav), "--model", "hey_ssafy", "--mqtt-host", "127.0.0.1",
                                       "--mqtt-port", str(broker.port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader exits
        assert json.loads(first)["wake_word"] == "hey_ssafy"
        seqs = [json.loads(obs.get(timeout=15)[1])["sequence"] for _ in range(4)]
        assert proc.wait(timeout=30) == 0
        err = proc.stderr.read().decode()
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    assert "stdout failed" in err and "Traceback" not in err and "Exception ignored" not in err, err


def test_sighup_and_sigint_while_starting_are_harmless(phrase):
    """A SIGHUP while numpy and the interpreter load (the first ~0.35 s) once killed the daemon, a Ctrl-C printed a
    traceback. (Before Python itself is up, ~0.05 s, nothing can catch them; systemd reloads only after READY=1.)"""
    proc = subprocess.Popen(CMD + ["--input", "-", "--model", "hey_ssafy"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(0.3)
    proc.send_signal(signal.SIGHUP)
    feed(proc, phrase[2])
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert len(proc.stdout.read().splitlines()) == 1
    proc = subprocess.Popen(CMD + ["--input", "-"], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) in (0, 130)
    assert b"Traceback" not in proc.stderr.read()
