"""Run a streaming step model: one conv window + GRU states in, probability + new states out.

The runner owns the explicit GRU states (reset to zeros) and a short history of front-end frames, so
it consumes frames as they come and returns one probability per model step (every `stride` frames).
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .card import INPUT_ROLES, OUTPUT_ROLES, ModelCard
from . import selfcheck
from .interpreter import load_interpreter

HISTORY_FRAMES = 128  # frames the history buffer holds beyond one window (0.64 s at the shipped models' 5 ms hop)


class StepModel:
    def __init__(self, card: ModelCard, flex_delegate: str | None = None) -> None:
        self.card = card
        loaded = load_interpreter(str(card.model_path), flex_delegate=flex_delegate)
        self.interpreter, self.backend, self.flex_ops = loaded.interpreter, loaded.backend, loaded.flex_ops
        self._idx = self._validate()
        self._inputs = {r: self._idx[r] for r in INPUT_ROLES}
        g = card.geometry
        self.kernel, self.stride = g.kernel, g.stride
        n_bins = card.frontend.n_bins
        # Frame history, compacted when full. HISTORY_FRAMES past one window, not more (issue 20): the buffer is
        # touched whole within seconds (with 1024 frames, 0.4 MB a model stayed resident), while compacting moves
        # less than one window of frames once per HISTORY_FRAMES frames.
        self._frames = np.zeros((g.kernel + HISTORY_FRAMES, n_bins), np.float32)
        self.reset()
        selfcheck.verify(self)

    @property
    def name(self) -> str:
        return self.card.name

    def _validate(self) -> dict[str, int]:
        """Map card roles to tensor indices; refuse any disagreement between card and model."""
        card, interp = self.card, self.interpreter
        where = card.card_path or card.name
        ins = {d["name"]: d for d in interp.get_input_details()}
        outs = {d["name"]: d for d in interp.get_output_details()}
        idx = {}
        for roles, table, kind in ((INPUT_ROLES, ins, "input"), (OUTPUT_ROLES, outs, "output")):
            for role in roles:
                spec = card.tensors[role]
                d = table.get(spec.name)
                if d is None:
                    raise ModelError(f"{where}: card names {kind} tensor {spec.name!r} for {role}, but {card.model_path.name} "
                                     f"has {kind}s {sorted(table)}")
                if tuple(int(v) for v in d["shape"]) != spec.shape:
                    raise ModelError(f"{where}: card says {role} has shape {list(spec.shape)}, model has {list(d['shape'])}")
                if np.dtype(d["dtype"]) != np.float32:
                    raise ModelError(f"{where}: {role} tensor is {np.dtype(d['dtype'])}, the runtime needs float32 I/O")
                idx[role] = d["index"]
        w = card.tensors["window"].shape
        if w[1] != card.geometry.kernel or w[2] != card.frontend.n_bins:
            raise ModelError(f"{where}: window shape {list(w)} disagrees with step.kernel={card.geometry.kernel} "
                             f"and n_fft={card.frontend.n_fft} ({card.frontend.n_bins} bins)")
        if len(ins) != 3 or len(outs) != 3:
            raise ModelError(f"{where}: a step model has 3 inputs and 3 outputs, {card.model_path.name} has "
                             f"{len(ins)} and {len(outs)}")
        return idx

    @property
    def states(self) -> tuple[np.ndarray, np.ndarray]:
        """The two GRU states as they are now."""
        return self._state1, self._state2

    def reset(self) -> None:
        """Zero the GRU states and forget buffered frames (start of a new stream)."""
        self._state1 = np.zeros(self.card.tensors["state1"].shape, np.float32)
        self._state2 = np.zeros(self.card.tensors["state2"].shape, np.float32)
        self._n = 0  # frames in the history buffer
        self._next_step_end = self.kernel  # buffer length at which the next step's window is complete
        self.steps = 0

    def step(self, window: np.ndarray) -> float:
        """One model step on a (kernel, bins) window; advances the GRU states."""
        it, idx = self.interpreter, self._idx
        it.set_tensor(idx["window"], window[None])
        it.set_tensor(idx["state1"], self._state1)
        it.set_tensor(idx["state2"], self._state2)
        it.invoke()
        self._state1 = it.get_tensor(idx["state1_out"])
        self._state2 = it.get_tensor(idx["state2_out"])
        self.steps += 1
        return float(it.get_tensor(idx["probability"]).reshape(-1)[0])

    def process_frames(self, frames: np.ndarray) -> np.ndarray:
        """Feed front-end frames (k, bins); returns the probabilities of every step completed."""
        probs = []
        buf = self._frames
        for start in range(0, len(frames), len(buf) - self.kernel):
            part = frames[start:start + len(buf) - self.kernel]
            if self._n + len(part) > len(buf):  # keep only the frames a future window can still need
                tail_from = self._next_step_end - self.kernel
                buf[: self._n - tail_from] = buf[tail_from:self._n]
                self._n -= tail_from
                self._next_step_end -= tail_from
            buf[self._n:self._n + len(part)] = part
            self._n += len(part)
            while self._next_step_end <= self._n:
                probs.append(self.step(buf[self._next_step_end - self.kernel:self._next_step_end]))
                self._next_step_end += self.stride
        return np.asarray(probs, np.float32)
