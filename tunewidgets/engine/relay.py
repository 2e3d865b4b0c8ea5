"""The event relay: every worker's event file, read as it grows and republished in order.

Each worker the controller started appends its events to ``workers/<id>.jsonl``. The controller reads
the complete new lines of each such file and hands them on in the order each worker wrote them. Events
wait in a queue until handed on, so an interrupt (Ctrl-C) arriving while one is handled loses none of
the others.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..events import Event
from .folder.eventlog import parse_event_line
from .folder.protocol import WorkerFiles

log = logging.getLogger(__name__)


class _Tail:
    """Reads the complete new lines of one worker's event file (kept open once it exists: the file only grows)."""

    def __init__(self, path: Path):
        self.path = path
        self.file: BinaryIO | None = None
        self.partial = b""

    def read(self) -> list[Event]:
        if self.file is None:
            try:
                self.file = open(self.path, "rb")  # noqa: SIM115 - read at every poll, closed with the relay
            except FileNotFoundError:
                return []
        data = self.file.read()
        if not data:
            return []
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        events = [parse_event_line(line) for line in lines if line.strip()]
        if None in events:
            log.warning("skipped a damaged event line in %s", self.path)
        return [e for e in events if e is not None]

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class Relay:
    """Calls ``handle(worker_id, event)`` for every new event of every worker, in each worker's order."""

    def __init__(self, files: WorkerFiles, handle: Callable[[str, Event], None]):
        self.files = files
        self.handle = handle
        self._tails: dict[str, _Tail] = {}
        self._pending: collections.deque[tuple[str, Event]] = collections.deque()
        self._lock = threading.RLock()

    def follow(self, worker_id: str) -> None:
        """Reads this worker's file from now on (it may not exist yet)."""
        with self._lock:
            self._tails.setdefault(worker_id, _Tail(self.files.events(worker_id)))

    @property
    def workers(self) -> list[str]:
        """Every worker followed."""
        with self._lock:
            return list(self._tails)

    def __call__(self) -> None:
        with self._lock:
            for worker_id, tail in self._tails.items():
                self._pending.extend((worker_id, event) for event in tail.read())
            while self._pending:
                worker_id, event = self._pending.popleft()
                self.handle(worker_id, event)

    def close(self) -> None:
        """Closes the files it reads (after a last read: the search is over)."""
        with self._lock:
            for tail in self._tails.values():
                tail.close()


__all__ = ["Relay"]
