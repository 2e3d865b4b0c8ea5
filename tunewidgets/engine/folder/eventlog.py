"""A search's events on disk: ``events.jsonl`` appended as they happen, read back after a restart.

Each event is one JSON line, flushed at once and synced at trial ends, so a crash loses at most
the epoch in progress; a half-written last line (a crash mid-write) is cut before new lines are
added and skipped when read.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from ..._atomic import atomic_write_text
from ...events import Event, SearchEnded, SearchStarted, TrialEnded, event_from_dict, event_to_dict
from .project import Project
from .record import SearchRecord


class EventLog:
    """Appends events to ``events.jsonl``: flushed each line, synced at trial ends.

    A write that fails (a full disk) goes to ``on_error`` once, and the log stops writing; without
    ``on_error`` it is raised.
    """

    def __init__(self, path: Path, on_error: Callable[[OSError], None] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _repair_tail(self.path)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self._on_error = on_error

    def __call__(self, event: Event) -> None:
        line = json.dumps(event_to_dict(event), allow_nan=False)
        with self._lock:
            if self._file.closed:
                return
            try:
                self._file.write(line + "\n")
                self._file.flush()
                if isinstance(event, (TrialEnded, SearchEnded, SearchStarted)):
                    os.fsync(self._file.fileno())
            except OSError as e:
                self._failed(e)

    def _failed(self, error: OSError) -> None:
        with contextlib.suppress(OSError):
            self._file.close()  # what is still buffered cannot be written either
        if self._on_error is None:
            raise error
        self._on_error(error)

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                try:
                    self._file.flush()
                    os.fsync(self._file.fileno())
                    self._file.close()
                except OSError as e:
                    self._failed(e)


def _repair_tail(path: Path) -> None:
    """Cuts a half-written last line (left by a crash) so new lines start clean."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        data = path.read_bytes()
        cut = data.rfind(b"\n") + 1
        f.truncate(cut)


def parse_event_line(line: str | bytes) -> Event | None:
    """One line of an events file; ``None`` for a blank or damaged line (a crash mid-write)."""
    if not line.strip():
        return None
    try:
        return event_from_dict(json.loads(line))
    except (ValueError, KeyError, TypeError):
        return None


def read_events(path: Path) -> list[Event]:
    """Events from ``events.jsonl``; a damaged line (from a crash) is skipped."""
    if not Path(path).exists():
        return []
    with open(path, encoding="utf-8", errors="replace") as f:
        return [event for event in map(parse_event_line, f) if event is not None]


def write_tables(record: SearchRecord, directory: Path) -> None:
    """Writes ``trials.csv`` and ``curves.csv`` atomically."""
    project = Project(directory)
    atomic_write_text(project.trials_table, record.trials_frame().to_csv(index=False))
    atomic_write_text(project.curves_table, record.curves_frame().to_csv(index=False))


__all__ = ["EventLog", "parse_event_line", "read_events", "write_tables"]
