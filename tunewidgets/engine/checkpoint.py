"""A trial's best-epoch checkpoint, written once per run, with the disk checked first. Imports Keras."""

from __future__ import annotations

import math
import os
from typing import Any

from keras_tuner.src import errors as kt_errors
from keras_tuner.src.engine import tuner_utils

from ..spec.size import human_bytes


class DeferredBestEpoch(tuner_utils.SaveBestEpoch):
    """Keeps the best epoch's weights in memory and writes them when training ends.

    keras-tuner's ``SaveBestEpoch`` writes a weights file at every epoch that improves the
    objective: most epochs early in training. Only the best one is ever read (the best model,
    a resumed search), so one write per run does the same job. A run cut short (stopped,
    crashed) writes nothing; its trial runs again on resume.
    """

    def __init__(self, objective: Any, filepath: str):
        super().__init__(objective, filepath)
        self._best_weights: list[Any] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._best_weights = None

    def _save_model(self) -> None:
        self._best_weights = [w.copy() for w in self.model.get_weights()]

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._best_weights is None:
            return
        check_disk(self.model, os.path.dirname(self.filepath) or ".")
        current = self.model.get_weights()
        self.model.set_weights(self._best_weights)
        super()._save_model()
        self.model.set_weights(current)
        self._best_weights = None


def check_disk(model: Any, folder: str) -> None:
    """Fails the trial, with the figures, when the disk cannot take its checkpoint (weights and optimizer state)."""
    import shutil

    need = sum(math.prod(v.shape) * 4 for v in [*model.weights, *model.optimizer.variables]) + 1_000_000
    os.makedirs(folder, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < need:
        raise kt_errors.FailedTrialError(
            f"not enough disk space for this trial's checkpoint: it needs about {human_bytes(need)}, "
            f"{human_bytes(free)} are free"
        )


__all__ = ["DeferredBestEpoch", "check_disk"]
