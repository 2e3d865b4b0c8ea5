"""How the controller and its worker processes talk: files in ``<project>/workers/``.

Files alone: the controller and its workers share this machine's folder (trials on other machines go
through a Dask cluster instead: :mod:`tunewidgets.engine.worker.driver`):

* ``GO``: written by the controller when the data is ready (workers import TensorFlow meanwhile);
* ``STOP``: written by the controller: stop after the current epoch;
* ``chief.json``: the chief's address on this machine (host, port, pid), for the clients;
* ``callbacks.pkl``: the user's Keras callbacks, cloudpickled;
* ``<id>.jsonl``: one worker's events, one JSON line each (the controller relays them);
* ``<id>.log``: its output;
* ``<id>.end.json``: why its training loop ended, its pid, whether it stays warm (:class:`WorkerEndRecord`);
* ``<id>.served``: a chief has stopped serving (the search is over);
* ``trial-<trial id>.stop``: the user stopped one trial (``Search.stop_trial``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..._atomic import atomic_write_text
from ...errors import Issue, SpecError

#: The environment variable that brings the Dask cluster's credentials (a ``distributed.Security``,
#: cloudpickled, base64) to the worker process that keeps the oracle: never written to the folder.
SECURITY_ENV = "TUNEWIDGETS_DASK_SECURITY"

GO_FILE = "GO"
STOP_FILE = "STOP"
CHIEF_FILE = "chief.json"
CALLBACKS_FILE = "callbacks.pkl"

#: A worker's exit code when it ended while waiting between searches (its wait ran out, its input was closed, or
#: the session's memory was short) and took no search: one handed to it just then was never begun, and a fresh
#: worker takes it in its place (no crash).
LEFT_WAITING = 75


class Role(str, enum.Enum):
    """What a worker process does."""

    SOLO = "solo"  # the only worker: keeps keras-tuner's oracle itself
    CHIEF = "chief"  # keeps the oracle and serves it to the others over gRPC, while it trains
    CLIENT = "client"  # asks the chief for trials
    CLUSTER = "cluster"  # keeps the oracle and sends the trials to a Dask cluster (trains none itself)


class WorkerEnd(str, enum.Enum):
    """Why a worker's training loop (or task) ended."""

    DONE = "done"  # nothing left to train, or the task is done
    STOPPED = "stopped"  # STOP, an interrupt, the controller gone
    RETIRED = "retired"  # its memory grew: a fresh process takes over
    FAILED = "failed"  # too many trials failed in a row
    ERROR = "error"  # the worker itself broke


@dataclass(frozen=True)
class WorkerEndRecord:
    """A worker's end file: why its training loop (or task) ended, what it said, its pid, whether it stays warm."""

    reason: WorkerEnd
    message: str
    pid: int
    warm: bool


class WorkerFiles:
    """The protocol's files of one project."""

    def __init__(self, workdir: Path):
        self.dir = Path(workdir)

    @property
    def go(self) -> Path:
        return self.dir / GO_FILE

    @property
    def stop(self) -> Path:
        return self.dir / STOP_FILE

    @property
    def chief(self) -> Path:
        return self.dir / CHIEF_FILE

    @property
    def callbacks(self) -> Path:
        return self.dir / CALLBACKS_FILE

    def events(self, worker_id: str) -> Path:
        return self.dir / f"{worker_id}.jsonl"

    def log(self, worker_id: str) -> Path:
        return self.dir / f"{worker_id}.log"

    def end(self, worker_id: str) -> Path:
        return self.dir / f"{worker_id}.end.json"

    def stop_trial(self, trial_id: str) -> Path:
        """Written by the controller: the worker training this trial ends it after the current epoch."""
        return self.dir / f"trial-{trial_id}.stop"

    def served(self, worker_id: str) -> Path:
        """Written by a chief once its server has stopped (the search is over)."""
        return self.dir / f"{worker_id}.served"

    # ------------------------------------------------------------------ end files
    def write_end(self, worker_id: str, end: WorkerEndRecord) -> None:
        atomic_write_text(self.end(worker_id), json.dumps(asdict(end)))

    def read_end(self, worker_id: str) -> WorkerEndRecord | None:
        """The worker's end file, None while it has written none (or one that cannot be read)."""
        try:
            info = json.loads(self.end(worker_id).read_text())
            return WorkerEndRecord(
                WorkerEnd(info["reason"]), str(info["message"]), int(info["pid"]), bool(info["warm"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def last_line(self, worker_id: str) -> str:
        """``; last output: ...`` from a worker's log, or ''."""
        try:
            lines = self.log(worker_id).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f"; last output: {lines[-1][:300]}" if lines else ""

    # ------------------------------------------------------------------ the chief's address
    def announce_chief(self, host: str, port: int, pid: int) -> None:
        atomic_write_text(self.chief, json.dumps({"host": host, "port": port, "pid": pid}))

    def chief_address(self) -> str | None:
        """``HOST:PORT`` of the chief (on this machine's loopback), or None yet."""
        try:
            info = json.loads(self.chief.read_text())
            return f"{info['host']}:{info['port']}"
        except (OSError, ValueError, KeyError):
            return None


def _check_is_callback(callback: Any) -> None:
    """A class or a function where a callback belongs is named, with what to pass instead."""
    import inspect

    name = getattr(callback, "__name__", type(callback).__name__)
    if isinstance(callback, type):
        raise SpecError(Issue("callbacks", f"{name} is a class: pass an instance of it, callbacks=[{name}(...)]"))
    if inspect.isroutine(callback):
        fix = (
            "call it, callbacks=[tw.live()]"
            if name == "live"
            else "pass a keras.callbacks.Callback (keras.callbacks.LambdaCallback wraps a function)"
        )
        raise SpecError(Issue("callbacks", f"{name} is a function, not a Keras callback: {fix}"))


def pickle_callbacks(callbacks: list[Any]) -> bytes:
    """Callbacks go to the worker processes by cloudpickle (so classes defined in a notebook
    travel too) and keras-tuner deep-copies them for each trial: refuse early those that cannot."""
    import copy

    import cloudpickle

    for callback in callbacks:
        _check_is_callback(callback)
        try:
            copy.deepcopy(callback)
            cloudpickle.dumps(callback)
        except Exception as e:  # noqa: BLE001 - any failure to copy is the same problem
            raise SpecError(
                Issue(
                    "callbacks",
                    f"{type(callback).__name__} cannot be copied for each trial ({e}); "
                    "keep references to locks, files or widgets out of it",
                )
            ) from None
    if not callbacks:
        return b""
    from .travel import users_code_by_value

    with users_code_by_value():  # a callback class from the user's own file travels with it
        return cloudpickle.dumps(list(callbacks))


__all__ = ["LEFT_WAITING", "SECURITY_ENV", "Role", "WorkerEnd", "WorkerEndRecord", "WorkerFiles", "pickle_callbacks"]
