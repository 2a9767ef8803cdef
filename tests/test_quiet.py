"""The quiet gate: when the live microphone may be read less often (wakeword/audio/quiet.py)."""
import numpy as np

from wakeword.audio.quiet import QuietGate

SR = 16000


def noise(level_db: float, seconds: float = 0.1, seed: int = 0) -> np.ndarray:
    """int16 white noise at `level_db` dBFS (RMS)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal(int(SR * seconds)) * 32768 * 10 ** (level_db / 20), -32768, 32767).astype(np.int16)


def feed(gate: QuietGate, chunks) -> list[bool]:
    return [gate.update(c) for c in chunks]


def test_steady_noise_becomes_quiet_after_the_hold_and_a_louder_chunk_ends_it():
    gate = QuietGate(SR, hold_s=1.0)
    states = feed(gate, [noise(-50, seed=i) for i in range(15)])
    assert states[:9] == [False] * 9 and all(states[10:])  # 1 s of audio with nothing above the floor
    assert gate.update(noise(-40, seed=99)) is False  # +10 dB: sound
    assert not any(feed(gate, [noise(-50, seed=i) for i in range(9)]))  # held for hold_s after it


def test_a_phrase_in_a_quiet_room_is_sound_from_its_first_chunk():
    gate = QuietGate(SR, hold_s=1.0)
    feed(gate, [noise(-60, seed=i) for i in range(30)])
    assert gate.quiet
    assert gate.update(np.concatenate([noise(-60, 0.08), noise(-35, 0.02, seed=5)])) is False  # 20 ms of onset suffice


def test_digital_silence_is_quiet_and_the_floor_follows_a_new_steady_noise_up():
    gate = QuietGate(SR, hold_s=0.5)
    assert feed(gate, [np.zeros((1600, 2), np.int16)] * 6)[-1]  # (frames, channels) chunks too
    gate.update(noise(-60))
    assert not gate.quiet
    # a fan switched on, ~29 dB above the floor of silence: rising 3 dB/s, the floor is within 6 dB of it in ~8 s
    states = feed(gate, [noise(-60, seed=i) for i in range(120)])
    assert not states[0] and states[-1]
    assert 5 < states.index(True) * 0.1 < 12


def test_a_chunk_of_stereo_int16_extremes_does_not_overflow():
    gate = QuietGate(SR)
    gate.update(np.array([[32767, -32768]] * 100, np.int16))
    assert gate.floor == 65535
