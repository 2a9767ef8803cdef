"""The numpy interpreter (the portable fallback): same graph as the .tflite, same probabilities and detections as
ai_edge_litert within the stated tolerance, refusals in one line, and chosen when no TFLite package imports."""
import json
import struct
import subprocess
import sys

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter as LiteRT
from ai_edge_litert.interpreter import OpResolverType

from wakeword import Engine
from wakeword.errors import ModelError
from wakeword.features import StreamingSpectrogram
from wakeword.model.card import ModelCard, bundled_dir
from wakeword.model.flatbuffer import BUILTIN_NAMES, Graph, Table, Tensor, read_graph
from wakeword.model.numpy_interpreter import DTYPES, _Builder, compile_graph

from backends import MODELS, REPO, cli, engine_in_fresh_process, step_model  # tests/backends.py

# Largest |p_numpy - p_litert| per step, measured on these clips (max over the phrase, "Alexa" and negative clips):
# int8 2.4e-3 (alexa on "Alexa."; 6e-4 for hey_ssafy on its phrase), float32 5.4e-7. The int8 gap is the hybrid
# kernels' on-the-fly int8 rounding of activations, which the numpy interpreter (float32 throughout) does not do;
# for scale, the int8 model against its float32 twin, both in ai_edge_litert: 1.5e-2.
TOLERANCE = {"hey_ssafy": 5e-3, "alexa": 5e-3, "hey_ssafy_float32": 2e-6}


def test_graph_reader_agrees_with_litert():
    """Tensors (name, shape, type, per-channel scales) and ops (name, inputs, outputs) as ai_edge_litert reads them."""
    named = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    assert BUILTIN_NAMES == [named[c] for c in range(len(BUILTIN_NAMES))]
    for path in (bundled_dir() / "hey_ssafy.tflite", bundled_dir() / "reports/alexa/alexa_float32.tflite"):
        graph = read_graph(path.read_bytes())
        it = LiteRT(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        it.allocate_tensors()
        details = it.get_tensor_details()  # the model's tensors, then the hybrid kernels' scratch tensors
        assert len(details) >= len(graph.tensors)
        for d, t in zip(details, graph.tensors):
            assert (d["name"], list(d["shape"]), d["dtype"]) == (t.name, list(t.shape), DTYPES[t.type])
            q = d["quantization_parameters"]
            assert np.array_equal(q["scales"], np.float32(t.scale)) and q["quantized_dimension"] == t.quantized_dimension
        ops = [(o["op_name"], list(o["inputs"]), list(o["outputs"])) for o in it._get_ops_details()]
        assert ops == [(op.name, list(op.inputs), list(op.outputs)) for op in graph.operators]
        quantized = [t for t in graph.tensors if t.scale]
        assert bool(quantized) == ("float32" not in path.name)
        assert all(len(t.scale) == 1 and t.type == 9 for t in quantized)  # int8, per tensor (train/export.py)


def test_dequantization_per_tensor_and_per_channel():
    q = np.array([[-128, -1, 0], [1, 64, 127]], np.int8)
    graph = Graph([Tensor("per_tensor", (2, 3), 9, memoryview(q.tobytes()), (0.5,), (0,), 0),
                   Tensor("per_channel", (2, 3), 9, memoryview(q.tobytes()), (0.5, 2.0, 4.0), (0, 0, 1), 1)], (), (), [])
    _, arrays = compile_graph(graph)
    assert arrays == {}  # constants are decoded when an op reads them
    b = _Builder(graph)
    assert np.array_equal(b.array(0), q * np.float32(0.5)) and b.array(0).dtype == np.float32
    assert np.array_equal(b.array(1), (q - np.array([0, 0, 1])) * np.array([0.5, 2.0, 4.0], np.float32))


@pytest.mark.parametrize("model", MODELS)
def test_same_frames_give_the_same_probabilities(model, phrase, alexa_phrase, negative, monkeypatch):
    card = ModelCard.load(MODELS[model])
    worst = 0.0
    for audio in (phrase[2], alexa_phrase[1], negative[1]):
        frames = StreamingSpectrogram(card.frontend).process(audio)
        lite = step_model(MODELS[model], "ai_edge_litert", monkeypatch).process_frames(frames)
        ours = step_model(MODELS[model], "numpy", monkeypatch).process_frames(frames)
        assert len(ours) == len(lite) == card.geometry.num_steps(len(frames))
        worst = max(worst, float(np.abs(ours - lite).max()))
    assert worst <= TOLERANCE[model], f"{model}: max |p_numpy - p_litert| = {worst:.2e}"
    phrase_peak = step_model(MODELS[model], "numpy", monkeypatch).process_frames(
        StreamingSpectrogram(card.frontend).process((alexa_phrase if model == "alexa" else phrase)[-1])).max()
    assert phrase_peak > card.detector["threshold"]  # the comparison covered the steep part of the sigmoid


def test_engine_detections_are_the_same(phrase, alexa_phrase, negative, monkeypatch):
    """Both models in one engine, on each positive clip and on a negative stream: same events, same times."""
    negative_stream = np.concatenate([negative[1], negative[1][::-1]])
    found = {}
    for backend in ("ai_edge_litert", "numpy"):
        monkeypatch.setenv("WAKEWORD_INTERPRETER", backend)
        engine = Engine(["hey_ssafy", "alexa"])
        assert {m.backend for m in engine.models} == {backend}
        found[backend] = [list(engine.detect(source)) for source in (phrase[0], alexa_phrase[0], negative_stream)]
    lite, ours = found["ai_edge_litert"], found["numpy"]
    assert [[e.wake_word for e in events] for events in lite] == [["hey_ssafy"], ["alexa"], []]
    for a_events, b_events in zip(lite, ours):
        assert [(e.wake_word, e.time, e.detected_at, e.file) for e in a_events] == \
               [(e.wake_word, e.time, e.detected_at, e.file) for e in b_events]
        assert all(abs(a.score - b.score) <= TOLERANCE["alexa"] for a, b in zip(a_events, b_events))


def with_op_replaced(data: bytes, old: str, new: str) -> bytes:
    """The model with every use of builtin op `old` turned into `new` (its OperatorCode patched in place)."""
    buf = bytearray(data)
    model = Table(data, struct.unpack_from("<I", data, 0)[0])
    for code in model.tables(1):
        if max(code.scalar(3, "i"), code.scalar(0, "b")) == BUILTIN_NAMES.index(old):
            for index, fmt in ((0, "b"), (3, "i")):
                if (p := code.field(index)) is not None:
                    struct.pack_into("<" + fmt, buf, p, BUILTIN_NAMES.index(new))
    assert buf != data
    return bytes(buf)


def test_unsupported_op_is_a_one_line_model_error(tmp_path, monkeypatch):
    model = (bundled_dir() / "hey_ssafy.tflite").read_bytes()
    (tmp_path / "hey_ssafy.tflite").write_bytes(with_op_replaced(model, "TANH", "EXP"))
    card = tmp_path / "hey_ssafy.yaml"
    card.write_bytes((bundled_dir() / "hey_ssafy.yaml").read_bytes())
    assert step_model(str(card), "ai_edge_litert", monkeypatch).step(np.zeros((15, 101), np.float32)) >= 0  # still a model
    with pytest.raises(ModelError, match=r"hey_ssafy\.tflite: numpy cannot load the model \(op EXP not supported"):
        step_model(str(card), "numpy", monkeypatch)
    r = cli("info", str(card), env={"WAKEWORD_INTERPRETER": "numpy"})
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "op EXP not supported by the numpy interpreter" in r.stderr
    (tmp_path / "hey_ssafy.tflite").write_bytes(model[: len(model) // 2])
    with pytest.raises(ModelError, match="corrupted or not a TFLite model"):  # truncated: weights outside the file
        step_model(str(card), "numpy", monkeypatch)


def test_flex_model_is_refused_by_name(monkeypatch):
    with pytest.raises(ModelError, match="needs Flex ops FlexTensorListReserve.*which the numpy fallback cannot run"):
        step_model(str(REPO / "tests" / "fixtures" / "flex_gru.yaml"), "numpy", monkeypatch)


def test_info_reports_the_numpy_backend():
    r = cli("info", "hey_ssafy", env={"WAKEWORD_INTERPRETER": "numpy"})
    assert r.returncode == 0, r.stderr
    assert "interpreter: numpy (portable fallback" in r.stdout
    r = cli("info", "alexa", "--json", env={"WAKEWORD_INTERPRETER": "numpy"})
    assert r.returncode == 0 and json.loads(r.stdout)["interpreter"] == "numpy"


BLOCK_TFLITE = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("ai_edge_litert", "tflite_runtime", "tensorflow"):
            raise ImportError("no wheel for this platform")
sys.meta_path.insert(0, Block())
"""


def test_numpy_is_the_fallback_when_no_tflite_package_imports(phrase):
    assert engine_in_fresh_process(BLOCK_TFLITE, phrase[0]) == ["numpy", "1"]


def test_the_numpy_interpreter_imports_only_numpy_and_the_standard_library():
    code = """
import sys, types
started = set(sys.modules)  # the interpreter's start-up (site, the editable install's finder)
for name in ("wakeword", "wakeword.model"):  # the package's modules without running its __init__ (the engine's imports)
    sys.modules[name] = m = types.ModuleType(name)
    m.__path__ = [name.replace(".", "/")]
import numpy as np
from wakeword.model.numpy_interpreter import Interpreter
it = Interpreter("models/alexa.tflite")
it.set_tensor(it.get_input_details()[2]["index"], np.zeros((1, 15, 101), np.float32))
it.invoke()
print(sorted({m.split(".")[0] for m in set(sys.modules) - started} - set(sys.stdlib_module_names) - {"numpy", "wakeword"}))
print(float(it.get_tensor(it.get_output_details()[0]["index"])[0, 0]))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    imported, p = r.stdout.splitlines()
    assert imported == "[]" and 0.0 < float(p) < 1.0
