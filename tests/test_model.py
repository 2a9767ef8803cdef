"""Model loading: bundled models, cards, interpreter choice, Flex detection, refusal of bad models."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from wakeword.errors import ModelError
from wakeword.model.card import ModelCard, bundled_dir, list_bundled
from wakeword.model.flatbuffer import flex_ops, operator_codes
from wakeword.model.runner import StepModel

FIXTURES = Path(__file__).parent / "fixtures"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "wakeword", *args], capture_output=True, text=True)


def one_line_error(r):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("wakeword: error:")]
    assert len(lines) == 1, r.stderr
    return lines[0]


def copy_model(tmp_path, name="hey_ssafy"):
    for ext in (".tflite", ".yaml"):
        shutil.copy(bundled_dir() / f"{name}{ext}", tmp_path / f"{name}{ext}")
    return tmp_path / f"{name}.yaml"


def test_bundled_models_are_builtin_only_and_load():
    assert {"hey_ssafy", "alexa"} <= set(list_bundled())
    for name in ("hey_ssafy", "alexa"):
        data = (bundled_dir() / f"{name}.tflite").read_bytes()
        assert flex_ops(data) == set()
        assert all(custom is None for _, custom in operator_codes(data))
        m = StepModel(ModelCard.load(name))
        assert m.backend == "litert_c"
        assert 0.0 <= m.step(np.zeros((15, 101), np.float32)) <= 1.0


def test_reset_restores_the_initial_state():
    m = StepModel(ModelCard.load("hey_ssafy"))
    frames = np.random.default_rng(0).normal(-5, 2, (300, 101)).astype(np.float32)
    a = m.process_frames(frames)
    b = m.process_frames(frames)
    m.reset()
    c = m.process_frames(frames)
    assert len(a) == (300 - 15) // 4 + 1
    assert np.array_equal(a, c) and not np.array_equal(a, b)


def test_frames_in_any_chunking_give_the_same_probabilities():
    frames = np.random.default_rng(1).normal(-5, 2, (3000, 101)).astype(np.float32)
    m = StepModel(ModelCard.load("hey_ssafy"))
    whole = m.process_frames(frames)
    m.reset()
    cuts = np.sort(np.random.default_rng(2).integers(0, 3000, 40))
    parts = np.concatenate([m.process_frames(p) for p in np.split(frames, cuts)])
    assert np.array_equal(whole, parts)


def test_info_json_reports_interpreter_tensors_card():
    r = cli("info", "hey_ssafy", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["interpreter"] == "litert_c" and info["flex_ops"] == []
    assert sorted(i["shape"] for i in info["inputs"]) == [[1, 15, 101], [1, 128], [1, 128]]
    assert "threshold" in info["detector"]


def test_unknown_model_name():
    line = one_line_error(cli("detect", "x.wav", "--model", "hey_nobody"))
    assert "unknown model 'hey_nobody'" in line and "hey_ssafy" in line


def test_corrupted_and_truncated_tflite(tmp_path):
    card = copy_model(tmp_path)
    tfl = card.with_suffix(".tflite")
    good = tfl.read_bytes()
    for bad in (b"garbage" * 100, good[: len(good) // 3]):
        tfl.write_bytes(bad)
        with pytest.raises(ModelError, match="hey_ssafy.tflite"):
            StepModel(ModelCard.load(card))
    one_line_error(cli("info", str(tfl)))


@pytest.mark.parametrize("edit,message", [
    (lambda c: c["tensors"]["window"].update(name="not_a_tensor"), "card names input tensor 'not_a_tensor'"),
    (lambda c: c["tensors"]["state1"].update(shape=[1, 64]), "state1 has shape [1, 64]"),
    (lambda c: c["frontend"].update(n_fft=256), "disagrees with step.kernel"),
    (lambda c: c.pop("tensors"), "missing key 'tensors'"),
])
def test_card_that_disagrees_with_its_model_is_refused(tmp_path, edit, message):
    card = copy_model(tmp_path)
    data = yaml.safe_load(card.read_text())
    edit(data)
    card.write_text(yaml.safe_dump(data))
    with pytest.raises(ModelError, match=message.replace("[", r"\[").replace("]", r"\]")):
        StepModel(ModelCard.load(card))
    assert message.split()[0] in one_line_error(cli("info", str(card)))


def test_invalid_card_yaml_names_the_line(tmp_path):
    card = copy_model(tmp_path)
    card.write_text(card.read_text() + "\nbroken: [unclosed\n")
    with pytest.raises(ModelError, match=r"line \d+"):
        ModelCard.load(card)


def test_flex_model_is_refused_with_op_names():
    assert flex_ops((FIXTURES / "flex_gru.tflite").read_bytes()) == {
        "FlexTensorListReserve", "FlexTensorListSetItem", "FlexTensorListStack"}
    with pytest.raises(ModelError, match="FlexTensorListReserve.*--flex-delegate"):
        StepModel(ModelCard.load(FIXTURES / "flex_gru.tflite"))
    line = one_line_error(cli("info", str(FIXTURES / "flex_gru.tflite")))
    assert "FlexTensorListStack" in line and "libtensorflowlite_flex.so" in line


def test_flex_model_with_a_bad_delegate_path(tmp_path):
    line = one_line_error(cli("info", str(FIXTURES / "flex_gru.tflite"), "--flex-delegate", str(tmp_path / "none.so")))
    assert "Flex delegate library not found" in line
    fake = tmp_path / "libfake.so"
    fake.write_bytes(b"\x7fELF not really")
    line = one_line_error(cli("info", str(FIXTURES / "flex_gru.tflite"), "--flex-delegate", str(fake)))
    assert "cannot load Flex delegate" in line
