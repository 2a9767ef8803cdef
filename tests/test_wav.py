import struct

import numpy as np
import pytest
from scipy.io import wavfile

from wakeword.audio.wav import read_wav
from wakeword.errors import AudioError

SIG = (0.5 * np.sin(np.arange(1600) / 5)).astype(np.float32)


def pcm24(path, x, rate=16000, channels=1):
    v = (np.clip(x, -1, 1) * (2**23 - 1)).astype(np.int32).reshape(-1)
    b = np.stack([(v & 0xFF), (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
    hdr = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(b), b"WAVE", b"fmt ", 16, 1, channels, rate,
                      rate * 3 * channels, 3 * channels, 24, b"data", len(b))
    path.write_bytes(hdr + b)


def extensible16(path, x, rate=16000):
    b = (x * 32767).astype("<i2").tobytes()
    guid = struct.pack("<H", 1) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, rate, rate * 2, 2, 16, 22, 16, 4) + guid
    path.write_bytes(struct.pack("<4sI4s", b"RIFF", 4 + 8 + len(fmt) + 8 + len(b), b"WAVE") +
                     struct.pack("<4sI", b"fmt ", len(fmt)) + fmt + struct.pack("<4sI", b"data", len(b)) + b)


@pytest.mark.parametrize("kind,tol", [("uint8", 1 / 64), ("int16", 1e-4), ("int24", 1e-6), ("int32", 1e-6),
                                      ("float32", 0), ("float64", 1e-7), ("extensible", 1e-4)])
def test_formats_decode_to_the_same_signal(tmp_path, kind, tol):
    p = tmp_path / f"{kind}.wav"
    if kind == "int24":
        pcm24(p, SIG)
    elif kind == "extensible":
        extensible16(p, SIG)
    else:
        scale = {"uint8": None, "int16": 32767, "int32": 2**31 - 1}.get(kind)
        data = ((SIG * 127) + 128).astype(np.uint8) if kind == "uint8" else \
            (SIG * scale).astype(kind) if scale else SIG.astype(kind)
        wavfile.write(p, 16000, data)
    w = read_wav(p)
    assert w.sample_rate == 16000 and w.channels == 1
    assert np.abs(w.samples - SIG).max() <= tol + 1e-7


def test_stereo_is_mixed_and_rate_reported(tmp_path):
    p = tmp_path / "st.wav"
    wavfile.write(p, 44100, np.stack([SIG, -SIG * 0 + 0.1], axis=1))
    w = read_wav(p)
    assert w.sample_rate == 44100 and w.channels == 2
    assert np.allclose(w.samples, (SIG + 0.1) / 2, atol=1e-6)


@pytest.mark.parametrize("content,message", [
    (b"", "empty file"),
    (b"this is a text file, not audio" * 4, "not a WAV file"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "truncated WAV"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, message):
    p = tmp_path / "bad.wav"
    p.write_bytes(content)
    with pytest.raises(AudioError, match=message) as e:
        read_wav(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_truncated_data_chunk(tmp_path):
    p = tmp_path / "cut.wav"
    wavfile.write(p, 16000, (SIG * 32767).astype(np.int16))
    p.write_bytes(p.read_bytes()[:-1000])
    with pytest.raises(AudioError, match="truncated WAV"):
        read_wav(p)


def test_missing_file_and_unsupported_encoding(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        read_wav(tmp_path / "nope.wav")
    p = tmp_path / "alaw.wav"
    hdr = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + 4, b"WAVE", b"fmt ", 16, 6, 1, 8000, 8000, 1, 8, b"data", 4)
    p.write_bytes(hdr + b"\x00" * 4)
    with pytest.raises(AudioError, match="A-law"):
        read_wav(p)


def test_a_file_truncated_while_read_ends_the_stream_early(tmp_path, caplog):
    from wakeword.audio.sources import WavSource

    p = tmp_path / "long.wav"
    wavfile.write(p, 16000, (np.tile(SIG, 100) * 32767).astype(np.int16))  # 10 s
    source = WavSource(p, chunk_seconds=1.0)
    chunks = iter(source)
    first = next(chunks)
    with open(p, "r+b") as f:
        f.truncate(44 + 3 * 32000 + 100)  # header + 3 s and a bit
    rest = list(chunks)
    assert len(first) == 16000 and sum(map(len, rest)) == 2 * 16000 + 50
    assert any("shrank while it was read" in r.getMessage() for r in caplog.records)
