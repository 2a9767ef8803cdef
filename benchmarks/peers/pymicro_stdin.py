"""Peer adapter for benchmarks/footprint.py, run with the pymicro-wakeword 2.5.0 venv's python: pymicro's
counterpart of `wakeword run --input -` (raw 16 kHz s16 mono on stdin, in 10 ms pieces, as a microphone gives).

    python pymicro_stdin.py [MODEL]        (a built-in name, default alexa)

Prints "receiving audio" on stderr once the first piece went through the model (the same mark our daemon prints,
so start-up is measured alike) and "detected" on stdout for each detection; exits at the end of stdin.
"""
import sys

from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

CHUNK_BYTES = 320  # 10 ms


def main() -> None:
    mww = MicroWakeWord.from_builtin(Model(sys.argv[1] if len(sys.argv) > 1 else "alexa"))
    feats = MicroWakeWordFeatures()
    first = True
    while chunk := sys.stdin.buffer.read(CHUNK_BYTES):
        for f in feats.process_streaming(chunk):
            if mww.process_streaming(f):
                print("detected", flush=True)
        if first:
            print("receiving audio", file=sys.stderr, flush=True)
            first = False


if __name__ == "__main__":
    main()
