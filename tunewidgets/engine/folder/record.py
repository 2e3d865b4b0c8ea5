"""A search's record: what its events say about each trial, in memory, for the views and the tables.

Nothing here touches the disk or imports TensorFlow; :class:`SearchRecord` is fed event by event
(live, or replayed from ``events.jsonl``) and read as trials, tables and the best so far.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

from ...events import (
    BoundaryUpdated,
    Direction,
    EpochEnded,
    Event,
    SearchEnded,
    SearchStarted,
    TrialEnded,
    TrialStarted,
    TrialStatus,
)
from .trial_record import Attempt, TrialRecord, copy_trial

if TYPE_CHECKING:
    import pandas as pd


#: A trial left running by a process that is gone, or begun again before it ended.
INTERRUPTED = "interrupted before it finished"


class SearchRecord:
    """The state of a search as its events describe it; feed it with :meth:`apply`."""

    def __init__(self) -> None:
        self.trials: dict[str, TrialRecord] = {}
        self.started: SearchStarted | None = None
        self.ended: SearchEnded | None = None
        self.sessions = 0
        #: 2-D classification: each trial's decision boundary at its latest epoch, and at its best epoch so far
        self.latest: dict[str, BoundaryUpdated] = {}
        self.boundaries: dict[str, BoundaryUpdated] = {}
        self._lock = threading.RLock()
        #: a count of the changes applied, and each changed trial's count at its last change, oldest first:
        #: a reader keeps the count it saw and asks :meth:`changed_since` for what is new (a cursor)
        self.version = 0
        self._touched: dict[str, int] = {}

    # ------------------------------------------------------------------ events
    def apply(self, event: Event) -> None:
        with self._lock:
            self._apply(event)
            trial_id = getattr(event, "trial_id", None)
            if trial_id in self.trials and not isinstance(event, BoundaryUpdated):
                self.touch(trial_id)

    def touch(self, trial_id: str) -> None:
        """Marks a trial changed (:meth:`apply` does; so does code that changes a trial in place)."""
        with self._lock:
            self.version += 1
            self._touched.pop(trial_id, None)
            self._touched[trial_id] = self.version

    def put(self, trial: TrialRecord) -> None:
        """Adds or replaces a trial as read from a file (a trial's own record, a keras-tuner folder)."""
        with self._lock:
            self.trials[trial.trial_id] = trial
            self.touch(trial.trial_id)

    def _apply(self, event: Event) -> None:
        if isinstance(event, SearchStarted):
            self.started = event
            self.ended = None
            self.sessions += 1
        elif isinstance(event, TrialStarted):
            earlier = self.trials.get(event.trial_id)
            if earlier is not None and earlier.status is TrialStatus.RUNNING:  # a new attempt: the last was cut
                earlier.status = TrialStatus.STOPPED
                earlier.message = earlier.message or INTERRUPTED
            attempts = [*earlier.attempts, earlier.attempt_summary()] if earlier is not None else []
            for kept in (self.latest, self.boundaries):
                kept.pop(event.trial_id, None)  # a trial tried again draws afresh
            self.trials[event.trial_id] = TrialRecord(
                event.trial_id,
                dict(event.hyperparameters),
                worker=event.worker,
                started=event.time,
                attempts=attempts,
            )
        elif isinstance(event, EpochEnded):
            trial = self.trials.get(event.trial_id)
            if trial is not None:
                for metric, value in event.metrics.items():
                    trial.curves.setdefault((event.execution, metric), []).append((event.epoch, float(value)))
        elif isinstance(event, TrialEnded):
            trial = self.trials.get(event.trial_id)
            if trial is not None:
                trial.status = event.status
                trial.score = event.score
                trial.best_epoch = event.best_epoch
                trial.duration = event.duration
                trial.message = event.message
                if event.declared:
                    trial.hyperparameters.update(event.declared)
        elif isinstance(event, BoundaryUpdated):
            self._boundary(event)
        elif isinstance(event, SearchEnded):
            self.ended = event

    def _boundary(self, event: BoundaryUpdated) -> None:
        """Keeps a trial's latest boundary, and the one of its best epoch (by the objective) so far."""
        self.latest[event.trial_id] = event
        kept = self.boundaries.get(event.trial_id)
        value, best = self._objective_at(event), self._objective_at(kept) if kept is not None else None
        if kept is None or (value is not None and (best is None or self.direction.better(value, best))):
            self.boundaries[event.trial_id] = event

    def _objective_at(self, event: BoundaryUpdated) -> float | None:
        """The objective of the epoch a boundary was drawn at (None when it was not a number)."""
        trial = self.trials.get(event.trial_id)
        points = trial.curves.get((event.execution, self.objective), []) if trial is not None else []
        value = next((v for e, v in reversed(points) if e == event.epoch), None)
        return value if value is not None and math.isfinite(value) else None

    def mark_interrupted(self) -> None:
        """Trials left running by a process that is gone become STOPPED."""
        with self._lock:
            for trial in self.trials.values():
                if trial.status is TrialStatus.RUNNING:
                    trial.status = TrialStatus.STOPPED
                    trial.message = trial.message or INTERRUPTED
                    self.touch(trial.trial_id)

    # ------------------------------------------------------------------ queries
    @property
    def objective(self) -> str:
        return self.started.objective if self.started else "val_loss"

    @property
    def direction(self) -> Direction:
        return self.started.direction if self.started else Direction.MIN

    def ordered(self) -> list[TrialRecord]:
        with self._lock:
            return sorted(self.trials.values(), key=lambda t: (t.number, t.trial_id))

    def snapshot(self) -> list[TrialRecord]:
        """A copy of every trial, in trial order, safe to read while the search goes on."""
        with self._lock:
            return [copy_trial(t) for t in self.ordered()]

    def changed_since(self, version: int) -> tuple[int, list[TrialRecord]]:
        """The trials changed after ``version`` (copies, in the order of their last change) and the version now.

        A view keeps the version it got and passes it back next time: what it reads costs what changed,
        however many trials the search has (``version=0``: every trial).
        """
        with self._lock:
            changed = []
            for trial_id, at in reversed(self._touched.items()):
                if at <= version:
                    break
                changed.append(copy_trial(self.trials[trial_id]))
            changed.reverse()
            return self.version, changed

    def completed(self) -> list[TrialRecord]:
        """Trials with a score: completed, or pruned (scored by their best epoch before they stopped)."""
        return [t for t in self.ordered() if t.status.has_score() and _finite(t.score)]

    def best(self) -> TrialRecord | None:
        best: TrialRecord | None = None
        for t in self.completed():
            if best is None or self.direction.better(t.score, best.score):  # type: ignore[arg-type]
                best = t
        return best

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in TrialStatus}
        for t in self.ordered():
            out[t.status.value] += 1
        return out

    def trials_frame(self) -> pd.DataFrame:
        """One row per trial: id, number, status, score, epochs, duration, message, attempts, hyperparameters.

        With cross-validation ``score`` is the mean of the folds' best epochs and ``spread`` their standard
        deviation. ``epochs`` are the epochs the trial trained (a Hyperband trial carried on from epoch
        ``initial_epoch`` trained ``epochs`` more); ``attempts`` counts its runs (more than 1 when
        a crash or a stop cut one short), ``earlier_attempts`` says how those ended.
        """
        import pandas as pd

        rows = []
        trials = self.ordered()
        folded = any(t.spread(self.objective, self.direction) is not None for t in trials)
        for t in trials:
            row: dict[str, Any] = {
                "trial_id": t.trial_id,
                "number": t.number,
                "status": t.status.value,
                "score": t.score,
                **({"spread": t.spread(self.objective, self.direction)} if folded else {}),
                "best_epoch": t.best_epoch,
                "epochs": t.epochs,
                "initial_epoch": t.initial_epoch,
                "duration": t.duration,
                "worker": t.worker,
                "message": t.message,
                "attempts": 1 + len(t.attempts),
                "earlier_attempts": "; ".join(f"{i}: {a}" for i, a in enumerate(t.attempts, 1)),
            }
            for name, value in t.best_metrics.items():  # a keras-tuner folder's best-epoch metrics
                row.setdefault(name, value)
            for name, value in t.tuned_values().items():
                row.setdefault(name, value)
            rows.append(row)
        return pd.DataFrame(rows, columns=None if rows else list(TRIAL_COLUMNS))

    def curves_frame(self) -> pd.DataFrame:
        """One row per trial, execution, epoch and metric."""
        import pandas as pd

        rows = [
            (t.trial_id, execution, epoch, metric, value)
            for t in self.ordered()
            for (execution, metric), points in sorted(t.curves.items())
            for epoch, value in points
        ]
        return pd.DataFrame(rows, columns=["trial_id", "execution", "epoch", "metric", "value"])


#: The columns of ``trials.csv`` before the hyperparameters.
TRIAL_COLUMNS = (
    "trial_id",
    "number",
    "status",
    "score",
    "best_epoch",
    "epochs",
    "initial_epoch",
    "duration",
    "worker",
    "message",
    "attempts",
    "earlier_attempts",
)


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


__all__ = ["TRIAL_COLUMNS", "Attempt", "SearchRecord", "TrialRecord"]
