"""keras-tuner's own project folder (``directory/project_name``): what it names there, and the trial statuses its
files say. Named here only: everything else asks a :class:`TunerFolder` (a search's is ``Project.tuner``).

keras-tuner keeps ``oracle.json`` and ``<tuner id>.json`` for the search, and per trial ``trial_<id>/`` with
``trial.json`` (hyperparameters, status, the best epoch's metrics, the score), the best epoch's weights
(``checkpoint.weights.h5``, written by tunewidgets' workers where keras-tuner would) and ``build_config.json``.
The notebook side reads these without importing keras-tuner, so :class:`KerasTunerStatus` mirrors its
``keras_tuner.engine.trial.TrialStatus`` (which the worker side uses).
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Any

ORACLE_FILE = "oracle.json"
TRIAL_PREFIX = "trial_"
TRIAL_FILE = "trial.json"
CHECKPOINT_FILE = "checkpoint.weights.h5"
BUILD_CONFIG_FILE = "build_config.json"
#: every trial's ``trial.json``: a glob, and how a message names them
TRIAL_FILES = f"{TRIAL_PREFIX}*/{TRIAL_FILE}"


class KerasTunerStatus(str, enum.Enum):
    """A trial's status as keras-tuner's files and oracle say it (its ``TrialStatus``)."""

    RUNNING = "RUNNING"
    IDLE = "IDLE"  # the oracle waits for other trials before it hands out one (Hyperband between rounds)
    INVALID = "INVALID"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @classmethod
    def of(cls, raw: Any) -> KerasTunerStatus | None:
        """The status a file gives (``trial.json``'s ``"status"``), None when it is none of these."""
        try:
            return cls(raw)
        except (ValueError, TypeError):
            return None


class TunerFolder:
    """Where keras-tuner keeps each file in its project folder: a search's, a plain keras-tuner project's, or the
    folder a worker on a Dask cluster trains its trials in."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"TunerFolder({str(self.directory)!r})"

    @property
    def oracle(self) -> Path:
        return self.directory / ORACLE_FILE

    def trial_dir(self, trial_id: str) -> Path:
        return self.directory / f"{TRIAL_PREFIX}{trial_id}"

    def trial_file(self, trial_id: str) -> Path:
        return self.trial_dir(trial_id) / TRIAL_FILE

    def checkpoint(self, trial_id: str) -> Path:
        """A trial's best-epoch weights."""
        return self.trial_dir(trial_id) / CHECKPOINT_FILE

    def build_config(self, trial_id: str) -> Path:
        """How a trial's model was built (its input shapes), beside its checkpoint."""
        return self.trial_dir(trial_id) / BUILD_CONFIG_FILE

    def trial_files(self) -> list[Path]:
        """Every trial's ``trial.json``, in the order of the trials' ids."""
        return sorted(self.directory.glob(TRIAL_FILES))

    def state_files(self) -> list[Path]:
        """What keras-tuner reloads on resume: ``oracle.json``, ``<tuner id>.json`` and every ``trial.json``."""
        return sorted([*self.directory.glob("*.json"), *self.trial_files()])

    def holds_project(self) -> bool:
        """Whether keras-tuner's files are here: an ``oracle.json`` or a trial's ``trial.json``."""
        return self.oracle.is_file() or any(self.directory.glob(TRIAL_FILES))

    @staticmethod
    def trial_id(trial_dir: Path) -> str:
        """The id of the trial whose folder is ``trial_dir``."""
        return trial_dir.name.removeprefix(TRIAL_PREFIX)


__all__ = ["ORACLE_FILE", "TRIAL_FILE", "TRIAL_FILES", "KerasTunerStatus", "TunerFolder"]
