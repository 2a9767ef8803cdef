"""One Wyoming client: its events in, its wake-word events out (the protocol's wake domain).

    describe                        → info (at once: Home Assistant waits about a second)
    ping                            → pong
    detect [names]                  → only these models report, until the next detect
    audio-start, audio-chunk..., audio-stop
                                    → detection {name, timestamp} per wake; not-detected after audio-stop if none
    any other type                  → ignored (the protocol's rule), logged once per type

Each connection streams through its own Engine from the shared ModelSet; chunks carry their own format and are
converted like any other source (to_mono_float, StreamingResampler). `timestamp` is in milliseconds of stream
time: when the event fired, counted from the stream's start on the client's own clock (the timestamp of its
audio-start or first chunk, 0 when it sends none). Short chunks are processed on the event loop; a long one goes to
a worker thread, so the loop stays free to answer other clients meanwhile (INLINE_S).

Bad input costs only its own connection, with one log line: a framing error or an unusable format closes it
(after an `error` event saying why), a hang-up mid-stream just ends it, and a client that stops reading is closed
once a write has waited WRITE_TIMEOUT_S, so it can neither stall nor grow the server.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.wake import Detect, Detection, NotDetected

from ..engine import Engine
from .models import ModelSet
from .protocol import ProtocolError, format_problem, pcm_samples, read_event

log = logging.getLogger("wakeword.serve")
WRITE_TIMEOUT_S = 5.0  # a client that has not taken an event within this is closed (it reads too slowly)
# Chunks of up to this much audio run on the event loop (0.16 ms of engine time for 20 ms here); longer ones in a
# worker thread, so that no client's describe waits behind them. The hand-off to a thread and back costs more than
# a short chunk's processing: a third of the server's CPU for 20 ms chunks in real time (measured, 1 client).
INLINE_S = 0.1
_ids = itertools.count(1)


@dataclass
class Stream:
    """One audio stream of a client, from audio-start (or its first chunk) to audio-stop."""

    rate: int
    start_ms: int | None  # the client's clock at the stream's start; None until known (first chunk)
    detections: int = 0
    carry: bytes = b""  # the start of a frame split across chunks
    carry_format: tuple[int, int] = (0, 0)  # (width, channels) of `carry`
    seconds: float = 0.0
    rate_warned: bool = False


class _Close(Exception):
    """End this connection; the message is the one log line."""


def _timestamp(data: dict) -> int | None:
    t = data.get("timestamp")
    return t if isinstance(t, int) and not isinstance(t, bool) else None


class WakeHandler(AsyncEventHandler):
    """A wyoming AsyncEventHandler whose `run` reads with the bounded reader and never raises."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, models: ModelSet) -> None:
        super().__init__(reader, writer)
        self.models = models
        peer = writer.get_extra_info("peername")
        self.peer = f"client {next(_ids)}" + (f" ({peer[0]}:{peer[1]})" if isinstance(peer, tuple) else "")
        self.engine: Engine | None = None
        self.names: list[str] | None = None  # detect's filter; None: every model
        self.stream: Stream | None = None
        self._ignored: set[str] = set()
        self._busy = False  # the engine is in a worker thread: do not hand it to another client
        self._abort = False

    async def run(self) -> None:
        try:
            while (event := await read_event(self.reader)) is not None:
                await self.handle_event(event)
            if self.stream is not None:
                log.info("%s: disconnected mid-stream (%.1f s of audio, no audio-stop)", self.peer, self.stream.seconds)
        except ProtocolError as e:
            log.warning("%s: %s; closing the connection", self.peer, e)
            await self._try_send(Error(text=str(e), code="protocol-error").event())
        except _Close as e:
            log.warning("%s: %s; closing the connection", self.peer, e)
        except asyncio.IncompleteReadError:
            log.info("%s: disconnected in the middle of an event", self.peer)
        except ConnectionError as e:
            log.info("%s: connection lost (%s)", self.peer, e.strerror or type(e).__name__)
        except Exception:
            log.exception("%s: unexpected error; closing the connection", self.peer)
        finally:
            self._close()

    def _close(self) -> None:
        if self.engine is not None and not self._busy:
            self.models.give(self.engine)
        self.engine = None
        if self._abort:
            self.writer.transport.abort()  # drop what a non-reading client left unread
        else:
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        kind = event.type
        if Describe.is_type(kind):
            await self._send(self.models.info.event())
        elif Ping.is_type(kind):
            await self._send(Pong(text=event.data.get("text")).event())
        elif Detect.is_type(kind):
            self._detect(event.data.get("names"))
        elif AudioStart.is_type(kind):
            self._start("audio-start", event.data)
        elif AudioChunk.is_type(kind):
            await self._chunk(event)
        elif AudioStop.is_type(kind):
            await self._stop()
        elif kind[:40] not in self._ignored and len(self._ignored) < 32:  # once per type; bounded memory
            self._ignored.add(kind[:40])
            log.info("%s: ignoring event type %r", self.peer, kind[:40])
        return True

    # ---- events ------------------------------------------------------------------------------------------
    def _detect(self, names: object) -> None:
        if names is None:
            self.names = None
        elif isinstance(names, list) and all(isinstance(n, str) for n in names):
            unknown = [n for n in names if n not in self.models.names]
            if unknown:
                log.warning("%s: detect names unknown models %s (loaded: %s)", self.peer, unknown, self.models.names)
            self.names = names
        else:
            log.warning("%s: detect names must be a list of model names (got %r); detecting every model",
                        self.peer, str(names)[:60])
            self.names = None

    def _start(self, kind: str, data: dict) -> None:
        problem = format_problem(kind, data)
        if problem:
            raise ProtocolError(problem)
        if self.engine is None:
            self.engine = self.models.take()
        self.engine.reset(data["rate"])
        self.stream = Stream(data["rate"], _timestamp(data) if kind == "audio-start" else None)

    async def _chunk(self, event: Event) -> None:
        problem = format_problem("audio-chunk", event.data)
        if problem:
            raise ProtocolError(problem)
        chunk = AudioChunk.from_event(event)
        if self.stream is None:
            log.warning("%s: audio-chunk before audio-start; starting a stream at the chunk's format (%d Hz, %d-byte samples, "
                        "%d ch)", self.peer, chunk.rate, chunk.width, chunk.channels)
            self._start("audio-chunk", event.data)
        stream = self.stream
        assert stream is not None and self.engine is not None
        if stream.start_ms is None:
            stream.start_ms = _timestamp(event.data) or 0
        if chunk.rate != stream.rate:
            if not stream.rate_warned:
                stream.rate_warned = True
                log.warning("%s: audio-chunk at %d Hz in a %d Hz stream; dropping such chunks until the next "
                            "audio-start", self.peer, chunk.rate, stream.rate)
            return
        fmt = (chunk.width, chunk.channels)
        audio = (stream.carry if stream.carry_format == fmt else b"") + chunk.audio
        whole = len(audio) - len(audio) % (chunk.width * chunk.channels)
        stream.carry, stream.carry_format = audio[whole:], fmt
        if not whole:
            return
        samples = pcm_samples(audio[:whole], chunk.width, chunk.channels)
        seconds = len(samples) / chunk.rate
        stream.seconds += seconds
        if seconds <= INLINE_S:
            found = self.engine.process(samples)
        else:
            self._busy = True
            try:
                found = await asyncio.to_thread(self.engine.process, samples)
            finally:
                self._busy = False
        for d in found:
            if self.names is not None and d.wake_word not in self.names:
                continue
            stream.detections += 1
            timestamp = stream.start_ms + round(d.detected_at * 1000)
            log.info("%s: detected %s at %.2f s of the stream (score %.2f)", self.peer, d.wake_word, d.detected_at, d.score)
            await self._send(Detection(name=d.wake_word, timestamp=timestamp).event())

    async def _stop(self) -> None:
        if self.stream is None:
            log.info("%s: audio-stop without a stream; answering not-detected", self.peer)
        if self.stream is None or not self.stream.detections:
            await self._send(NotDetected().event())
        self.stream = None

    # ---- writing -----------------------------------------------------------------------------------------
    async def _send(self, event: Event) -> None:
        try:
            await asyncio.wait_for(async_write_event(event, self.writer), WRITE_TIMEOUT_S)
        except asyncio.TimeoutError:
            self._abort = True
            raise _Close(f"reads too slowly ({event.type} not taken within {WRITE_TIMEOUT_S:g} s)") from None

    async def _try_send(self, event: Event) -> None:
        """Best effort, for the `error` event before closing: a client that is gone or not reading just misses it."""
        try:
            await asyncio.wait_for(async_write_event(event, self.writer), 1.0)
        except (asyncio.TimeoutError, ConnectionError):
            self._abort = True
