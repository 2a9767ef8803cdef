"""The litert_c backend (ai_edge_litert's libLiteRt.so through its C API, issue 20): the same probabilities and GRU
states as the pybind interpreter on real audio, chosen first when the library loads, falling back (or refusing in one
line) when it cannot run a model, and never loading the pybind wrapper it exists to avoid."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from wakeword import Engine
from wakeword.errors import ModelError
from wakeword.features import StreamingSpectrogram
from wakeword.model import litert_c
from wakeword.model.card import ModelCard, bundled_dir
from wakeword.model.interpreter import load_interpreter
from wakeword.model.runner import StepModel

from backends import MODELS, REPO, cli, engine_in_fresh_process, step_model  # tests/backends.py

FLEX_CARD = REPO / "tests" / "fixtures" / "flex_gru.yaml"
# Same kernels (XNNPACK, one thread) on the same inputs: measured bit-identical on every clip; the bound only allows
# for a future wheel picking another kernel variant.
TOLERANCE = 1e-6


@pytest.mark.parametrize("model", MODELS)
def test_same_probabilities_and_states_as_the_pybind_interpreter(model, phrase, alexa_phrase, negative, monkeypatch):
    card = ModelCard.load(MODELS[model])
    for audio in (phrase[2], alexa_phrase[1], negative[1]):
        frames = StreamingSpectrogram(card.frontend).process(audio)
        ours, lite = (step_model(MODELS[model], b, monkeypatch) for b in ("litert_c", "ai_edge_litert"))
        p_ours, p_lite = ours.process_frames(frames), lite.process_frames(frames)
        assert len(p_ours) == len(p_lite) == card.geometry.num_steps(len(frames))
        assert np.abs(p_ours - p_lite).max() <= TOLERANCE
        for s_ours, s_lite in zip(ours.states, lite.states):
            assert np.abs(s_ours - s_lite).max() <= TOLERANCE


def test_engine_detections_are_the_same(phrase, alexa_phrase, monkeypatch):
    found = {}
    for backend in ("ai_edge_litert", "litert_c"):
        monkeypatch.setenv("WAKEWORD_INTERPRETER", backend)
        engine = Engine(["hey_ssafy", "alexa"])
        assert {m.backend for m in engine.models} == {backend}
        found[backend] = [[(e.wake_word, e.time, e.detected_at, round(e.score, 6)) for e in engine.detect(source)]
                          for source in (phrase[0], alexa_phrase[0])]
    assert [[e[0] for e in events] for events in found["litert_c"]] == [["hey_ssafy"], ["alexa"]]
    assert found["litert_c"] == found["ai_edge_litert"]


def test_it_is_the_first_choice_and_info_says_so(monkeypatch):
    monkeypatch.delenv("WAKEWORD_INTERPRETER", raising=False)
    assert StepModel(ModelCard.load("hey_ssafy")).backend == "litert_c"
    r = cli("info", "hey_ssafy", env={"WAKEWORD_INTERPRETER": ""})
    assert r.returncode == 0, r.stderr
    assert "interpreter: litert_c (ai_edge_litert's libLiteRt.so through its C API" in r.stdout
    assert r.stderr == ""  # LiteRT's INFO/WARNING lines at load stay off our stderr


def test_interpreter_api_subset():
    it = litert_c.Interpreter(model_path=str(bundled_dir() / "alexa.tflite"))
    it.allocate_tensors()
    ins, outs = it.get_input_details(), it.get_output_details()
    assert [(d["name"], list(d["shape"]), d["dtype"]) for d in ins] == [
        ("serving_default_state1:0", [1, 128], np.float32), ("serving_default_state2:0", [1, 128], np.float32),
        ("serving_default_window:0", [1, 15, 101], np.float32)]
    assert [d["name"] for d in outs] == ["PartitionedCall:0", "PartitionedCall:1", "PartitionedCall:2"]
    with pytest.raises(ValueError, match="expected float32 \\[1, 15, 101\\]"):
        it.set_tensor(ins[2]["index"], np.zeros((15, 101), np.float32))
    with pytest.raises(ValueError, match="not an input"):
        it.set_tensor(outs[0]["index"], np.zeros((1, 1), np.float32))
    it.invoke()
    p = it.get_tensor(outs[0]["index"])
    p[...] = 7.0  # a copy: the next read is unaffected
    assert 0.0 < float(it.get_tensor(outs[0]["index"])[0, 0]) < 1.0
    it.close()
    it.close()  # idempotent; the finalizer calls it again


def test_interpreters_in_parallel_threads_agree_with_one_thread():
    rng = np.random.default_rng(4)
    windows = rng.normal(-5, 2, (200, 1, 15, 101)).astype(np.float32)

    def run(name: str, out: dict) -> None:
        it = litert_c.Interpreter(model_path=str(bundled_dir() / f"{name}.tflite"))
        (s1, s2, w), (p, o1, o2) = ([d["index"] for d in ds] for ds in (it.get_input_details(), it.get_output_details()))
        state1 = state2 = np.zeros((1, 128), np.float32)
        probs = []
        for window in windows:
            it.set_tensor(w, window)
            it.set_tensor(s1, state1)
            it.set_tensor(s2, state2)
            it.invoke()
            probs.append(float(it.get_tensor(p)[0, 0]))
            state1, state2 = it.get_tensor(o1), it.get_tensor(o2)
        out[name] = probs

    alone: dict = {}
    together: dict = {}
    for name in ("hey_ssafy", "alexa"):
        run(name, alone)
    threads = [threading.Thread(target=run, args=(name, together)) for name in ("hey_ssafy", "alexa", "hey_ssafy")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone


class CannotCompile:
    """libLiteRt.so as loaded, except that compiling any model fails (kLiteRtStatusErrorCompilation)."""

    def __init__(self, lib):
        self._lib = lib

    def __getattr__(self, name):
        return getattr(self._lib, name)

    @staticmethod
    def LiteRtCreateCompiledModel(*args):  # noqa: N802  (the C function's name)
        return 504


def test_a_model_it_cannot_compile_goes_to_the_pybind_interpreter_or_is_one_line(monkeypatch):
    monkeypatch.setattr(litert_c, "_lib", CannotCompile(litert_c._lib))
    monkeypatch.delenv("WAKEWORD_INTERPRETER", raising=False)
    m = StepModel(ModelCard.load("hey_ssafy"))
    assert m.backend == "ai_edge_litert"
    monkeypatch.setenv("WAKEWORD_INTERPRETER", "litert_c")
    with pytest.raises(ModelError) as e:
        StepModel(ModelCard.load("hey_ssafy"))
    assert str(e.value) == (f"{bundled_dir() / 'hey_ssafy.tflite'}: litert_c cannot load the model "
                            "(LiteRT C API: compiling the model failed (compilation error))")


def test_corrupted_model_is_a_model_error():
    data = (bundled_dir() / "hey_ssafy.tflite").read_bytes()
    for bad in (data[: len(data) // 2], b"not a model" * 50):
        with pytest.raises(ModelError, match="reading the model failed"):
            litert_c.Interpreter(model_content=bad)


def test_flex_models_skip_it_or_are_refused_by_name(monkeypatch):
    monkeypatch.delenv("WAKEWORD_INTERPRETER", raising=False)
    with pytest.raises(ModelError, match="needs Flex ops FlexTensorListReserve.* that ai_edge_litert cannot run"):
        load_interpreter(str(FLEX_CARD.with_suffix(".tflite")))
    monkeypatch.setenv("WAKEWORD_INTERPRETER", "litert_c")
    with pytest.raises(ModelError, match=r"needs Flex ops FlexTensorListReserve.*which litert_c \(it takes no delegates\)"):
        load_interpreter(str(FLEX_CARD.with_suffix(".tflite")))


def test_an_unknown_abi_is_not_loaded(monkeypatch):
    """A wheel outside the versions checked, or a library lacking a function: ImportError, so the chooser moves on."""
    monkeypatch.setattr(litert_c, "_version", lambda folder: (2, 2))
    with pytest.raises(ImportError, match="ai-edge-litert 2.2: its C ABI is not the one"):
        litert_c._load()
    monkeypatch.undo()
    monkeypatch.setitem(litert_c._FUNCTIONS, "LiteRtNoSuchFunction", (None, []))
    with pytest.raises(ImportError, match="LiteRtNoSuchFunction"):
        litert_c._load()


def test_without_the_library_the_pybind_interpreter_is_chosen(phrase):
    refuse_library = """
import ctypes, sys
real = ctypes.CDLL
def refuse(name, *args, **kwargs):  # our loader fails (ai_edge_litert's own interpreter opens the library too)
    if sys._getframe(1).f_globals["__name__"] == "wakeword.model.litert_c":
        raise OSError(f"{name}: cannot open shared object file")
    return real(name, *args, **kwargs)
ctypes.CDLL = refuse
"""
    assert engine_in_fresh_process(refuse_library, phrase[0]) == ["ai_edge_litert", "1"]


def test_loads_neither_the_python_package_nor_its_pybind_wrapper():
    code = """
import sys
from wakeword.model.interpreter import load_interpreter
loaded = load_interpreter("models/hey_ssafy.tflite")
maps = open("/proc/self/maps").read()
print(loaded.backend, "ai_edge_litert" in sys.modules, "pywrap" in maps, "libLiteRt.so" in maps)
"""
    env = {k: v for k, v in os.environ.items() if k != "WAKEWORD_INTERPRETER"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["litert_c", "False", "False", "True"]
