"""A trial's best-epoch checkpoint, written once per run, with the disk checked first. Imports Keras."""

from __future__ import annotations

import math
import os
import shutil
from typing import Any

import keras

from ...events import Direction
from ...spec.size import human_bytes
from .outcomes import TrialFailed


class BestEpoch(keras.callbacks.Callback):
    """Keeps the weights of a trial's best epoch by the objective and writes them when a run ends.

    keras-tuner's own checkpoint writes a weights file at every epoch that improves the objective (most
    epochs early in training); only the best is ever read (the best model, Hyperband carrying a trial on,
    a resumed search), so one write per run does the same job. One object serves all the runs of a trial,
    so the best epoch of them all is kept. A run cut short (stopped, crashed) writes nothing new; its trial
    runs again on resume. An epoch whose logs lack the objective counts as the best so far, as in
    keras-tuner.
    """

    def __init__(self, objective: Any, filepath: str):
        super().__init__()
        self.objective = objective
        self.filepath = filepath
        self.best_value = Direction(objective.direction).worst
        self._best_weights: list[Any] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._best_weights = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.objective.has_value(logs):
            value = self.objective.get_value(logs)
            if not self.objective.better_than(value, self.best_value):
                return
            self.best_value = value
        self._best_weights = [w.copy() for w in self.model.get_weights()]

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._best_weights is None:
            return
        check_disk(self.model, os.path.dirname(self.filepath) or ".")
        current = self.model.get_weights()
        self.model.set_weights(self._best_weights)
        # whole or not at all: a full disk mid-write leaves the checkpoint as it was, not half of it
        part = f"{self.filepath.removesuffix('.weights.h5')}.part-{os.getpid()}.weights.h5"
        try:
            self.model.save_weights(part)
            os.replace(part, self.filepath)
        finally:
            if os.path.exists(part):
                os.unlink(part)
        self.model.set_weights(current)
        self._best_weights = None


def check_disk(model: Any, folder: str) -> None:
    """Fails the trial, with the figures, when the disk cannot take its checkpoint (weights and optimizer state)."""
    optimizer = getattr(model, "optimizer", None)  # a custom training loop's model is not compiled
    variables = [*model.weights, *(optimizer.variables if optimizer is not None else [])]
    need = sum(math.prod(v.shape) * 4 for v in variables) + 1_000_000
    os.makedirs(folder, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < need:
        raise TrialFailed(
            f"not enough disk space for this trial's checkpoint: it needs about {human_bytes(need)}, "
            f"{human_bytes(free)} are free"
        )


__all__ = ["BestEpoch", "check_disk"]
