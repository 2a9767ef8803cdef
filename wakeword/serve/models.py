"""The models a server loads once and every client shares: their cards, the `info` answer, and a pool of engines.

Each client streams through an Engine of its own (front end, GRU states, detectors), built from the cards loaded
at start-up. Measured (2 bundled models, x86_64, ai_edge_litert): an Engine costs 2.7 MB of RSS and 12 ms to build
(1.2 MB per model interpreter, 0.4 MB per model frame history). Sharing the interpreters between clients, with the
GRU states swapped in under a lock, would save about 2.3 MB per client; an Engine per client costs that and gains
the engine unchanged, nothing mutable shared between clients, and no lock: clients' chunks can run in parallel
threads, and one client can never see another's state. For the handful of satellites a home has (8 clients
streaming: +25 MB of server RSS, benchmarks/RESULTS.md), that is the better trade. Engines of clients that left
wait in a small pool for the next one, so a Home Assistant pipeline (one connection per wake-up) does not pay the
12 ms each time, and idle memory stays at the peak concurrency up to `IDLE_ENGINES`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wyoming.info import Attribution, Info, WakeModel, WakeProgram

from .. import __version__
from ..engine import Engine
from ..model.card import ModelCard

IDLE_ENGINES = 4  # engines kept for the next clients after theirs left
PROGRAM = "wakeword"
ATTRIBUTION = Attribution(name="wakeword", url="")  # cards may name their own: attribution: {name: ..., url: ...}


class ModelSet:
    """Loaded models + engine pool, used from the event loop only.

    A new engine is built on the event loop (12 ms here), never in a worker thread: loading an interpreter points
    fd 2 at /dev/null for a moment to silence the TFLite runtime (model/interpreter.py), so a build in a thread
    would swallow the loop's log lines meanwhile, and two builds in two threads left fd 2 at /dev/null for good
    (seen in tests/test_wyoming.py: the log stopped after four clients connected at once)."""

    def __init__(self, models: Sequence[str] | None = None, detector: dict[str, Any] | None = None,
                 flex_delegate: str | None = None) -> None:
        first = Engine(list(models) if models else None, detector=detector, flex_delegate=flex_delegate)  # fails early
        self.cards: list[ModelCard] = [m.card for m in first.models]
        self._detector, self._flex = detector, flex_delegate
        self._idle: list[Engine] = [first]
        self.info = describe(self.cards)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cards]

    def _build(self) -> Engine:
        return Engine(self.cards, detector=self._detector, flex_delegate=self._flex)

    def take(self) -> Engine:
        """An engine for one client: an idle one, or a new one built from the loaded cards."""
        if self._idle:
            return self._idle.pop()
        return self._build()

    def give(self, engine: Engine) -> None:
        """Return a client's engine; `audio-start` resets it before anyone streams through it again."""
        if len(self._idle) < IDLE_ENGINES:
            self._idle.append(engine)


def describe(cards: Sequence[ModelCard]) -> Info:
    """The `info` answer: one wake program listing every loaded model. A card may add `languages`, `description`
    and `attribution` ({name, url}); otherwise English, the phrase and this project."""
    models = []
    for card in cards:
        raw = card.raw
        languages = raw.get("languages")
        attr = raw.get("attribution")
        models.append(WakeModel(
            name=card.name, phrase=card.phrase, installed=True, version=card.version,
            languages=[str(x) for x in languages] if isinstance(languages, list) else ["en"],
            description=str(raw.get("description") or f"\"{card.phrase}\" ({card.license})"),
            attribution=Attribution(name=str(attr.get("name", "")), url=str(attr.get("url", "")))
            if isinstance(attr, dict) else ATTRIBUTION))
    program = WakeProgram(name=PROGRAM, description="wakeword: streaming CRNN wake-word engine (TFLite step models)",
                          attribution=ATTRIBUTION, installed=True, version=__version__, models=models)
    return Info(wake=[program])
