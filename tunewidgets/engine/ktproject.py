"""A plain keras-tuner project folder (``directory/project_name``), read as a tunewidgets search, read-only.

keras-tuner keeps, per trial, a ``trial.json`` (hyperparameters and their space, status, the metrics of the
best epoch, the score and the best step) and, for the search, ``oracle.json``
(:mod:`tunewidgets.engine.folder.tuner_files`). It keeps no per-epoch
history. This module turns those files into the same :class:`~tunewidgets.engine.folder.record.SearchRecord`
the views read, without Keras, and never writes, moves or locks anything in the folder.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from ..events import Direction, EpochEnded, SearchStarted, TrialStarted, TrialStatus
from .folder.eventlog import read_events
from .folder.project import LIVE_DIR
from .folder.record import SearchRecord, TrialRecord
from .folder.store import read_json
from .folder.tuner_files import ORACLE_FILE, TRIAL_FILES, KerasTunerStatus, TunerFolder

#: What ``tunewidgets.live()`` records beside keras-tuner's files: a folder keras-tuner ignores.
WATCH_DIR = LIVE_DIR
WATCH_EVENTS = "events.jsonl"


def watched_events(project: Path) -> Path:
    """Where ``tunewidgets.live()`` records a keras-tuner search's events (every epoch of every trial)."""
    return Path(project) / WATCH_DIR / WATCH_EVENTS


#: keras-tuner's trial statuses, as tunewidgets says them.
STATUSES = {
    KerasTunerStatus.COMPLETED: TrialStatus.COMPLETED,
    KerasTunerStatus.FAILED: TrialStatus.FAILED,
    KerasTunerStatus.INVALID: TrialStatus.FAILED,
    KerasTunerStatus.RUNNING: TrialStatus.RUNNING,
    KerasTunerStatus.STOPPED: TrialStatus.STOPPED,
    KerasTunerStatus.IDLE: TrialStatus.RUNNING,
}

#: What the views say about training curves in a keras-tuner folder.
NO_CURVES = (
    "keras-tuner keeps no per-epoch history, only each trial's best epoch: add callbacks=[tunewidgets.live()] "
    "to tuner.search(...) to record the curves"
)


@dataclass
class KerasTunerProject:
    """What a keras-tuner folder says: its trials, the objective, the tuner, how each hyperparameter is searched."""

    directory: Path
    record: SearchRecord
    tuner: str
    objective: str
    direction: Direction
    log_scaled: set[str] = field(default_factory=set)
    categorical: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def is_keras_tuner_project(path: Path) -> bool:
    """Whether ``path`` holds keras-tuner's files (an ``oracle.json`` or a trial's ``trial.json``)."""
    return TunerFolder(path).holds_project()


def find_project(path: Path) -> Path | None:
    """The keras-tuner project in ``path``: the folder itself, or its one subfolder holding one (a user may
    give ``directory`` rather than ``directory/project_name``)."""
    if is_keras_tuner_project(path):
        return path
    inside = [p for p in sorted(path.iterdir()) if p.is_dir() and is_keras_tuner_project(p)] if path.is_dir() else []
    return inside[0] if len(inside) == 1 else None


def tuner_kind(oracle: dict[str, Any] | None, values: list[dict[str, Any]]) -> str:
    """The tuner, as its oracle's state tells it: Hyperband's brackets, Bayesian's initial points, grid's order."""
    keys = set(oracle or {})
    if "brackets" in keys or any("tuner/epochs" in v for v in values):
        return "hyperband"
    if "num_initial_points" in keys and "alpha" in keys:
        return "bayesian"
    if "num_initial_points" in keys:
        return "tpe"
    if "ordered_trials" in keys or "_ordered_ids" in keys:
        return "grid"
    return "random" if oracle is not None else "unknown"


def _objective(trials: list[dict[str, Any]]) -> tuple[str, Direction]:
    """The objective: the metric whose best-epoch value is each trial's score (a ``val_`` one first)."""
    votes: dict[str, int] = {}
    directions: dict[str, Direction] = {}
    for raw in trials:
        score = raw.get("score")
        metrics = (raw.get("metrics") or {}).get("metrics") or {}
        for name, tracker in metrics.items():
            directions[name] = Direction.read(tracker.get("direction"), Direction.MIN)
            values = [v for o in tracker.get("observations", []) for v in o.get("value", [])]
            if score is not None and any(_close(v, score) for v in values):
                votes[name] = votes.get(name, 0) + 1
    if not votes:
        name = next((n for n in directions if n.startswith("val_")), next(iter(directions), "val_loss"))
        return name, directions.get(name, Direction.MIN)
    best = max(votes, key=lambda n: (votes[n], n.startswith("val_"), n == "val_loss"))
    return best, directions.get(best, Direction.MIN)


def _close(a: Any, b: Any) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return False


def _space_kinds(space: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """Hyperparameters searched on a log scale, and numbers chosen among a few values (drawn as categories)."""
    logs, cats = set(), set()
    for hp in space:
        config = hp.get("config", {})
        name = config.get("name")
        if config.get("sampling") in ("log", "reverse_log"):
            logs.add(name)
        values = config.get("values") or []
        if hp.get("class_name") == "Choice" and values and all(isinstance(v, (int, float)) for v in values):
            cats.add(name)
    return logs, cats


def _duration(trial_file: Path) -> float | None:
    """From the first file the trial wrote to its ``trial.json``'s last write (None when unknown)."""
    try:
        end = trial_file.stat().st_mtime
    except OSError:
        return None
    start = _first_write(trial_file.parent) or end
    return end - start if end > start else None


def read_project(path: str | os.PathLike[str]) -> KerasTunerProject:
    """Reads a keras-tuner project folder (read-only).

    Raises:
        ProjectError: the folder holds no keras-tuner project, or none of its files can be read.
    """
    given = Path(path)
    if not given.is_dir():
        raise ProjectError(f"{given} is not a folder")
    directory = find_project(given)
    if directory is None:
        raise ProjectError(
            f"{given} holds neither a tunewidgets search (no spec.json) nor a keras-tuner project (no {ORACLE_FILE} "
            f"or {TRIAL_FILES}); give the folder of tuner(directory=..., project_name=...), directory/project_name"
        )
    notes: list[str] = []
    folder = TunerFolder(directory)
    oracle, problem = read_json(folder.oracle)
    if problem:
        notes.append(problem)
    elif oracle is None:
        notes.append(
            f"{ORACLE_FILE} is missing: whether the search finished cannot be read, so it is not shown as finished "
            "(its trials are shown as their own files say)"
        )
    raws: list[tuple[Path, dict[str, Any]]] = []
    for file in folder.trial_files():
        shown = f"{file.parent.name}/{file.name}"
        raw, problem = read_json(file, shown)
        if isinstance(raw, dict) and "trial_id" in raw:
            raws.append((file, raw))
        else:  # caught mid-write, or damaged: shown as running, said once
            notes.append(problem or f"{shown} holds no trial")
            raws.append((file, {"trial_id": TunerFolder.trial_id(file.parent), "status": KerasTunerStatus.RUNNING}))
    values = [((r.get("hyperparameters") or {}).get("values") or {}) for _, r in raws]
    objective, direction = _objective([r for _, r in raws])
    if not raws:  # no trial files: what tw.live() recorded of the search, or said to be unknown
        started_events = [e for e in read_events(watched_events(directory)) if isinstance(e, SearchStarted)]
        if started_events:
            objective, direction = started_events[-1].objective, started_events[-1].direction
        elif isinstance(oracle, dict) and oracle.get("start_order"):  # trials ran, and their files are gone
            notes.append(f"no {TRIAL_FILES} can be read: the objective is not known ({objective} is assumed)")
    kind = tuner_kind(oracle if isinstance(oracle, dict) else None, values)
    space: list[dict[str, Any]] = next(
        ((r.get("hyperparameters") or {}).get("space") or [] for _, r in raws if r.get("hyperparameters")), []
    )
    logs, cats = _space_kinds(space or [])
    record = SearchRecord()
    started = min((_first_write(f.parent) for f, _ in raws), default=time.time())
    record.apply(
        SearchStarted(
            name=directory.name,
            objective=objective,
            direction=direction,
            algorithm=kind,
            planned_trials=None,
            epochs=max((int(r.get("best_step") or 0) + 1 for _, r in raws), default=0),
            resumed=False,
            time=started,
        )
    )
    for (trial_file, raw), hp_values in zip(raws, values, strict=True):
        status = STATUSES[KerasTunerStatus.of(raw.get("status")) or KerasTunerStatus.RUNNING]  # unknown: running
        score = raw.get("score")
        best_step = raw.get("best_step")
        metrics = (raw.get("metrics") or {}).get("metrics") or {}
        best = {
            name: float(vs[-1])
            for name, tracker in metrics.items()
            for vs in [[v for o in tracker.get("observations", []) for v in o.get("value", [])]]
            if vs
        }
        record.put(
            TrialRecord(
                str(raw["trial_id"]),
                dict(hp_values),
                status=status,
                score=float(score) if score is not None and status.has_score() else None,
                best_epoch=int(best_step) + 1 if best_step is not None and status.has_score() else None,
                duration=_duration(trial_file) if status is not TrialStatus.RUNNING else None,
                message=_message(raw.get("message")) if status is TrialStatus.FAILED else "",
                started=_first_write(trial_file.parent),
                best_metrics=best,
            )
        )
    _add_curves(record, watched_events(directory))
    if _all_ended(record) and isinstance(oracle, dict) and not oracle.get("ongoing_trials"):
        from ..events import EndReason, SearchEnded

        best_trial = record.best()
        record.apply(
            SearchEnded(
                EndReason.COMPLETED,
                "",
                best_trial.trial_id if best_trial else None,
                best_trial.score if best_trial else None,
                time=max((_last_write(f.parent) for f, _ in raws), default=started),
            )
        )
    return KerasTunerProject(directory, record, kind, objective, direction, logs, cats, notes)


def _add_curves(record: SearchRecord, events: Path) -> None:
    """Every epoch ``tunewidgets.live()`` recorded, as each trial's curves (a trial run again: its last run)."""
    curves: dict[str, dict[tuple[int, str], list[tuple[int, float]]]] = {}
    for event in read_events(events):
        if isinstance(event, TrialStarted):
            curves[event.trial_id] = {}
        elif isinstance(event, EpochEnded) and event.trial_id in curves:
            for metric, value in event.metrics.items():
                curves[event.trial_id].setdefault((event.execution, metric), []).append((event.epoch, float(value)))
    for trial_id, trial_curves in curves.items():
        trial = record.trials.get(trial_id)
        if trial is not None and trial_curves:
            trial.curves = trial_curves
            record.touch(trial_id)


def _all_ended(record: SearchRecord) -> bool:
    return bool(record.trials) and all(t.status is not TrialStatus.RUNNING for t in record.trials.values())


def _first_write(trial_dir: Path) -> float:
    try:
        return min(p.stat().st_mtime for p in trial_dir.iterdir() if p.is_file())
    except (OSError, ValueError):
        return 0.0


def _last_write(trial_dir: Path) -> float:
    try:
        return max(p.stat().st_mtime for p in trial_dir.iterdir() if p.is_file())
    except (OSError, ValueError):
        return 0.0


def _message(text: Any) -> str:
    """The last line of keras-tuner's failure message (a traceback)."""
    lines = [line.strip() for line in str(text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "failed"


__all__ = [
    "NO_CURVES",
    "KerasTunerProject",
    "find_project",
    "is_keras_tuner_project",
    "read_project",
    "tuner_kind",
    "watched_events",
]
