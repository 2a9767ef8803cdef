"""`wakeword serve`: a real server process, spoken to with the wyoming package's own clients (issue 19).

Home Assistant's side of the conversation is describe → info, then detect, audio-start, audio-chunk..., audio-stop
and a detection or not-detected. Every bad input gets its own client, and after each one a good client must still
get its detection from the same server.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient, AsyncTcpClient, AsyncUnixClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.wake import Detect, Detection

from wakeword.testing import free_port

REPO = Path(__file__).resolve().parent.parent
CMD = [sys.executable, "-m", "wakeword", "serve"]
READ_S = 30.0  # per event: generous, the machine is shared
WINDOW_S = 0.6  # a detection's timestamp falls within this after the phrase ends


class Server:
    """`wakeword serve ARGS` in its own process, its log in a file (one line per event, checked by the tests)."""

    def __init__(self, tmp: Path, *args: str, ready: str = "serving ", env: dict | None = None,
                 prefix: tuple[str, ...] = ()) -> None:
        self.log_path = tmp / f"serve-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([*prefix, *CMD, *args], cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._log, env=env)
        self.wait_log(ready, 60)

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_log(self, pattern: str, timeout: float = 15.0, start: int = 0) -> str:
        """The first log line after offset `start` that contains `pattern`."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log()[start:].splitlines():
                if pattern in line:
                    return line
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.log()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line with {pattern!r} in {timeout} s: {self.log()[start:][-2000:]}")
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    srv = Server(tmp_path_factory.mktemp("wyoming"), "--uri", f"tcp://127.0.0.1:{port}")
    srv.port = port
    yield srv
    assert os.readlink(f"/proc/{srv.proc.pid}/fd/2") == str(srv.log_path)  # its log still goes to the file
    assert srv.stop() == 0
    assert "Traceback" not in srv.log()


def pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


async def read(client: AsyncClient, timeout: float = READ_S) -> Event:
    event = await asyncio.wait_for(client.read_event(), timeout)
    assert event is not None, "the server closed the connection"
    return event


async def stream(client: AsyncClient, data: bytes, rate: int = 16000, width: int = 2, channels: int = 1,
                 chunk_bytes: int | None = None, realtime: float | None = None, start: bool = True) -> None:
    """audio-start, 20 ms chunks (or `chunk_bytes`) with millisecond timestamps, audio-stop; paced at `realtime` x."""
    frame = width * channels
    step = chunk_bytes or rate // 50 * frame
    if start:
        await client.write_event(AudioStart(rate=rate, width=width, channels=channels, timestamp=0).event())
    for i in range(0, len(data), step):
        ms = round(i / frame / rate * 1000)
        await client.write_event(AudioChunk(rate=rate, width=width, channels=channels, audio=data[i:i + step],
                                            timestamp=ms).event())
        if realtime:
            await asyncio.sleep(step / frame / rate / realtime)
    await client.write_event(AudioStop(timestamp=round(len(data) / frame / rate * 1000)).event())


async def answers(client: AsyncClient) -> list[Event]:
    """Every event the server sent for the stream just stopped: read up to the pong that answers a ping sent now, so
    'nothing else' is checked without waiting for a timeout."""
    await client.write_event(Ping(text="end").event())
    got = []
    while not Pong.is_type((event := await read(client)).type):
        got.append(event)
    assert Pong.from_event(event).text == "end"
    return got


def detections(events: list[Event]) -> list[Detection]:
    return [Detection.from_event(e) for e in events if Detection.is_type(e.type)]


def assert_detected(events: list[Event], end_s: float, name: str = "hey_ssafy") -> Detection:
    """Exactly one event, a detection of `name` whose timestamp (ms) is within WINDOW_S after `end_s`."""
    assert [e.type for e in events] == ["detection"], events
    d = detections(events)[0]
    assert d.name == name
    assert d.timestamp is not None and end_s * 1000 <= d.timestamp <= (end_s + WINDOW_S) * 1000, (d.timestamp, end_s)
    return d


async def good_client(port: int, phrase, client: AsyncClient | None = None) -> None:
    """A well-behaved client: describe answered, the phrase detected."""
    async with client or AsyncTcpClient("127.0.0.1", port) as c:
        await c.write_event(Describe().event())
        assert Info.is_type((await read(c)).type)
        await c.write_event(Detect(names=["hey_ssafy"]).event())
        await stream(c, pcm16(phrase[2]))
        assert_detected(await answers(c), phrase[1])


# ---- the protocol ---------------------------------------------------------------------------------------------
def test_describe_lists_every_model_as_installed(server):
    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            t0 = time.monotonic()
            await c.write_event(Describe().event())
            event = await read(c)
            return event, time.monotonic() - t0

    event, took = asyncio.run(go())
    assert took < 1.0  # Home Assistant gives describe about a second
    info = Info.from_event(event)
    assert len(info.wake) == 1 and info.asr == [] and info.wake[0].installed
    models = {m.name: m for m in info.wake[0].models}
    assert set(models) == {"hey_ssafy", "alexa"}
    assert models["hey_ssafy"].phrase == "Hey SSAFY" and models["alexa"].phrase == "Alexa"
    for m in models.values():
        assert m.installed is True and m.languages == ["en"] and m.version == "1.0.0"
        assert m.description and m.attribution.name


def test_phrase_at_16k_in_20ms_chunks_gives_one_detection(server, phrase):
    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            await c.write_event(Detect(names=["hey_ssafy", "alexa"]).event())
            await stream(c, pcm16(phrase[2]))
            return await answers(c)

    assert_detected(asyncio.run(go()), phrase[1])  # and no not-detected after audio-stop


def test_48k_stereo_int16_is_converted(server, phrase):
    hi = resample_poly(phrase[2], 3, 1)
    stereo = np.stack([hi, 0.5 * hi], axis=1)

    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            await stream(c, pcm16(stereo), rate=48000, channels=2)
            return await answers(c)

    assert_detected(asyncio.run(go()), phrase[1])


def test_22050_hz_24_bit_in_chunks_that_split_frames(server, phrase):
    audio = resample_poly(phrase[2], 441, 320)
    ints = (np.clip(audio, -1, 1) * (2**23 - 1)).astype("<i4")
    data = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()  # little-endian 24-bit

    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            await stream(c, data, rate=22050, width=3, chunk_bytes=1000)  # 1000 is no multiple of 3
            return await answers(c)

    assert_detected(asyncio.run(go()), phrase[1])


def test_whole_phrase_in_one_chunk_goes_through_a_worker_thread(server, phrase):
    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            data = pcm16(phrase[2])
            await stream(c, data, chunk_bytes=len(data))  # 5.5 s in one chunk: above INLINE_S
            return await answers(c)

    assert_detected(asyncio.run(go()), phrase[1])


def test_negative_gives_not_detected_after_audio_stop(server, negative):
    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            await stream(c, pcm16(negative[1]))
            return await answers(c)

    assert [e.type for e in asyncio.run(go())] == ["not-detected"]


def test_names_filter_and_a_new_audio_start_resets_the_stream(server, phrase):
    _, end, audio = phrase
    cut = int((end - 0.35) * 16000)  # the phrase without its last syllable

    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            await c.write_event(Detect(names=["alexa"]).event())
            await stream(c, pcm16(audio))
            only_alexa = await answers(c)
            await c.write_event(Detect(names=None).event())
            await stream(c, pcm16(audio[:cut]))  # audio-start ... audio-stop: the phrase cut short
            cut_short = await answers(c)
            await stream(c, pcm16(audio))  # a fresh stream: its clock starts again at 0
            again = await answers(c)
            await stream(c, pcm16(audio))
            return only_alexa, cut_short, again, await answers(c)

    only_alexa, cut_short, again, third = asyncio.run(go())
    assert [e.type for e in only_alexa] == ["not-detected"]
    assert [e.type for e in cut_short] == ["not-detected"]
    assert_detected(again, end)
    assert_detected(third, end)


def test_four_clients_at_once_each_get_their_own_events(server, phrase, negative):
    _, end, audio = phrase
    offsets = [0.0, 0.7, 1.4]  # seconds of leading noise cut: timestamps 0.7 s apart, more than the window

    async def one(cut: float | None):
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            data = pcm16(negative[1] if cut is None else audio[int(cut * 16000):])
            await stream(c, data, realtime=4.0)
            return await answers(c)

    async def describe_while_busy() -> float:
        await asyncio.sleep(0.5)
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            t0 = time.monotonic()
            await c.write_event(Describe().event())
            assert Info.is_type((await read(c)).type)
            return time.monotonic() - t0

    async def go():
        return await asyncio.gather(*(one(cut) for cut in [*offsets, None]), describe_while_busy())

    mark = len(server.log())
    *results, took = asyncio.run(go())
    for cut, events in zip(offsets, results):
        assert_detected(events, end - cut)
    assert [e.type for e in results[3]] == ["not-detected"]
    assert took < 1.0
    server.wait_log("detected hey_ssafy at 2.", start=mark)  # the log survives engines built for clients at once
    assert server.log()[mark:].count("detected hey_ssafy") == 3


def test_audio_chunk_before_audio_start_starts_a_stream(server, phrase):
    mark = len(server.log())

    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            await stream(c, pcm16(phrase[2]), start=False)
            return await answers(c)

    assert_detected(asyncio.run(go()), phrase[1])
    assert "audio-chunk before audio-start" in server.wait_log("audio-chunk before", start=mark)
    asyncio.run(good_client(server.port, phrase))


def test_chunks_at_another_rate_than_their_stream_are_dropped(server, phrase):
    mark = len(server.log())
    hi = pcm16(resample_poly(phrase[2], 3, 1))

    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            await c.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            for i in range(0, len(hi), 1920):  # the phrase at 48 kHz in a 16 kHz stream: dropped, not misread
                await c.write_event(AudioChunk(rate=48000, width=2, channels=1, audio=hi[i:i + 1920]).event())
            await c.write_event(AudioStop().event())
            return await answers(c)

    assert [e.type for e in asyncio.run(go())] == ["not-detected"]
    server.wait_log("audio-chunk at 48000 Hz in a 16000 Hz stream; dropping such chunks until the next audio-start",
                    start=mark)
    assert server.log()[mark:].count("48000 Hz") == 1


def test_unknown_event_types_are_ignored_and_logged_once(server, phrase):
    mark = len(server.log())

    async def go():
        async with AsyncTcpClient("127.0.0.1", server.port) as c:
            for _ in range(3):
                await c.write_event(Event(type="frobnicate", data={"x": 1}, payload=b"abc"))
            await c.write_event(Describe().event())
            return await read(c)

    assert Info.is_type(asyncio.run(go()).type)
    server.wait_log("ignoring event type 'frobnicate'", start=mark)
    assert server.log()[mark:].count("frobnicate") == 1
    asyncio.run(good_client(server.port, phrase))


# ---- bad clients: each closes only its own connection, in one log line ---------------------------------------------
def header(kind: str, **fields) -> bytes:
    return json.dumps({"type": kind, **fields}).encode() + b"\n"


AUDIO_START = header("audio-start", data={"rate": 16000, "width": 2, "channels": 1})
CHUNK_640 = header("audio-chunk", data={"rate": 16000, "width": 2, "channels": 1}, payload_length=640)

BAD = {  # name: (bytes the client sends, what the server's one log line says)
    "malformed JSON": (b"{not json\n", "header is not JSON"),
    "header not an object": (b"[1, 2]\n", "header is not a JSON object with a string 'type'"),
    "header without a type": (b'{"data": {}}\n', "header is not a JSON object with a string 'type'"),
    "absurd payload_length": (AUDIO_START + header("audio-chunk", data={"rate": 16000, "width": 2, "channels": 1},
                                                   payload_length=10**12),
                              "payload_length 1000000000000 is above the 1048576-byte limit"),
    "data_length over 1 MiB": (header("describe", data_length=(1 << 20) + 1), "data_length 1048577 is above"),
    "negative payload_length": (header("audio-chunk", payload_length=-5), "payload_length -5 is not a byte count"),
    "payload larger than declared": (AUDIO_START + CHUNK_640 + b"\x01\x02" * 640 + header("audio-stop"),
                                     "header is not JSON"),
    "data that is not JSON": (header("describe", data_length=5) + b"nope!", "data are not JSON"),
    "header line without end": (b"a" * 100_000, "header line longer than 65536 bytes"),
    "width 5": (header("audio-start", data={"rate": 16000, "width": 5, "channels": 1}), "width 5 is not supported"),
    "rate 0": (header("audio-chunk", data={"rate": 0, "width": 2, "channels": 1}, payload_length=2) + b"\0\0",
               "rate 0 Hz is not supported"),
    "odd rate": (header("audio-start", data={"rate": 15999, "width": 2, "channels": 1}), "rate 15999 Hz is not supported"),
    "rate as text": (header("audio-start", data={"rate": "16000", "width": 2, "channels": 1}),
                     "rate must be an integer (got rate='16000')"),
    "no channels": (header("audio-start", data={"rate": 16000, "width": 2, "channels": 0}), "channels 0 is not between"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_closes_only_that_client(server, phrase, name):
    sent, said = BAD[name]
    mark = len(server.log())

    async def bad_client():
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(sent)
        await writer.drain()
        got = []
        while (event := await asyncio.wait_for(async_read_event(reader), READ_S)) is not None:
            got.append(event)
        writer.close()
        return got

    got = asyncio.run(bad_client())  # returns once the server has closed the connection
    assert [e.type for e in got] == ["error"]  # saying why, then closed
    assert said in Error.from_event(got[0]).text
    line = server.wait_log(said, start=mark)
    assert "closing the connection" in line
    assert "Traceback" not in server.log()[mark:]
    asyncio.run(good_client(server.port, phrase))


@pytest.mark.parametrize("where", ["mid-event", "mid-stream"])
def test_client_that_hangs_up_mid_stream(server, phrase, where):
    mark = len(server.log())

    async def go():
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(AUDIO_START + (CHUNK_640 + bytes(640)) * 10 + (CHUNK_640 + bytes(100) if where == "mid-event" else b""))
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()

    asyncio.run(go())
    said = {"mid-event": "disconnected in the middle of an event", "mid-stream": "disconnected mid-stream (0.2 s"}[where]
    server.wait_log(said, start=mark)
    asyncio.run(good_client(server.port, phrase))


def test_client_that_does_not_read_is_closed_and_others_are_served(server, phrase):
    """It asks for `info` again and again and never reads: once a write has waited 5 s, the server drops it."""
    mark = len(server.log())
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", server.port))
    slow.settimeout(5.0)
    # What the kernel may buffer between us (its send buffer, the server's receive buffer, autotuned up to these
    # maxima): sending twice that is only possible if the server keeps reading.
    budget = 2 * sum(int(Path(f"/proc/sys/net/ipv4/tcp_{kind}").read_text().split()[2]) for kind in ("rmem", "wmem"))
    sent = 0

    def flood():
        nonlocal sent
        batch = header("describe") * 1000
        try:
            while sent < budget:  # until the server stops reading (its writes to us are stuck)
                slow.sendall(batch)
                sent += len(batch)
        except OSError:  # socket.timeout, or a reset once the server has closed us
            pass

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    flooder.join(60)
    assert not flooder.is_alive() and sent < budget  # the server stopped reading: it does not buffer for us
    asyncio.run(good_client(server.port, phrase))  # served meanwhile
    line = server.wait_log("reads too slowly", timeout=30, start=mark)
    assert "closing the connection" in line
    slow.settimeout(10)
    try:
        while slow.recv(1 << 16):  # what was in flight, then the reset (or EOF) of the aborted connection
            pass
    except ConnectionResetError:
        pass  # socket.timeout, raised if the connection were still open, fails the test
    slow.close()
    asyncio.run(good_client(server.port, phrase))


# ---- unix socket, config, signals, zeroconf, command-line errors ----------------------------------------------------
def test_unix_socket_from_the_config_file_and_sigterm(tmp_path, phrase):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("models: [hey_ssafy]\nlogging: {level: INFO}\nwyoming:\n  uri: unix://wy.sock\n")
    sock = tmp_path / "wy.sock"  # relative to the config file's directory
    srv = Server(tmp_path, "--config", str(cfg))
    try:
        assert sock.exists()

        async def go():
            async with AsyncUnixClient(str(sock)) as c:
                await c.write_event(Describe().event())
                info = Info.from_event(await read(c))
            await good_client(0, phrase, AsyncUnixClient(str(sock)))
            return info

        info = asyncio.run(go())
        assert [m.name for m in info.wake[0].models] == ["hey_ssafy"]  # models: from the config
        second = subprocess.run(CMD + ["--config", str(cfg)], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and second.stderr == f"wakeword: error: cannot listen on unix://{sock}: address in use\n"
        t0 = time.monotonic()
        assert srv.stop() == 0 and time.monotonic() - t0 < 5
        assert not sock.exists() and "Traceback" not in srv.log()
    finally:
        srv.stop()


def test_systemd_ready_once_listening_watchdog_and_stopping(tmp_path):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(10)
    port = free_port()
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify.sock"), WATCHDOG_USEC="1000000")
    srv = Server(tmp_path, "--uri", f"tcp://127.0.0.1:{port}", env=env)
    try:
        messages = notify.recv(1024).decode().splitlines()
        assert messages[0] == "READY=1" and messages[1] == f"STATUS=serving on tcp://127.0.0.1:{port}"
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # READY came once it listens
        assert notify.recv(1024) == b"WATCHDOG=1" and notify.recv(1024) == b"WATCHDOG=1"  # every 0.5 s
        assert srv.stop() == 0
        while (message := notify.recv(1024)) == b"WATCHDOG=1":
            pass
        assert message == b"STOPPING=1"
    finally:
        srv.stop()
        notify.close()


@pytest.mark.parametrize("args,said", [
    (["--uri", "tcp://127.0.0.1"], "--uri 'tcp://127.0.0.1' needs a port between 1 and 65535"),
    (["--uri", "tcp://127.0.0.1:99999"], "needs a port between 1 and 65535"),
    (["--uri", "http://127.0.0.1:10400"], "scheme 'http' is not supported; use tcp://HOST:PORT or unix://PATH"),
    (["--uri", "10400"], "'10400' is not a listening address"),
    (["--uri", "unix:///tmp/x.sock", "--zeroconf"], "zeroconf announces a TCP port; it needs a tcp:// URI"),
    (["--zeroconf", "my.host"], "--zeroconf 'my.host': the name to announce must be 1-63 bytes without dots"),
    (["--uri", "tcp://no-such-host.invalid:10400"], "cannot listen on tcp://no-such-host.invalid:10400: unknown host"),
    (["--model", "nope"], "unknown model 'nope'"),
])
def test_bad_command_line_is_one_line_and_exit_1(args, said):
    r = subprocess.run(CMD + args, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("wakeword: error: ") and said in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


def test_port_in_use_and_a_file_in_the_way_are_one_line_errors(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run(CMD + ["--uri", f"tcp://127.0.0.1:{port}"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr == f"wakeword: error: cannot listen on tcp://127.0.0.1:{port}: address in use\n"
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    r = subprocess.run(CMD + ["--uri", f"unix://{precious}"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "exists and is not a socket" in r.stderr and precious.read_text() == "keep me"


def test_zeroconf_announces_the_service_until_stopped(tmp_path):
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    port, name = free_port(), f"wakeword-test-{os.getpid()}"
    srv = Server(tmp_path, "--uri", f"tcp://0.0.0.0:{port}", "--zeroconf", name)

    async def lookup(timeout_ms: int) -> AsyncServiceInfo | None:
        zc = AsyncZeroconf()  # a fresh instance: nothing cached from an earlier lookup
        try:
            info = AsyncServiceInfo("_wyoming._tcp.local.", f"{name}._wyoming._tcp.local.")
            return info if await info.async_request(zc.zeroconf, timeout_ms) else None
        finally:
            await zc.async_close()

    try:
        assert f"announced over zeroconf as {name}._wyoming._tcp.local." in srv.wait_log("announced over zeroconf")
        info = asyncio.run(lookup(10_000))
        assert info is not None and info.port == port and info.parsed_addresses()
        assert srv.stop() == 0
        assert re.search(r"INFO wakeword.serve: stopped", srv.log())
        assert asyncio.run(lookup(2_000)) is None  # withdrawn at exit
    finally:
        srv.stop()


def test_serves_under_its_units_syscall_filter(tmp_path, phrase):
    """The unit's seccomp filter (tests/unit_filter.py applies it as systemd would) lets the server run."""
    port = free_port()
    unit = REPO / "systemd" / "wakeword-wyoming.service"
    unit_filter = (sys.executable, str(REPO / "tests" / "unit_filter.py"), str(unit), "--")
    srv = Server(tmp_path, "--uri", f"tcp://127.0.0.1:{port}", prefix=unit_filter)
    try:
        asyncio.run(good_client(port, phrase))
    finally:
        assert srv.stop() == 0
