"""The card's self-check: the model's GRU states after a fixed test signal, recorded in the card when it is
written and compared every time the model loads.

Why: tensor names and shapes are the same for every model of the seed architecture, so a card beside the wrong
weights (alexa.tflite copied under the hey_ssafy card), a card with a wrong front-end setting, or one with the
two state tensors swapped used to load and then detect nothing. The test signal goes through the card's own
front end and the model, ~1 ms at load; states are tanh-bounded and differ by far more than the tolerance between
two trained models, while the TFLite and numpy interpreters agree to ~1e-2 on them.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from ..errors import ModelError
from ..features import StreamingSpectrogram

if TYPE_CHECKING:
    from .runner import StepModel

SIGNAL = "0.3 sin(2 pi (100 t + 1900 t^2)) + 0.1 sin(2 pi 440 t), t in [0, 1) s at the card's sample rate"
VALUES_PER_STATE = 8
TOLERANCE = 0.05


def test_signal(sample_rate: int) -> np.ndarray:
    """A 100 -> 3900 Hz chirp over a 440 Hz tone: closed form, so every numpy gives the same samples."""
    t = np.arange(sample_rate) / sample_rate
    return (0.3 * np.sin(2 * np.pi * (100 * t + 1900 * t * t)) + 0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def fingerprint(model: "StepModel") -> list[float]:
    """The first VALUES_PER_STATE values of each GRU state after the test signal (the model is reset after)."""
    fe = model.card.frontend
    model.reset()
    # In 0.1 s pieces, as live audio comes: the same frames as one pass (the front end's streaming property),
    # without one-second temporaries setting the process's peak memory at load (issue 20).
    front, signal, piece = StreamingSpectrogram(fe), test_signal(fe.sample_rate), fe.sample_rate // 10
    for start in range(0, len(signal), piece):
        model.process_frames(front.process(signal[start:start + piece]))
    values = [float(v) for s in model.states for v in np.asarray(s).reshape(-1)[:VALUES_PER_STATE]]
    model.reset()
    return [round(v, 4) for v in values]


def verify(model: "StepModel") -> None:
    """ModelError when the card records a fingerprint and the model does not reproduce it."""
    check = model.card.raw.get("check")
    if check is None:
        return
    where = model.card.card_path or model.card.name
    try:
        want = np.asarray(check["state_values"], np.float64).reshape(-1)
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"{where}: bad check section (needs state_values: a list of numbers)") from None
    got = np.asarray(fingerprint(model))
    if want.shape != got.shape or np.abs(want - got).max() > TOLERANCE:
        diff = "a different number of values" if want.shape != got.shape else f"max difference {np.abs(want - got).max():.2f}"
        raise ModelError(f"{where}: {model.card.model_path.name} does not behave as its card recorded ({diff} on the "
                         f"card's test signal): the card belongs to other weights, or its frontend/tensors are wrong")


def add_to_card(card_path: str | Path) -> list[float]:
    """Append the check section to a card (the model it names must load); returns the values written."""
    from .card import ModelCard
    from .runner import StepModel

    path = Path(card_path)
    card = ModelCard.load(path)
    if "check" in card.raw:
        raise ModelError(f"{path}: already has a check section")
    values = fingerprint(StepModel(card))
    text = yaml.safe_dump({"check": {"signal": SIGNAL, "state_values": values}}, sort_keys=False, width=110,
                          default_flow_style=None)
    path.write_text(path.read_text().rstrip("\n") + "\n" + text)
    return values
