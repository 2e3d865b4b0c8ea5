"""How the controller and its worker processes talk: files in ``<project>/workers/``.

Files alone, so a worker on another machine that shares the folder takes part like a local one:

* ``GO``: written by the controller when the data is ready (workers import TensorFlow meanwhile);
* ``STOP``: written by the controller: stop after the current epoch;
* ``chief.json``: the chief's address (host, host name, port, pid), for the clients;
* ``callbacks.pkl``: the user's Keras callbacks, cloudpickled;
* ``<id>.jsonl``: one worker's events, one JSON line each (the controller relays them);
* ``<id>.log``: its output;
* ``<id>.end.json``: why its training loop ended (:class:`EndReason`), its pid, whether it stays warm;
* ``<id>.served``: a chief has stopped serving (the search is over);
* ``trial-<trial id>.stop``: the user stopped one trial (``Search.stop_trial``).
"""

from __future__ import annotations

import enum
import json
import socket
from pathlib import Path
from typing import Any

from ..._atomic import atomic_write_text
from ...errors import Issue, SpecError

GO_FILE = "GO"
STOP_FILE = "STOP"
CHIEF_FILE = "chief.json"
CALLBACKS_FILE = "callbacks.pkl"


class Role(str, enum.Enum):
    """What a worker process does."""

    SOLO = "solo"  # the only worker: keeps keras-tuner's oracle itself
    CHIEF = "chief"  # keeps the oracle and serves it to the others over gRPC, while it trains
    CLIENT = "client"  # asks the chief for trials


class WorkerEnd(str, enum.Enum):
    """Why a worker's training loop (or task) ended."""

    DONE = "done"  # nothing left to train, or the task is done
    STOPPED = "stopped"  # STOP, an interrupt, the controller gone
    RETIRED = "retired"  # its memory grew: a fresh process takes over
    FAILED = "failed"  # too many trials failed in a row
    ERROR = "error"  # the worker itself broke


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

    def event_files(self) -> dict[str, Path]:
        """Every worker's event file, local or remote, by worker id."""
        return {p.stem: p for p in self.dir.glob("*.jsonl")}

    # ------------------------------------------------------------------ end files
    def write_end(self, worker_id: str, reason: WorkerEnd, message: str, pid: int, warm: bool) -> None:
        info = {"reason": reason.value, "message": message, "pid": pid, "warm": warm}
        atomic_write_text(self.end(worker_id), json.dumps(info))

    def read_end(self, worker_id: str) -> dict[str, Any] | None:
        try:
            info = json.loads(self.end(worker_id).read_text())
            info["reason"] = WorkerEnd(info["reason"])
            return info
        except (OSError, ValueError, KeyError):
            return None

    def last_line(self, worker_id: str) -> str:
        """``; last output: ...`` from a worker's log, or ''."""
        try:
            lines = self.log(worker_id).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f"; last output: {lines[-1][:300]}" if lines else ""

    # ------------------------------------------------------------------ the chief's address
    def announce_chief(self, host: str, hostname: str, port: int, pid: int) -> None:
        atomic_write_text(self.chief, json.dumps({"host": host, "hostname": hostname, "port": port, "pid": pid}))

    def chief_address(self, *, remote: bool) -> str | None:
        """``HOST:PORT`` of the chief (its host name for a worker on another machine), or None yet."""
        try:
            info = json.loads(self.chief.read_text())
            return f"{info['hostname'] if remote else info['host']}:{info['port']}"
        except (OSError, ValueError, KeyError):
            return None


def parse_address(address: str, field: str = "listen") -> tuple[str, int] | Issue:
    """``HOST:PORT`` as a host and a port number (0: a free one), or the issue with it."""
    host, sep, port = address.strip().rpartition(":")
    example = "for example 127.0.0.1:8470, or 0.0.0.0:8470 to let other machines join"
    if not sep or not host:
        return Issue(field, f"{address!r} is not HOST:PORT ({example})")
    if not port.isdigit():
        return Issue(field, f"the port in {address!r} is not a number ({example})")
    number = int(port)
    if not 0 <= number <= 65535:
        return Issue(field, f"port {number} is outside 1-65535 (0 picks a free one)")
    return host.strip("[]"), number


def reachable(address: str, timeout: float = 2.0) -> bool:
    """Whether something accepts connections at ``HOST:PORT`` now."""
    parsed = parse_address(address, "chief")
    if isinstance(parsed, Issue):
        return False
    try:
        with socket.create_connection(parsed, timeout=timeout):
            return True
    except OSError:
        return False


def pickle_callbacks(callbacks: list[Any]) -> bytes:
    """Callbacks go to the worker processes by cloudpickle (so classes defined in a notebook
    travel too) and keras-tuner deep-copies them for each trial: refuse early those that cannot."""
    import copy

    import cloudpickle

    for callback in callbacks:
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
    return cloudpickle.dumps(list(callbacks)) if callbacks else b""


__all__ = ["Role", "WorkerEnd", "WorkerFiles", "parse_address", "pickle_callbacks", "reachable"]
