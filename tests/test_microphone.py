"""Live capture end to end: real PortAudio reading a PulseAudio virtual microphone, a real mosquitto."""
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from wakeword.testing import mosquitto, virtual_microphone
from test_mqtt import observer

from wakeword import threads


def read_until(stream, predicate, timeout):
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


@contextmanager
def running_daemon(env, *extra):
    """`wakeword run` on the virtual microphone, once it receives audio; killed on the way out if still running."""
    proc = subprocess.Popen([sys.executable, "-m", "wakeword", "run", "--model", "hey_ssafy", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        err = read_until(proc.stderr, lambda line: "receiving audio" in line, 60)
        assert any("receiving audio" in line for line in err), err
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()


def test_run_hears_the_phrase_on_a_virtual_microphone(phrase, negative):
    with virtual_microphone() as mic, running_daemon(mic.env) as proc:
        mic.play(str(negative[0]))
        mic.play(str(phrase[0]))
        out = read_until(proc.stdout, lambda line: True, 10)
        assert len(out) == 1, out
        assert json.loads(out[0])["wake_word"] == "hey_ssafy"
        assert read_until(proc.stdout, lambda line: True, 2.5) == []  # exactly one
        t0 = time.time()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.time() - t0 < 2.0


def test_vanished_microphone_is_reopened_and_availability_follows(phrase):
    with virtual_microphone() as mic, mosquitto() as broker, \
            observer(broker.port, ["wakeword/+/available", "wakeword/+/detected"]) as obs:
        with running_daemon(mic.env, "--mqtt-host", "127.0.0.1", "--mqtt-port", str(broker.port), "--site-id", "hall") as proc:
            assert obs.get(timeout=10)[:2] == ("wakeword/hall/available", "online")
            mic.stop()  # the microphone (its audio server) disappears
            assert obs.get(timeout=15)[:2] == ("wakeword/hall/available", "offline")
            mic.start()
            assert obs.get(timeout=30)[:2] == ("wakeword/hall/available", "online")
            time.sleep(0.5)
            mic.play(str(phrase[0]))
            topic, payload, _ = obs.get(timeout=10)
            assert topic == "wakeword/hall/detected" and json.loads(payload)["wake_word"] == "hey_ssafy"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0


def wait_until(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def test_a_source_removed_under_pulseaudio_is_lost_and_found_again(phrase):
    """PulseAudio moves the stream of a removed source to its fallback (here a null source) with no error, so the
    stream goes on delivering: exact zeros, which no real microphone delivers (the rig's has a noise floor). After
    audio.silence_s (5 s) of them availability goes offline, with one log line; the daemon keeps reopening, and once
    the source is back its new stream records from it: online again, and the phrase is heard."""
    with virtual_microphone() as mic, mosquitto() as broker, \
            observer(broker.port, ["wakeword/+/available", "wakeword/+/detected"]) as obs:
        with running_daemon(mic.env, "--mqtt-host", "127.0.0.1", "--mqtt-port", str(broker.port), "--site-id", "desk") as proc:
            assert obs.get(timeout=10)[:2] == ("wakeword/desk/available", "online")
            assert mic.recording_from() == ["virt_mic"]
            t0 = time.monotonic()
            mic.unplug()
            wait_until("the stream on the fallback source", lambda: mic.recording_from() == ["virt_silent"], 5)
            assert obs.get(timeout=15)[:2] == ("wakeword/desk/available", "offline")
            assert 4.5 < time.monotonic() - t0 < 8.0  # silence_s, plus at most one quiet-room read (idle_ms)
            obs.expect_nothing(6.0)  # reopened onto the same silence: still offline, no flapping
            mic.plug()
            assert obs.get(timeout=20)[:2] == ("wakeword/desk/available", "online")
            assert mic.recording_from() == ["virt_mic"]
            mic.play(str(phrase[0]))
            topic, payload, _ = obs.get(timeout=10)
            assert topic == "wakeword/desk/detected" and json.loads(payload)["wake_word"] == "hey_ssafy"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
            err = proc.stderr.read()
    lost = [line for line in err.splitlines() if " lost (" in line]
    assert len(lost) == 1 and "only digital silence (exact zeros)" in lost[0], err
    assert err.count("delivers audio again") == 1 and "Traceback" not in err, err


def test_no_microphone_says_how_to_run_on_a_file(tmp_path):
    env = dict(os.environ, PULSE_SERVER=f"unix:{tmp_path}/nothing-here")
    r = subprocess.run([sys.executable, "-m", "wakeword", "run"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "no microphone found" in r.stderr and "wakeword detect" in r.stderr


def test_live_phrases_reach_stdout_plain_and_hermes_topics_across_a_broker_outage(phrase):
    topics = ["wakeword/+/detected", "hermes/hotword/+/detected"]
    with virtual_microphone() as mic, mosquitto(persistence=True) as broker:
        with running_daemon(mic.env, "--mqtt-host", "127.0.0.1", "--mqtt-port", str(broker.port), "--site-id", "porch",
                            "--hermes") as proc:
            with observer(broker.port, topics, client_id="obs-porch", clean=False) as obs:
                time.sleep(0.5)
                mic.play(str(phrase[0]))
                got = {obs.get(timeout=10)[0] for _ in range(2)}
                assert got == {"wakeword/porch/detected", "hermes/hotword/hey_ssafy/detected"}
                assert len(read_until(proc.stdout, lambda line: True, 5)) == 1
            broker.stop()  # the consumer goes away; the event must not be lost
            mic.play(str(phrase[0]))
            assert len(read_until(proc.stdout, lambda line: True, 5)) == 1  # stdout still gets it at once
            broker.start()
            with observer(broker.port, topics, client_id="obs-porch", clean=False) as obs:
                got = {obs.get(timeout=30)[0] for _ in range(2)}
                assert got == {"wakeword/porch/detected", "hermes/hotword/hey_ssafy/detected"}
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0


def use_in_process(mic, monkeypatch) -> None:
    """Point this process's PortAudio at the virtual microphone. PortAudio lists devices when it is initialized,
    and any module that imported sounddevice before initialized it on the default server."""
    import sounddevice as sd

    for key in ("PULSE_SERVER", "HOME", "XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH"):
        monkeypatch.setenv(key, mic.env[key])
    sd._terminate()
    sd._initialize()


def test_block_size_sets_how_much_audio_each_wake_up_brings(monkeypatch):
    """audio.block_ms reaches PortAudio: blocks of that many milliseconds arrive on the processing thread."""
    from wakeword.audio.microphone import Microphone

    with virtual_microphone() as mic:
        use_in_process(mic, monkeypatch)
        for block_s in (0.05, 0.1):
            m = Microphone(block_s=block_s, idle_s=0)
            sizes, own_name = [], threads.os_name()
            for chunk in m:
                sizes.append(len(chunk))
                if len(sizes) == 12:
                    names = {(t / "comm").read_text().strip() for t in Path("/proc/self/task").iterdir()}
                    m.close()
            assert sorted(sizes)[len(sizes) // 2] == int(16000 * block_s), sizes  # the median block
            # PortAudio's callback thread is told apart in top -H and benchmarks/live.py; ours keeps its name
            assert "ww-portaudio" in names and threads.os_name() == own_name != "ww-portaudio"


def test_a_quiet_room_is_read_every_idle_s_and_sound_is_read_at_once(monkeypatch, phrase):
    """audio.idle_ms: in silence the processing thread gets ~idle_s of audio per wake-up; the phrase's noise wakes
    it at once (PortAudio's callback checks each block's level), then every block, and no audio is lost."""
    from wakeword.audio.microphone import Microphone

    with virtual_microphone() as mic:
        use_in_process(mic, monkeypatch)
        m = Microphone(block_s=0.1, idle_s=1.0)
        reads, player, t0 = [], None, time.monotonic()
        for chunk in m:
            t = time.monotonic() - t0
            reads.append((t, len(chunk)))
            if player is None and t > 4.5:  # quiet since the start, and just read: the next timed read is 1 s away
                t_play = time.monotonic() - t0
                player = threading.Thread(target=mic.play, args=(str(phrase[0]),))
                player.start()
            if t > 7.5:
                m.close()
        player.join()
    quiet = [n for t, n in reads if 3.0 < t < t_play]
    assert quiet and min(quiet) >= 8 * 1600, reads  # ~1 s per read in silence
    first = next(t for t, _ in reads if t > t_play)
    assert first - t_play < 0.6, reads  # woken by the sound, not by the timer
    assert all(n <= 2 * 1600 for t, n in reads if t_play + 0.7 < t < t_play + 2.0), reads  # then a read per block
    assert 0.9 < sum(n for _, n in reads) / 16000 / reads[-1][0] < 1.1


def test_ring_buffer_reader_sleeps_until_notified_or_timed_out_and_keeps_order():
    from wakeword.audio.microphone import RingBuffer

    ring = RingBuffer(10, 1)
    assert ring.read(timeout=0) is None
    ring.write(np.arange(4, dtype=np.int16)[:, None])  # written, not notified: the reader waits out its timeout
    t = time.monotonic()
    np.testing.assert_array_equal(ring.read(timeout=0.2)[:, 0], [0, 1, 2, 3])
    assert time.monotonic() - t >= 0.19
    threading.Timer(0.05, lambda: (ring.write(np.arange(4, 12, dtype=np.int16)[:, None]), ring.notify())).start()
    t = time.monotonic()
    got = ring.read(timeout=5)
    assert time.monotonic() - t < 1.0  # woken by notify, not by the timeout
    np.testing.assert_array_equal(got[:, 0], np.arange(4, 12))  # wrapped around the 10-frame ring in order
    ring.write(np.zeros((12, 1), np.int16))
    assert ring.overflows == 2 and len(ring.read(timeout=0)) == 10
