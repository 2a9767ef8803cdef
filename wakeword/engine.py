"""The engine: audio chunks in, `Detection` events out — the public Python API.

    from wakeword import Engine
    with Engine(["hey_ssafy"]) as engine:
        engine.on_detection(lambda d: print(d.wake_word, d.time))
        engine.start("kitchen.wav")        # or any iterable of numpy chunks, or a live source
        engine.wait()

`process()` is the synchronous core (one front end → every model → its detector); `detect()` runs it over a
whole source; `start()` runs it on a processing thread and hands events to callbacks on a separate
dispatcher thread, so a slow or failing callback never stalls the audio path.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from . import threads
from .audio.resample import StreamingResampler, to_mono_float
from .audio.sources import as_source
from .detector import DetectorConfig, TriggerDetector
from .errors import ModelError
from .events import Detection
from .features import StreamingSpectrogram
from .model.card import ModelCard, list_bundled
from .model.runner import StepModel

log = logging.getLogger("wakeword")
EVENTS_KEPT = 1000  # detections `events()` holds for a consumer that is not reading (callbacks get every one)


class _ModelSlot:
    def __init__(self, model: StepModel, detector: TriggerDetector) -> None:
        self.model, self.detector = model, detector
        self.offset_s = 0.0  # stream time at which this model started (non-zero after a mid-stream configure())


class Engine:
    """Runs one shared front end into any number of step models, each with its own trigger detector."""

    def __init__(self, models: Sequence[str | os.PathLike | ModelCard] | None = None, *, threshold: float | None = None,
                 detector: dict | None = None, flex_delegate: str | None = None, channel: int | None = None) -> None:
        self.channel = channel
        self._slots = self._build_slots(models, threshold, detector, flex_delegate)
        self.frontend_config = self._slots[0].model.card.frontend
        self._callbacks: list[Callable[[Detection], None]] = []
        self._score_hooks: list[Callable[[str, np.ndarray], None]] = []
        self._audio_hooks: list[Callable[[np.ndarray], None]] = []
        self._finish_hooks: list[Callable[[], None]] = []
        self._sequence = 0
        self._thread: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None
        self._stop = threading.Event()
        self._events: queue.Queue = queue.Queue(EVENTS_KEPT)
        self._dispatch: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.reset()

    @staticmethod
    def _build_slots(models, threshold, detector, flex_delegate) -> list[_ModelSlot]:
        refs = list(models) if models else list_bundled()
        if not refs:
            raise ModelError("no models given and none bundled; pass --model PATH")
        cards = [r if isinstance(r, ModelCard) else ModelCard.load(r) for r in refs]
        names = [c.name for c in cards]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # each would raise its own event for every wake
            raise ModelError(f"model {', '.join(twice)} given twice; give each model once")
        for c in cards[1:]:
            if c.frontend != cards[0].frontend:
                raise ModelError(f"models {cards[0].name} and {c.name} need different front ends; run them in separate engines")
        slots = []
        for card in cards:
            overrides = {**(detector or {}), **({"threshold": threshold} if threshold is not None else {})}
            cfg = DetectorConfig.from_card(card.detector).replace(**overrides)
            slots.append(_ModelSlot(StepModel(card, flex_delegate), TriggerDetector(cfg, card.geometry.step_seconds)))
        return slots

    def configure(self, models=None, *, threshold: float | None = None, detector: dict | None = None,
                  flex_delegate: str | None = None) -> None:
        """Swap in new models / detector settings while running (config reload); audio keeps flowing.

        The new models start from fresh states at the next chunk; they must use the same front end.
        """
        slots = self._build_slots(models, threshold, detector, flex_delegate)
        if slots[0].model.card.frontend != self.frontend_config:
            raise ModelError("the new models need a different front end; restart instead of reloading")
        fe = self._frontend
        for slot in slots:  # frames already consumed by the front end are before this model's step 0
            slot.offset_s = fe.frames_emitted * fe.config.hop / fe.config.sample_rate
        self._slots = slots  # one reference swap: the processing thread sees the old or the new list, whole

    # ---- synchronous core -------------------------------------------------------------------------
    @property
    def models(self) -> list[StepModel]:
        return [s.model for s in self._slots]

    def detector_config(self, name: str) -> DetectorConfig:
        return next(s.detector.config for s in self._slots if s.model.name == name)

    def reset(self, sample_rate: int | None = None) -> None:
        """Start a new stream: clears front end, model states, detectors and the stream clock."""
        self._frontend = StreamingSpectrogram(self.frontend_config)
        self._rate = sample_rate or self.frontend_config.sample_rate
        self._resampler = StreamingResampler(self._rate, self.frontend_config.sample_rate)
        self._source_name: str | None = None
        for s in self._slots:
            s.model.reset()
            s.detector.reset()
            s.offset_s = 0.0

    def process(self, chunk: np.ndarray, sample_rate: int | None = None) -> list[Detection]:
        """Feed one chunk of the current stream; returns the detections it completed."""
        if sample_rate and sample_rate != self._rate:
            if self._frontend.frames_emitted or len(self._frontend._pending):
                raise ValueError("sample rate changed mid-stream; call reset(sample_rate) first")
            self._rate = sample_rate
            self._resampler = StreamingResampler(sample_rate, self.frontend_config.sample_rate)
        audio = self._resampler.process(to_mono_float(chunk, self.channel))
        for hook in self._audio_hooks:
            hook(audio)
        frames = self._frontend.process(audio)
        out = []
        for slot in self._slots[:]:
            first_step = slot.model.steps
            probs = slot.model.process_frames(frames)
            for score_hook in self._score_hooks:
                score_hook(slot.model.name, probs)
            for i, trig in slot.detector.feed(probs):
                g = slot.model.card.geometry
                self._sequence += 1
                out.append(Detection(slot.model.name, round(trig.score, 4), slot.offset_s + g.step_end_time(trig.onset_step),
                                     slot.offset_s + g.step_end_time(first_step + i), time.time(), self._sequence,
                                     slot.model.card.version, self._source_name))
        return out

    def detect(self, source: str | os.PathLike | Iterable[np.ndarray] | np.ndarray, sample_rate: int | None = None
               ) -> Iterator[Detection]:
        """Run a whole source (WAV path, array, iterable of chunks) from a fresh stream; yields detections."""
        src = as_source(source, sample_rate)
        self.reset(src.sample_rate)
        self._source_name = getattr(src, "name", None)
        for chunk in src:
            yield from self.process(chunk)

    # ---- threaded API ------------------------------------------------------------------------------
    def on_detection(self, callback: Callable[[Detection], None]) -> Callable[[Detection], None]:
        """Register a callback (usable as a decorator). Callbacks run on the dispatcher thread."""
        self._callbacks.append(callback)
        return callback

    def on_scores(self, hook: Callable[[str, np.ndarray], None]) -> Callable[[str, np.ndarray], None]:
        """Register a hook called on the processing thread with (model name, new per-step probabilities).

        For tracing and evaluation; keep it fast, it runs in the audio path.
        """
        self._score_hooks.append(hook)
        return hook

    def off_scores(self, hook: Callable[[str, np.ndarray], None]) -> None:
        """Unregister a hook `on_scores` registered (a trace that is done)."""
        self._score_hooks.remove(hook)

    def on_audio(self, hook: Callable[[np.ndarray], None]) -> Callable[[np.ndarray], None]:
        """Register a hook called on the processing thread with each chunk of 16 kHz mono float audio."""
        self._audio_hooks.append(hook)
        return hook

    def on_finish(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Register a hook called on the processing thread once the source has ended, failed or been stopped."""
        self._finish_hooks.append(hook)
        return hook

    def start(self, source, sample_rate: int | None = None) -> "Engine":
        """Process `source` on a background thread; events go to callbacks and to `events()`."""
        if self._thread and self._thread.is_alive():
            raise RuntimeError("engine already running; stop() it first")
        src = as_source(source, sample_rate)
        self._stop.clear()
        self.error = None
        self._dispatcher = threads.start(self._dispatch_loop, "ww-dispatch")
        self._thread = threads.start(self._run, "ww-process", src)
        return self

    def _run(self, src) -> None:
        try:
            self.reset(src.sample_rate)
            self._source_name = getattr(src, "name", None)
            for chunk in src:
                if self._stop.is_set():
                    break
                for d in self.process(chunk):
                    self._keep(d)
                    self._dispatch.put(d)
        except BaseException as e:  # surfaced to the caller by wait()/events()
            self.error = e
        finally:
            self._keep(None)
            self._dispatch.put(None)
            for hook in self._finish_hooks:
                hook()

    def _keep(self, item: Detection | None) -> None:
        """Queue for `events()`; a daemon that only uses callbacks never reads it, so the oldest make room."""
        while True:
            try:
                return self._events.put_nowait(item)
            except queue.Full:
                try:
                    self._events.get_nowait()
                except queue.Empty:
                    pass

    def _dispatch_loop(self) -> None:
        while (d := self._dispatch.get()) is not None:
            for cb in list(self._callbacks):
                try:
                    cb(d)
                except Exception:
                    log.exception("detection callback %r raised; detection continues", cb)

    def events(self, timeout: float | None = None) -> Iterator[Detection]:
        """Iterate detections of the running source until it ends (or `timeout` passes without one)."""
        while True:
            try:
                d = self._events.get(timeout=timeout)
            except queue.Empty:
                return
            if d is None:
                if self.error:
                    raise self.error
                return
            yield d

    __iter__ = events

    def wait(self, timeout: float | None = None) -> None:
        """Block until the source is exhausted (or stopped) and every callback has run."""
        for t in (self._thread, self._dispatcher):
            if t:
                t.join(timeout)
        if self.error:
            raise self.error

    def stop(self) -> None:
        self._stop.set()
        self.wait(timeout=5)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
