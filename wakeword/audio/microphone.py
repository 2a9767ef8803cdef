"""Live capture with sounddevice (PortAudio).

PortAudio's callback only copies samples into a preallocated ring buffer, counts overflows and decides
whether to wake the processing thread, which drains the buffer. Resampling and channel mixing happen in
the engine, off the audio thread, so the device can run at its native rate (44.1/48 kHz mics work).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import numpy as np

from .. import threads
from ..errors import AudioError
from .quiet import QuietGate, level

log = logging.getLogger("wakeword.audio")
BLOCK_S = 0.1  # benchmarks/live.py: 100 ms blocks meet the latency target at about half the wake-ups of 50 ms
IDLE_S = 1.0  # read interval while the room is quiet (quiet.py); a louder block is read at once whatever it is
SILENCE_S = 5.0  # only exact zeros for this long: the source is gone (see Microphone); a few reads at IDLE_S

NO_MIC_HELP = ("no microphone found (no audio input device). To run on a file instead: "
               "`wakeword detect recording.wav` or `wakeword run --input recording.wav`; "
               "or pipe audio: `arecord -f S16_LE -r 16000 -c 1 | wakeword run --input -`")


def _sd():
    try:
        import sounddevice
    except OSError:
        raise AudioError("PortAudio library not found: install it (`apt-get install libportaudio2`), "
                         "or run on a file: `wakeword detect recording.wav`") from None
    return sounddevice


def list_input_devices() -> list[dict]:
    sd = _sd()
    default_in = sd.default.device[0]
    return [{"index": i, "name": d["name"], "channels": d["max_input_channels"], "default_samplerate": d["default_samplerate"],
             "default": i == default_in} for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]


class RingBuffer:
    """Single-producer single-consumer ring of int16 frames; the writer never blocks or allocates."""

    def __init__(self, capacity: int, channels: int) -> None:
        self._buf = np.zeros((capacity, channels), np.int16)
        self._write = 0  # total frames written
        self._read = 0  # total frames read
        self.overflows = 0  # frames dropped because the reader fell behind
        self._ready = threading.Event()

    def write(self, frames: np.ndarray) -> None:
        """Copy frames in; the reader is not woken (`notify` does that)."""
        cap = len(self._buf)
        free = cap - (self._write - self._read)
        if len(frames) > free:
            self.overflows += len(frames) - free
            frames = frames[:free]
        n = len(frames)
        start = self._write % cap
        first = min(n, cap - start)
        self._buf[start:start + first] = frames[:first]
        self._buf[: n - first] = frames[first:]
        self._write += n

    def notify(self) -> None:
        """Wake a reader waiting in `read`."""
        self._ready.set()

    def read(self, timeout: float) -> np.ndarray | None:
        """All frames available once notified or after `timeout`, whichever comes first; None if there are none."""
        self._ready.wait(timeout)
        self._ready.clear()  # frames written before a notify that lands from here on are read now, later ones next time
        cap = len(self._buf)
        n = self._write - self._read
        if n == 0:
            return None
        start = self._read % cap
        first = min(n, cap - start)
        out = np.concatenate([self._buf[start:start + first], self._buf[: n - first]])
        self._read += n
        return out


class Microphone:
    """An audio source for `Engine.start()`: yields int16 chunks (frames, channels) at the device rate.

    The processing thread is woken for every block, except in a quiet room (quiet.QuietGate): then PortAudio's
    callback wakes it only for a block louder than the gate's level, and otherwise it reads every `idle_s`.
    A microphone that vanishes (stream error, or no audio for `stall_s`) is reopened with backoff
    (0.5 s doubling to 10 s), re-initialising PortAudio so a re-plugged device or a restarted audio server is
    seen again; `on_state(False/True)` reports the outage (the daemon turns it into MQTT availability), and the
    log says so once per outage.

    Under PulseAudio or PipeWire a removed source is no stream error: the sound server moves the stream to its
    fallback source and audio keeps coming. What comes is then, typically, digital silence (a null source, the
    monitor of an idle sink), which no real microphone delivers: its noise floor always flips a bit. So a stream
    that delivers only exact zeros for `silence_s` (0: off) is lost too. The silent stream keeps being read (a
    muted or noise-gated microphone loses only the moment of each reopen) and is reopened every max(`silence_s`, backoff),
    because the sound server does not move it back when the source returns, while a new stream goes to the
    default source; only audio that is not all zeros brings the microphone back. A fallback to a live source
    (another microphone) is not seen: the daemon then hears that source.
    """

    def __init__(self, device: str | int | None = None, sample_rate: int | None = None, channels: int | None = None,
                 buffer_seconds: float = 10.0, stall_s: float = 2.0, on_state=None, block_s: float = BLOCK_S,
                 idle_s: float = IDLE_S, silence_s: float = SILENCE_S) -> None:
        sd = _sd()
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        self.device = device
        info = self._query(sd)
        self.name = info["name"]
        self.channels = channels or min(int(info["max_input_channels"]), 2) or 1
        self.sample_rate = int(sample_rate or (16000 if self._supports(sd, 16000) else info["default_samplerate"]))
        self.ring = RingBuffer(int(buffer_seconds * self.sample_rate), self.channels)
        self.stall_s = stall_s
        self.silence_s = silence_s
        self.block_s = block_s
        self.idle_s = idle_s
        self.quiet = QuietGate(self.sample_rate) if idle_s > block_s else None  # None: a read per block always
        self._wake_level: float | None = None  # set while quiet: the callback wakes the reader only above this level
        self.on_state = on_state
        self.status_flags = 0  # PortAudio callback status flags seen (input overflow etc.)
        self.reopens = 0
        self.available: bool | None = None  # last state reported to on_state (None: none yet)
        self._lost_to_silence = False  # this outage began with digital silence: only sound ends it
        self._closed = threading.Event()

    def _query(self, sd) -> dict:
        try:
            return sd.query_devices(self.device, "input")
        except (ValueError, sd.PortAudioError):
            if self.device is None:
                raise AudioError(NO_MIC_HELP) from None
            raise AudioError(f"input device {self.device!r} not found; `wakeword devices` lists them") from None

    def _supports(self, sd, rate: int) -> bool:
        try:
            sd.check_input_settings(device=self.device, samplerate=rate, channels=self.channels, dtype="int16")
            return True
        except Exception:
            return False

    def _callback(self, indata, frames, time_info, status) -> None:
        """PortAudio thread: copy the block, then wake the reader unless the room is quiet and the block is too.
        The level is two passes over one block (microseconds); a wake-up of the reader costs ~1 ms."""
        if status:
            self.status_flags += 1
        self.ring.write(indata)
        wake_level = self._wake_level
        if wake_level is None or level(indata) > wake_level:
            self.ring.notify()

    def close(self) -> None:
        self._closed.set()
        self.ring.notify()

    def _state(self, ok: bool) -> None:
        """Report a change of state (and only a change) to on_state."""
        if ok == self.available:
            return
        if ok and self.available is False:
            log.info("microphone %r delivers audio again", self.name)
        self.available = ok
        if self.on_state is not None:
            self.on_state(ok)

    def __iter__(self) -> Iterator[np.ndarray]:
        sd = _sd()
        backoff = 0.5
        while not self._closed.is_set():
            try:
                # Each block is one wake-up of the processing thread, and a wake-up costs far more than the audio
                # in it (cold caches), so the block size trades CPU against latency: audio reaches the engine
                # about one block after it was spoken (benchmarks/live.py).
                stream = sd.InputStream(device=self.device, samplerate=self.sample_rate, channels=self.channels,
                                        dtype="int16", callback=self._callback,
                                        blocksize=max(1, int(self.sample_rate * self.block_s)))
                own_name = threads.os_name()
                threads.set_os_name("ww-portaudio")  # PortAudio's callback thread, started here, takes this name
                try:
                    stream.start()
                except BaseException:
                    stream.close()
                    raise
                finally:
                    threads.set_os_name(own_name)
                with stream:
                    last = sound = time.monotonic()  # the last chunk; the last one not all zeros
                    while not self._closed.is_set():
                        chunk = self.ring.read(timeout=self.idle_s if self._wake_level is not None else 0.25)
                        if self._closed.is_set():
                            break
                        now = time.monotonic()
                        if chunk is not None and len(chunk):
                            last = now
                            heard = not self.silence_s or bool(chunk.any())  # a bit set: not digital silence
                            if heard:
                                sound = now
                            if self.available is not True and (heard or not self._lost_to_silence):
                                self._state(True)
                                backoff = 0.5
                            elif self.silence_s and now - sound >= max(self.silence_s, 0 if self.available else backoff):
                                raise _Silent(f"only digital silence (exact zeros) for {now - sound:.0f} s: "
                                              "the source was removed or muted")
                            if self.quiet is not None:
                                self._wake_level = self.quiet.wake_level if self.quiet.update(chunk) else None
                            yield chunk
                        elif not stream.active or now - last > self.stall_s:
                            raise _Lost("the input stream stopped delivering audio")
            except (_Lost, sd.PortAudioError) as e:
                if self._closed.is_set():
                    break
                if self.available is not False:  # one line per outage, not per attempt
                    log.warning("microphone %r lost (%s); reopening with backoff until it delivers audio", self.name, e)
                    self._lost_to_silence = isinstance(e, _Silent)
                    self._state(False)
                else:
                    log.debug("microphone %r still lost (%s); reopening", self.name, e)
                # a silent stream was read all along: its silence was the wait
                if not isinstance(e, _Silent) and self._closed.wait(backoff):
                    break
                backoff = min(backoff * 2, 10.0)
                self.reopens += 1
                try:  # rescan devices: a re-plugged mic or a restarted audio server is only seen after re-init
                    sd._terminate()
                    sd._initialize()
                except Exception:
                    pass


class _Lost(Exception):
    pass


class _Silent(_Lost):
    """The stream delivers only exact zeros: under a sound server, the fallback source of a removed one."""
