"""Reading Wyoming events from a client we do not trust, and turning their audio into samples.

The wyoming package's `async_read_event` trusts the header: it reads whatever `data_length`/`payload_length`
declare (a client claiming 10 GB makes the server buffer until memory runs out), and a header that is valid JSON
but not an object, or lacks a type, raises AttributeError/KeyError out of the handler. `read_event` here keeps
the same wire format (a JSON header line, then `data_length` bytes of JSON merged into `data`, then
`payload_length` bytes of payload) and bounds it: the header line by the stream reader's limit (HEADER_LIMIT) and
each declared length by `MAX_BODY`. Anything else is a `ProtocolError`, a one-line reason: after a
framing error the rest of the byte stream cannot be trusted, so the caller closes that one connection.

Audio formats are checked the same way before the engine sees them: a chunk carries its own rate, width and
channel count (wyoming's AudioChunk), and `pcm_samples` turns its bytes into the integer array that the engine
converts like any other source (to_mono_float, StreamingResampler).
"""
from __future__ import annotations

import asyncio
import json
from math import gcd
from typing import Any

import numpy as np
from wyoming.event import Event

HEADER_LIMIT = 1 << 16  # bytes in a header line: asyncio's default StreamReader limit, which wyoming's servers keep
MAX_BODY = 1 << 20  # bytes, per declared data or payload: 1 MiB is 32 s of 16 kHz 16-bit mono, 2.7 s of 48 kHz 32-bit stereo
RATES = (8000, 192000)  # Hz
MAX_RESAMPLE_RATIO = 4000  # largest up or down factor against 16 kHz (44.1 kHz: 160/441, 11.025 kHz: 640/441)
MAX_CHANNELS = 32
WIDTHS = {1: "8-bit unsigned", 2: "16-bit", 3: "24-bit", 4: "32-bit"}  # signed little-endian PCM, as wyoming sends


class ProtocolError(Exception):
    """The client broke the framing or sent an unusable value; the message is one line, for the log and the client."""


async def read_event(reader: asyncio.StreamReader) -> Event | None:
    """The next event, or None at a clean end of stream (EOF between events).

    Raises ProtocolError for a header that is not a JSON object with a string `type`, a declared length that is not
    a byte count or is above MAX_BODY, or extra data that is not a JSON object; asyncio.IncompleteReadError when
    the client hangs up inside an event."""
    try:
        line = await reader.readline()
    except ValueError:  # asyncio's LimitOverrunError, re-raised by readline as ValueError
        raise ProtocolError(f"header line longer than {HEADER_LIMIT} bytes") from None
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise asyncio.IncompleteReadError(line, None)
    try:
        header = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(f"header is not JSON: {_shown(line)}") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError(f"header is not a JSON object with a string 'type': {_shown(line)}")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError(f"{header['type']}: 'data' is not a JSON object")
    data_length, payload_length = _length(header, "data_length"), _length(header, "payload_length")
    if data_length:
        raw = await reader.readexactly(data_length)
        try:
            extra = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(f"{header['type']}: its {data_length} bytes of data are not JSON") from None
        if not isinstance(extra, dict):
            raise ProtocolError(f"{header['type']}: its data is not a JSON object")
        data = {**data, **extra}
    payload = await reader.readexactly(payload_length) if payload_length else None
    return Event(type=header["type"], data=data, payload=payload)


def _length(header: dict[str, Any], key: str) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"{header['type']}: {key} {value!r} is not a byte count")
    if value > MAX_BODY:
        raise ProtocolError(f"{header['type']}: {key} {value} is above the {MAX_BODY}-byte limit")
    return value


def _shown(line: bytes, n: int = 60) -> str:
    """The start of a bad header for the log line: at most `n` characters, control bytes escaped."""
    shown = repr(line[:n].rstrip(b"\n").decode("utf-8", "replace"))
    return shown if len(shown) <= n and len(line) <= n else shown[:n - 3] + "..."


def format_problem(kind: str, data: dict[str, Any]) -> str | None:
    """Why the `rate`/`width`/`channels` of an audio-start or audio-chunk are unusable, or None when they are fine."""
    values = {k: data.get(k) for k in ("rate", "width", "channels")}
    bad = [k for k, v in values.items() if not isinstance(v, int) or isinstance(v, bool)]
    if bad:
        what = "an integer" if len(bad) == 1 else "integers"
        return f"{kind}: {', '.join(bad)} must be {what} (got {', '.join(f'{k}={values[k]!r}' for k in bad)})"
    rate, width, channels = int(data["rate"]), int(data["width"]), int(data["channels"])
    if width not in WIDTHS:
        return f"{kind}: width {width} is not supported; use 1, 2, 3 or 4 bytes per sample"
    if not 1 <= channels <= MAX_CHANNELS:
        return f"{kind}: channels {channels} is not between 1 and {MAX_CHANNELS}"
    g = gcd(rate, 16000) if rate > 0 else 1
    if not RATES[0] <= rate <= RATES[1] or max(rate // g, 16000 // g) > MAX_RESAMPLE_RATIO:
        return f"{kind}: rate {rate} Hz is not supported; use a standard rate between {RATES[0]} and {RATES[1]} Hz"
    return None


def pcm_samples(audio: bytes, width: int, channels: int) -> np.ndarray:
    """Little-endian PCM bytes (whole frames) → (frames, channels) integers: uint8, int16, or int32 (24-bit widened
    into the top bytes, as the WAV reader does), which to_float32 scales by type."""
    a: np.ndarray
    if width == 1:
        a = np.frombuffer(audio, np.uint8)
    elif width == 2:
        a = np.frombuffer(audio, "<i2").astype(np.int16, copy=False)  # native order: to_float32 dispatches on int16
    elif width == 3:
        b = np.frombuffer(audio, np.uint8).reshape(-1, 3).astype(np.int32)
        a = (b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)
    else:
        a = np.frombuffer(audio, "<i4").astype(np.int32, copy=False)
    return a.reshape(-1, channels)
