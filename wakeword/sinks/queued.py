"""A sink on its own thread behind a bounded queue, so that one slow or gone consumer costs only its own events.

Why: the daemon hands each event to stdout and to MQTT. Written in line, a stalled stdout reader held MQTT back
and a closed one (`wakeword run | head -1`) raised on every later event, which then never reached MQTT either.
Behind its own queue a consumer that stalls fills only its queue (the oldest events are dropped and counted), and
one that fails for good is given up after one log line, its later events counted as dropped.
"""
from __future__ import annotations

import collections
import logging
import threading
from typing import Protocol

from .. import threads
from ..events import Detection

log = logging.getLogger("wakeword")


class Sink(Protocol):
    def publish(self, detection: Detection) -> None: ...


class QueuedSink:
    """`publish()` never blocks; `close()` flushes for a bounded time and says what was lost."""

    def __init__(self, sink: Sink, name: str, size: int = 1000) -> None:
        self.sink, self.name, self.size = sink, name, size
        self.dropped = 0
        self.failed: str | None = None  # why the consumer was given up
        self._queue: collections.deque[Detection] = collections.deque()
        self._cond = threading.Condition()
        self._busy = self._closing = False
        self._thread = threads.start(self._loop, f"ww-{name}")

    def publish(self, detection: Detection) -> None:
        with self._cond:
            if self.failed is not None:
                self.dropped += 1
                return
            if len(self._queue) >= self.size:
                self._queue.popleft()
                self.dropped += 1
                if self.dropped == 1:
                    log.warning("%s is not keeping up: dropping its oldest events (the total is logged at exit)", self.name)
            self._queue.append(detection)
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                event = self._queue.popleft()
                self._busy = True
            try:
                self.sink.publish(event)
                ok = True
            except (OSError, ValueError) as e:  # a closed pipe or file: BrokenPipeError, ValueError on a closed file
                ok = False
                reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
            with self._cond:
                self._busy = False
                if not ok:
                    self.failed = reason
                    self.dropped += 1 + len(self._queue)
                    self._queue.clear()
                self._cond.notify_all()
            if not ok:
                log.error("%s failed (%s): its later events are dropped; MQTT and callbacks carry on", self.name, reason)
                return

    def close(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._queue and not self._busy or self.failed is not None, timeout)
            left = len(self._queue) + self._busy
        if self.dropped or left:
            log.warning("%s: %d event(s) dropped, %d not written at exit", self.name, self.dropped, left)
