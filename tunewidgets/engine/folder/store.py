"""A search's own truth on disk: ``state.json`` and one file per ended trial, each written atomically.

The event log (``events.jsonl``) tells the search as it went, every epoch of every trial, live. These
files decide what a folder holds: whether a search started and how it ended, and which trials ended
with what status, score and curves. Each is replaced whole (:mod:`tunewidgets._atomic`), so a crash
leaves the old file or the new one. The log may be damaged or deleted: :func:`read_record` rebuilds the
record from these files and says what the log could not give; it is never a reason to clear a folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..._atomic import atomic_write_json, atomic_write_text
from ...errors import ProjectError, SpecError
from ...events import (
    BoundaryUpdated,
    EpochEnded,
    Event,
    SearchEnded,
    SearchStarted,
    TrialEnded,
    TrialStarted,
    TrialStatus,
    event_from_dict,
    event_to_dict,
)
from ...spec import Spec
from .eventlog import parse_event_line, read_events
from .project import Project, spec_differences
from .record import SearchRecord, TrialRecord
from .tuner_files import KerasTunerStatus

#: The version of the files' layout, written into each.
VERSION = 1


class SearchFiles:
    """Writes ``state.json`` at a search's start and end and ``trials/<id>.json`` at each trial's end.

    Subscribed to a search's events after its record (it reads the record's view of the trial). A write
    that fails (a full disk, a folder made read-only) is handed to ``on_error`` and never raised into the
    search's event bus.
    """

    def __init__(self, project: Project, record: SearchRecord, on_error: Callable[[OSError], None]):
        self.project = project
        self.record = record
        self.on_error = on_error
        self._started: SearchStarted | None = None

    def __call__(self, event: Event) -> None:
        try:
            if isinstance(event, SearchStarted):
                self._started = event
                self._write_state(None)
            elif isinstance(event, TrialEnded):
                self._write_trial(event)
            elif isinstance(event, SearchEnded) and self._started is not None:
                self._write_state(event)
        except OSError as e:
            self.on_error(e)

    def _write_state(self, ended: SearchEnded | None) -> None:
        assert self._started is not None
        state = {
            "version": VERSION,
            "started": event_to_dict(self._started),
            "ended": event_to_dict(ended) if ended is not None else None,
        }
        atomic_write_json(self.project.state, state)

    def _write_trial(self, event: TrialEnded) -> None:
        trial = self.record.trials.get(event.trial_id)
        if trial is None:  # ended before it began (a worker that died at once): nothing to keep
            return
        kept = {"latest": self.record.latest.get(event.trial_id), "best": self.record.boundaries.get(event.trial_id)}
        boundaries = {name: event_to_dict(b) for name, b in kept.items() if b is not None}
        content = {"version": VERSION, "ended": event.time, "trial": trial.to_dict(), "boundaries": boundaries}
        atomic_write_json(self.project.trial_record(event.trial_id), content)


def read_json(path: Path, label: str | None = None) -> tuple[Any, str]:
    """A JSON file's content and '', or None and why it could not be read, naming it ``label`` (its name by
    default); '' when it is not there. Never raises: a file caught mid-write or damaged is reported."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), ""
    except FileNotFoundError:
        return None, ""
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        return None, f"{label or path.name} cannot be read ({e})"


def read_record(project: Project) -> tuple[SearchRecord, list[str]]:
    """A folder's record: its event log, with every ended trial and the search's start and end taken from their
    own files where the log lacks them or is older. Returns the record and notes on what could not be read."""
    record = SearchRecord()
    notes: list[str] = []
    damaged = 0
    if project.events.exists():
        with open(project.events, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            event = parse_event_line(line)
            if event is not None:
                record.apply(event)
            elif line.strip() and i < len(lines) - 1:  # a half-written last line is a crash mid-write, not damage
                damaged += 1
    state, problem = read_json(project.state)
    if problem:
        notes.append(problem)
    rebuilt = _apply_state(record, state) if isinstance(state, dict) else False
    trials = 0
    for path in sorted(project.trial_records.glob("*.json")):
        content, problem = read_json(path)
        if problem or not isinstance(content, dict):
            notes.append(f"trials/{problem or path.name + ' holds no trial'}; that trial is left out")
            continue
        try:
            trials += _apply_trial(record, content)
        except (KeyError, TypeError, ValueError) as e:
            notes.append(f"trials/{path.name} cannot be read ({type(e).__name__}: {e}); that trial is left out")
    settled = _apply_tuner_trials(project, record)
    if settled:
        many = settled != 1
        notes.append(
            f"{settled} trial{'s' if many else ''} ended in keras-tuner's files after the last record of "
            f"{'them' if many else 'it'} (the search was killed at that moment): read from there"
        )
    log = project.events.name
    if not project.events.exists() and (state is not None or trials):
        notes.insert(0, f"{log} is missing: the search's record was rebuilt from {project.state.name} and trials/")
    elif damaged or trials or rebuilt:
        skipped = f"{damaged} damaged line{'s' if damaged != 1 else ''}, skipped" if damaged else "gaps"
        found = f"{trials} ended trial{'s' if trials != 1 else ''}" if trials else "the search's start and end"
        notes.insert(0, f"{log} has {skipped}" + (f"; {found} read from their own files" if trials or rebuilt else ""))
    return record, notes


def rewrite_log(project: Project, record: SearchRecord) -> None:
    """Writes the event log anew from a record rebuilt from the folder's files, so later readers find it whole.

    Used by a search that resumes a folder whose log was damaged or deleted (it holds the folder's lock).
    """
    lines = [json.dumps(event_to_dict(e), allow_nan=False) for e in record_events(record)]
    atomic_write_text(project.events, "".join(line + "\n" for line in lines))


def record_events(record: SearchRecord) -> list[Event]:
    """Events that replay into ``record``: its start, each trial's attempts, epochs, boundaries and end."""
    events: list[Event] = [record.started] if record.started is not None else []
    for t in record.ordered():
        for a in t.attempts:
            events.append(TrialStarted(t.trial_id, t.hyperparameters, a.worker, t.started))
            events.append(TrialEnded(t.trial_id, a.status, None, None, a.duration or 0.0, a.message, t.started))
        events.append(TrialStarted(t.trial_id, t.hyperparameters, t.worker, t.started))
        epochs: dict[tuple[int, int], dict[str, float]] = {}
        for (execution, metric), points in sorted(t.curves.items()):
            for epoch, value in points:
                epochs.setdefault((execution, epoch), {})[metric] = value
        events += [EpochEnded(t.trial_id, e, m, x, t.started) for (x, e), m in sorted(epochs.items())]
        events += [b for b in (record.latest.get(t.trial_id), record.boundaries.get(t.trial_id)) if b is not None]
        if t.status is not TrialStatus.RUNNING:
            events.append(TrialEnded(t.trial_id, t.status, t.score, t.best_epoch, t.duration or 0.0, t.message))
    if record.ended is not None:
        events.append(record.ended)
    return events


def _apply_state(record: SearchRecord, state: dict[str, Any]) -> bool:
    """Takes the search's start and end from ``state.json`` when the log has none or an older start."""
    try:
        started = event_from_dict(state["started"])
        ended = event_from_dict(state["ended"]) if state.get("ended") else None
    except (KeyError, TypeError, ValueError):
        return False
    if not isinstance(started, SearchStarted) or (ended is not None and not isinstance(ended, SearchEnded)):
        return False
    newer = record.started is None or record.started.time < started.time
    later_end = ended is not None and (record.ended is None or record.ended.time < ended.time)
    if newer:
        record.started = started
        record.sessions = max(record.sessions, 1)
        record.ended = ended
    elif later_end and record.started is not None and ended is not None and ended.time >= record.started.time:
        record.ended = ended
    else:
        return False
    return True


def _apply_tuner_trials(project: Project, record: SearchRecord) -> int:
    """Trials the record has as running that keras-tuner's own files have as ended: a search killed between a
    worker ending a trial in keras-tuner's oracle and the controller recording that end. keras-tuner will not
    train them again, so their end (score, best epoch, message) is taken from its ``trial.json``."""
    settled = 0
    for trial in record.trials.values():
        if trial.status is not TrialStatus.RUNNING:
            continue
        content, problem = read_json(project.tuner.trial_file(trial.trial_id))
        if problem or not isinstance(content, dict):
            continue
        status, score, step = KerasTunerStatus.of(content.get("status")), content.get("score"), content.get("best_step")
        if status is KerasTunerStatus.COMPLETED and isinstance(score, (int, float)):
            trial.status, trial.score = TrialStatus.COMPLETED, float(score)
            trial.best_epoch = int(step) + 1 if isinstance(step, int) else None
        elif status is KerasTunerStatus.FAILED:
            trial.status = TrialStatus.FAILED
            lines = str(content.get("message") or "").strip().splitlines()
            trial.message = lines[-1] if lines else "it failed (keras-tuner's file says no more)"
        else:
            continue
        record.touch(trial.trial_id)
        settled += 1
    return settled


def _apply_trial(record: SearchRecord, content: dict[str, Any]) -> int:
    """A trial's own record replaces what the log says of it, unless the log holds a later attempt of it."""
    trial = TrialRecord.from_dict(content["trial"])
    logged = record.trials.get(trial.trial_id)
    if logged is not None and logged.started > float(content.get("ended", 0.0)):
        return 0  # tried again after this record was written: the log is newer
    replaces = logged is None or logged.status is not trial.status or logged.to_dict() != trial.to_dict()
    record.put(trial)
    for name, kept in (("latest", record.latest), ("best", record.boundaries)):
        raw = content.get("boundaries", {}).get(name)
        boundary = event_from_dict(raw) if raw else None
        if isinstance(boundary, BoundaryUpdated):
            kept[trial.trial_id] = boundary
    return int(replaces)


#: Spec fields that change how a search runs, not what it finds: a search resumes across them.
RUN_ONLY = ("tuner.workers", "tuner.fuse", "lesson.locked", "lesson.hidden", "lesson.notes", "lesson")


def open_folder(project: Project, spec: Spec, *, overwrite: bool) -> bool:
    """Makes ``project`` ready for a search of ``spec``; returns whether this resumes one.

    Nothing of a search is removed unless ``overwrite`` asks for it: only a folder whose search never
    started (its data failed to load) is taken over by another spec. Whether a search started is read
    from its own files and keras-tuner's, never from the event log alone.
    """
    d = project.directory
    if d.exists() and not d.is_dir():
        raise ProjectError(f"{d} is a file, not a folder")
    d.mkdir(parents=True, exist_ok=True)
    if overwrite:
        project.clear()
    elif project.spec.exists():
        if project.holds_results() or any(isinstance(e, SearchStarted) for e in read_events(project.events)):
            _check_same_search(project, spec)
            return True
        project.clear()  # a search that never started (its data failed to load): nothing to keep
    elif project.foreign_entries():
        strays = project.foreign_entries()
        raise ProjectError(
            f"{d} is not empty and holds no tunewidgets search ({', '.join(strays[:5])}); choose an empty or new folder"
        )
    spec.save(project.spec)
    return False


def _check_same_search(project: Project, spec: Spec) -> None:
    """Refuses a folder holding a search of another spec; records a change of how it runs (e.g. workers)."""
    d = project.directory
    try:
        existing = Spec.from_file(project.spec)
    except SpecError as e:
        raise ProjectError(
            f"{d} holds a search whose spec.json cannot be read ({e}); its trials are kept. Repair the file, "
            "or start afresh there with overwrite (tunewidgets run --overwrite), which deletes them"
        ) from None
    changed = spec_differences(existing.to_dict(), spec.to_dict())
    other = [f for f in changed if f not in RUN_ONLY]
    if other:
        raise ProjectError(
            f"{d} holds a search of another spec (differs in {', '.join(other[:5])}); "
            "choose another folder, or start afresh there with overwrite (tunewidgets run --overwrite)"
        )
    if changed:
        spec.save(project.spec)  # only how it runs changed (e.g. the number of workers)


def check_tuner_files(project: Project, finished: int) -> None:
    """Before a resume: every file of keras-tuner's project that its oracle reloads must be readable JSON.

    keras-tuner reloads ``oracle.json``, ``<tuner id>.json`` and every ``trial_*/trial.json``; one damaged
    file would stop every worker at its start. Raises :class:`ProjectError` naming the file, what is kept and
    how to go on; nothing is changed in the folder.
    """
    if not project.tuner_dir.is_dir():
        return
    for path in project.tuner.state_files():
        content, problem = read_json(path)
        if problem or not isinstance(content, dict):
            what = (
                problem.replace(path.name, str(path.relative_to(project.directory)), 1)
                if problem
                else (f"{path.relative_to(project.directory)} holds no keras-tuner state")
            )
            kept = (
                f"its {finished} scored trial{'s' if finished != 1 else ''} are kept and readable"
                if finished
                else ("what it holds is kept")
            )
            raise ProjectError(
                f"cannot resume the search in {project.directory}: keras-tuner's {what}. Nothing was changed: "
                f"{kept} (tunewidgets report, tunewidgets.load). To train more, run the spec into a new folder, "
                "or start afresh here with overwrite (tunewidgets run --overwrite), which deletes them"
            )


__all__ = [
    "RUN_ONLY",
    "SearchFiles",
    "check_tuner_files",
    "open_folder",
    "read_json",
    "read_record",
    "record_events",
    "rewrite_log",
]
