"""`wakeword eval`: recall per SNR, false accepts per hour, DET curve and latency on directories of clips."""
import json
import subprocess
import sys

from wakeword.testing import tts, write


def test_eval_on_directories_of_clips(tmp_path):
    pos, neg = tmp_path / "pos", tmp_path / "neg"
    pos.mkdir()
    neg.mkdir()
    for i, voice in enumerate(["kal16", "slt", "rms", "kal"]):
        write(pos / f"p{i}.wav", tts("Hey, Saffy.", voice) * 0.5)
    # one clip as FLAC: evaluation sets often come compressed
    subprocess.run(["sox", str(pos / "p3.wav"), str(pos / "p3.flac")], check=True)
    (pos / "p3.wav").unlink()
    for i, text in enumerate(["The weather is nice today.", "Please pass the salt and pepper.", "Happy birthday to you."]):
        write(neg / f"n{i}.wav", tts(text, "slt") * 0.5)
    out = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "wakeword", "eval", "--model", "hey_ssafy", "--positives", str(pos),
                        "--negatives", str(neg), "--snr", "10", "--snr", "20", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["positives"] == 4 and summary["negative_hours"] > 0
    assert 0 <= summary["recall_10db"] <= 1 and 0 <= summary["recall_20db"] <= 1
    assert summary["false_accepts"] == 0
    report = json.loads((out / "eval.json").read_text())
    at_09 = next(row for row in report["curve"] if row["threshold"] == 0.9)
    assert at_09["frr_20db"] <= 0.5 and at_09["false_accepts"] == 0
    assert len(report["curve"]) > 10 and (out / "det.png").stat().st_size > 1000
    recalls = [1 - row["frr_20db"] for row in report["curve"]]
    assert recalls == sorted(recalls, reverse=True)  # recall can only fall as the threshold rises


def test_eval_refuses_an_empty_directory(tmp_path):
    r = subprocess.run([sys.executable, "-m", "wakeword", "eval", "--model", "hey_ssafy", "--positives", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "no .wav or .flac files" in r.stderr and "Traceback" not in r.stderr


def test_eval_names_an_undecodable_file(tmp_path):
    (tmp_path / "broken.flac").write_bytes(b"fLaC but not really")
    r = subprocess.run([sys.executable, "-m", "wakeword", "eval", "--model", "hey_ssafy", "--positives", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "broken.flac: cannot decode" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_operating_points_keep_within_the_target_on_every_named_negative_set():
    from wakeword.evaluation import operating_points

    curve = [{"threshold": t, "fa_per_hour": fa, "fa_per_hour_real_clean": real, "frr_10db": frr}
             for t, fa, real, frr in [(0.5, 0.4, 3.0, 0.05), (0.7, 0.3, 0.4, 0.10), (0.9, 0.0, 0.0, 0.30)]]
    assert operating_points(curve, [0.5], "10db")["0.5"]["threshold"] == 0.5  # synthetic negatives alone
    both = operating_points(curve, [0.5, 0.1], "10db", ("fa_per_hour", "fa_per_hour_real_clean"))
    assert both["0.5"]["threshold"] == 0.7 and both["0.1"]["threshold"] == 0.9


def test_decoding_a_compressed_file_gives_the_same_samples_every_time(tmp_path):
    """Music and evaluation sets are decoded anew by each run: without -D, sox dithers at random when it
    resamples, so the same command gave other noise streams and other 10 dB figures."""
    import numpy as np
    from scipy.signal import resample_poly

    from wakeword.audio.decode import decode

    wav = write(tmp_path / "a.wav", resample_poly(tts("the same noise every time"), 22050, 16000).astype(np.float32), 22050)
    subprocess.run(["sox", str(wav), str(tmp_path / "a.flac")], check=True)
    first, second = decode(str(tmp_path / "a.flac")), decode(str(tmp_path / "a.flac"))
    assert len(first) > 8000 and np.array_equal(first, second)


def test_missed_share_counts_the_clips_that_raise_no_event():
    import numpy as np

    from wakeword.detector import DetectorConfig
    from wakeword.evaluation import missed_share
    from wakeword.model.geometry import StepGeometry

    geometry = StepGeometry()
    probs = np.zeros(2000, np.float32)
    ends = geometry.step_end_times(len(probs))
    probs[(ends > 2.0) & (ends < 2.2)] = 0.99  # one score peak, inside the first clip's span
    cfg = DetectorConfig(threshold=0.5, smoothing=1, patience=1)
    spans = [(1.5, 2.1), (5.0, 5.6), (8.0, 8.6)]
    assert abs(missed_share(probs, cfg, geometry, spans) - 2 / 3) < 1e-12  # the second and third clips
    assert missed_share(np.zeros_like(probs), cfg, geometry, spans) == 1.0
