"""`wakeword detect` contract: JSON lines on stdout, one-line errors on stderr, exit status."""
import json
import shutil
import subprocess
import sys

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

from conftest import PLUMBING_THRESHOLD
from test_wav import pcm24


def run(*args):
    return subprocess.run([sys.executable, "-m", "wakeword", *args], capture_output=True, text=True, timeout=120)


def events(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def test_detect_prints_one_event_for_the_phrase(phrase):
    path, end, _ = phrase
    r = run("detect", str(path))
    assert r.returncode == 0, r.stderr
    ev = events(r.stdout)
    assert len(ev) == 1
    e = ev[0]
    assert e["wake_word"] == "hey_ssafy" and e["file"] == str(path)
    assert end <= e["time"] <= end + 0.6
    assert set(e) >= {"wake_word", "score", "time", "file", "sequence", "detected_at"}


def test_a_lower_threshold_moves_the_rearm_level_with_it(phrase):
    """The card re-arms at half its threshold (0.45 at 0.90); `--threshold 0.2` alone must run, not refuse the card's
    re-arm level, and still give one event for one phrase."""
    path, end, _ = phrase
    r = run("detect", str(path), "--threshold", "0.2")
    assert r.returncode == 0, r.stderr
    assert len(events(r.stdout)) == 1


def test_nothing_detected_is_success(negative):
    r = run("detect", str(negative[0]))
    assert r.returncode == 0 and r.stdout == ""


def test_formats_rates_and_channels_are_converted(tmp_path, phrase):
    _, end, audio = phrase
    files = {}
    for rate in (8000, 22050, 44100, 48000):
        g = np.gcd(rate, 16000)
        x = resample_poly(audio, rate // g, 16000 // g)
        files[f"r{rate}.wav"] = (rate, (np.clip(x, -1, 1) * 32767).astype(np.int16))
    files["stereo.wav"] = (16000, np.stack([audio, audio], 1).astype(np.float32))
    files["u8.wav"] = (16000, (audio * 127 + 128).astype(np.uint8))
    files["i32.wav"] = (16000, (audio * (2**31 - 1)).astype(np.int32))
    files["f64.wav"] = (16000, audio.astype(np.float64))
    paths = []
    for name, (rate, data) in files.items():
        wavfile.write(tmp_path / name, rate, data)
        paths.append(str(tmp_path / name))
    pcm24(tmp_path / "i24.wav", audio)
    paths.append(str(tmp_path / "i24.wav"))
    r = run("detect", *paths, "--threshold", str(PLUMBING_THRESHOLD))
    assert r.returncode == 0, r.stderr
    by_file = {}
    for e in events(r.stdout):
        by_file.setdefault(e["file"], []).append(e)
    for p in paths:
        assert len(by_file.get(p, [])) == 1, (p, by_file.get(p))
        assert end - 0.05 <= by_file[p][0]["time"] <= end + 0.6


def test_bad_files_fail_with_one_line_each_and_good_files_still_run(tmp_path, phrase):
    bad = {"text.wav": b"hello, not audio at all", "empty.wav": b""}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    good = phrase[0].read_bytes()
    (tmp_path / "cut.wav").write_bytes(good[: len(good) // 2])
    r = run("detect", str(tmp_path / "text.wav"), str(phrase[0]), str(tmp_path / "empty.wav"), str(tmp_path / "cut.wav"),
            str(tmp_path / "missing.wav"))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 4 and all(line.startswith("wakeword: error: ") for line in errors)
    assert "not a WAV file" in errors[0] and "empty file" in errors[1] and "truncated WAV" in errors[2]
    assert "no such file" in errors[3]
    assert len(events(r.stdout)) == 1


def test_usage_errors_exit_nonzero():
    assert run("detect").returncode == 2
    r = run("detect", "x.wav", "--threshold", "7")
    assert r.returncode == 1 and "threshold" in r.stderr and "Traceback" not in r.stderr


def test_train_passes_its_options_to_the_pipeline():
    """`wakeword train -h` is the pipeline's help, not a refusal of `-h` by the top-level parser."""
    r = run("train", "-h")
    assert r.returncode == 0, r.stderr
    assert "usage: wakeword train" in r.stdout and "--stop-after" in r.stdout
    r = run("train", "--quick")
    assert r.returncode == 2 and "recipe" in r.stderr and "Traceback" not in r.stderr


def test_hostile_inputs_get_one_line_errors_fast(tmp_path, phrase):
    """From the reliability review: a FIFO hung, a socket or a truncated EXTENSIBLE header gave tracebacks,
    `--rate 1` took 4.7 GB, a card with `stride: 0` crashed, a card beside another model's weights loaded and then
    detected nothing."""
    import os
    import socket
    import struct

    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.wav"))
    ext = tmp_path / "ext.wav"
    ext.write_bytes(struct.pack("<4sI4s4sI", b"RIFF", 60, b"WAVE", b"fmt ", 40)
                    + struct.pack("<HHIIHH", 0xFFFE, 1, 16000, 32000, 2, 16))  # EXTENSIBLE, cut after 16 bytes
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    from wakeword.model.card import bundled_dir

    shutil.copy(bundled_dir() / "alexa.tflite", swapped / "hey_ssafy.tflite")
    shutil.copy(bundled_dir() / "hey_ssafy.yaml", swapped / "hey_ssafy.yaml")
    stride0 = tmp_path / "stride0"
    stride0.mkdir()
    shutil.copy(bundled_dir() / "hey_ssafy.tflite", stride0 / "hey_ssafy.tflite")
    (stride0 / "hey_ssafy.yaml").write_text((bundled_dir() / "hey_ssafy.yaml").read_text().replace("stride: 4", "stride: 0"))
    cases = [(["detect", str(fifo)], "not a regular file"), (["detect", str(tmp_path / "sock.wav")], "not a regular file"),
             (["detect", str(ext)], "truncated WAV"),
             (["detect", str(phrase[0]), "-m", str(swapped / "hey_ssafy.tflite")], "does not behave as its card recorded"),
             (["detect", str(phrase[0]), "-m", str(stride0 / "hey_ssafy.tflite")], "step.stride 0"),
             (["run", "--input", "-", "--rate", "1"], "--rate 1 Hz is not supported")]
    for args, message in cases:
        r = subprocess.run([sys.executable, "-m", "wakeword", *args], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 1 and message in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, (args, r.stderr)
    sock.close()


def test_an_odd_rate_is_resampled_with_a_bounded_filter(tmp_path, phrase):
    """383987 Hz is prime to 16 kHz: the exact polyphase filter would be 860 MB; the approximated ratio is tiny."""
    from wakeword.audio.resample import StreamingResampler

    r = StreamingResampler(383987)
    assert (r.up, r.down) == (1, 24) and len(r.h) < 1000
    assert len(StreamingResampler(4001).h) < 100_000
    assert (StreamingResampler(44100).up, StreamingResampler(44100).down) == (160, 441)  # common rates stay exact
    t = np.arange(int(len(phrase[2]) / 16000 * 383987)) / 383987
    audio = np.interp(t, np.arange(len(phrase[2])) / 16000, phrase[2])  # the phrase, at 383987 Hz
    wavfile.write(tmp_path / "odd.wav", 383987, (audio * 32767).astype(np.int16))
    out = run("detect", str(tmp_path / "odd.wav"))
    assert out.returncode == 0 and len(events(out.stdout)) == 1, out.stderr


def test_more_hostile_inputs_one_line_each(tmp_path, phrase):
    """A billion-laughs card hung `info --json`; a newline in a file name split the error; a model given twice
    raised every event twice; `--mqtt-port 0` and `--site-id ''` fell back to defaults; a channel the input does
    not have was an IndexError; a float WAV with inf printed numpy warnings."""
    from wakeword.model.card import bundled_dir

    shutil.copy(bundled_dir() / "alexa.tflite", tmp_path / "bomb.tflite")
    aliases = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    aliases += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10^9 values expanded
    (tmp_path / "bomb.yaml").write_text("\n".join(aliases) + "\nname: x\nphrase: x\n")
    stereo = tmp_path / "stereo.wav"
    wavfile.write(stereo, 16000, np.stack([phrase[2], phrase[2]], axis=1))
    inf = tmp_path / "inf.wav"
    wavfile.write(inf, 16000, np.where(np.arange(len(phrase[2])) % 1000 == 0, np.inf, phrase[2]).astype(np.float32))
    cases = [(["info", "--json", str(tmp_path / "bomb.yaml")], "YAML aliases are expanded"),
             (["detect", str(tmp_path / "new\nline.wav")], "no such file"),
             (["detect", str(phrase[0]), "-m", "hey_ssafy", "-m", "hey_ssafy"], "given twice"),
             (["run", "--input", str(phrase[0]), "--mqtt-port", "0"], "mqtt.port"),
             (["run", "--input", str(phrase[0]), "--site-id", ""], "mqtt.site_id")]
    for args, message in cases:
        r = subprocess.run([sys.executable, "-m", "wakeword", *args], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and message in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, (args, r.stderr)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("audio: {channel: 3}\n")
    r = subprocess.run([sys.executable, "-m", "wakeword", "run", "-c", str(cfg), "--input", str(stereo)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "audio.channel 3 does not exist: the input has 2 channel(s)" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    r = run("detect", str(inf))
    assert r.returncode == 0 and len(events(r.stdout)) == 1 and "Warning" not in r.stderr, r.stderr


def test_run_on_a_file_exits_when_the_file_ends(phrase):
    """It once lingered a watchdog period (5 s) in 17 of 20 runs after the last chunk."""
    import time

    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "wakeword", "run", "--input", str(phrase[0]), "--model", "hey_ssafy"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and len(events(r.stdout)) == 1, r.stderr
    assert time.monotonic() - t0 < 4.5
