"""What a search sends a Dask worker: the :class:`Session` every task of one search shares (scattered once to each
worker) and one :class:`GroupTask` per group of trials. Plain values: a worker reads nothing from the search's
folder. Imports neither Keras nor Dask."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

from ...spec import Spec
from ..folder.project import Project
from ..folder.protocol import WorkerFiles


@dataclass(frozen=True)
class Session:
    """What every task of one search shares, sent once to each worker (scattered)."""

    key: str  # unique to one run of one search: the worker keeps its models' inputs under it
    topic: str  # where the tasks' messages go
    spec_json: str
    data: Any  # the prepared Dataset, or the user's arrays (UserData), in memory
    hypermodel: bytes = b""  # the user's hypermodel, cloudpickled (empty: the spec's network)
    callbacks: bytes = b""  # the user's Keras callbacks, cloudpickled
    tensorboard: bool = False


@dataclass(frozen=True)
class GroupTask:
    """One group of trials to train together (same batch size and epochs)."""

    key: str  # the group's name in the search (one per submission of the same trials: a rerun keeps it)
    trials: list[dict[str, Any]]  # keras-tuner's Trial.get_state() of each
    control: str  # the topic its decisions come on
    parents: dict[str, bytes] = field(default_factory=dict)  # carried-on trials' parents' checkpoints
    peers: dict[str, int] = field(default_factory=dict)  # worker address -> Dask workers on its host


def session_of(project: Project, files: WorkerFiles, data: Any, *, tensorboard: bool) -> Session:
    """What every task of this run of the search shares, as values: nothing is read from a worker's disk."""
    spec_json = project.spec.read_text(encoding="utf-8")
    own = Spec.from_json(spec_json).hypermodel is not None
    return Session(
        key=f"{project.directory.resolve()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        topic=f"tunewidgets-{uuid.uuid4().hex}",
        spec_json=spec_json,
        data=_in_memory(data),
        hypermodel=project.hypermodel.read_bytes() if own else b"",
        callbacks=files.callbacks.read_bytes() if files.callbacks.exists() else b"",
        tensorboard=tensorboard,
    )


def _in_memory(data: Any) -> Any:
    """The data with its memory-mapped arrays (the user's, read from the folder) read into memory."""
    import dataclasses

    import numpy as np

    def read(value: Any) -> Any:
        if isinstance(value, np.memmap):
            return np.array(value)
        if isinstance(value, dict):
            return {k: read(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(read(v) for v in value)
        return value

    arrays = [f.name for f in dataclasses.fields(data) if f.name.startswith(("x_", "y_"))]
    return dataclasses.replace(data, **{name: read(getattr(data, name)) for name in arrays})


__all__ = ["GroupTask", "Session", "session_of"]
