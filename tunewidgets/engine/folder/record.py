"""A search's record: what its events say about each trial, in memory, for the views and the tables.

Nothing here touches the disk or imports TensorFlow; :class:`SearchRecord` is fed event by event
(live, or replayed from ``events.jsonl``) and read as trials, tables and the best so far.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import threading
from dataclasses import dataclass, field
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
    clean_value,
    restore_float,
)
from ...progress import trial_number

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Attempt:
    """One run of a trial that was cut short and tried again."""

    status: TrialStatus
    message: str
    epochs: int
    duration: float | None
    worker: str

    def __str__(self) -> str:
        text = f"{self.status.value} after {self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        return f"{text} ({self.message})" if self.message else text


@dataclass
class TrialRecord:
    """Everything known about one trial."""

    trial_id: str
    hyperparameters: dict[str, Any]
    status: TrialStatus = TrialStatus.RUNNING
    score: float | None = None
    best_epoch: int | None = None
    duration: float | None = None
    message: str = ""
    worker: str = "tuner0"
    started: float = 0.0
    #: ``(execution, metric) -> [(epoch, value), ...]``
    curves: dict[tuple[int, str], list[tuple[int, float]]] = field(default_factory=dict)
    #: earlier attempts of this trial (a run cut short by a crash or a stop, then tried again), oldest first
    attempts: list[Attempt] = field(default_factory=list)
    #: each metric at the best epoch, where no curve was recorded (a plain keras-tuner folder keeps only these)
    best_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return trial_number(self.trial_id)

    @property
    def initial_epoch(self) -> int:
        """The epoch it started from: Hyperband carries a trial on from an earlier one's weights."""
        return int(self.hyperparameters.get("tuner/initial_epoch") or 0)

    @property
    def last_epoch(self) -> int:
        """The number of the last epoch seen (Hyperband's carried-on trials count on from their start)."""
        return max((pts[-1][0] for pts in self.curves.values() if pts), default=0)

    @property
    def epochs(self) -> int:
        """Epochs this trial trained (first run): Hyperband's trial from epoch 4 to 10 trained 6."""
        return max(0, self.last_epoch - self.initial_epoch)

    def fold_scores(self, metric: str, direction: Direction = Direction.MAX) -> list[float]:
        """Each run's (fold's) best value of ``metric``, as keras-tuner averages them into the score."""
        runs = [points for (_, name), points in sorted(self.curves.items()) if name == metric and points]
        return [direction.pick(v for _, v in points) for points in runs]

    def spread(self, metric: str, direction: Direction = Direction.MAX) -> float | None:
        """The standard deviation of the folds' scores (None with one run)."""
        scores = self.fold_scores(metric, direction)
        return float(statistics.pstdev(scores)) if len(scores) > 1 else None

    def attempt_summary(self) -> Attempt:
        return Attempt(self.status, self.message, self.epochs, self.duration, self.worker)

    def last(self, metric: str) -> float | None:
        """The metric's latest value (first execution)."""
        pts = self.curves.get((0, metric))
        return pts[-1][1] if pts else None

    def tuned_values(self) -> dict[str, Any]:
        """Hyperparameters without keras-tuner's internal ``tuner/...`` entries."""
        return {k: v for k, v in self.hyperparameters.items() if not k.startswith("tuner/")}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (non-finite values as the events write them); :meth:`from_dict` reads it back unchanged."""
        return clean_value(
            {
                "trial_id": self.trial_id,
                "hyperparameters": self.hyperparameters,
                "status": self.status,
                "score": self.score,
                "best_epoch": self.best_epoch,
                "duration": self.duration,
                "message": self.message,
                "worker": self.worker,
                "started": self.started,
                "curves": [
                    {"execution": execution, "metric": metric, "points": points}
                    for (execution, metric), points in sorted(self.curves.items())
                ],
                "attempts": [dataclasses.asdict(a) for a in self.attempts],
                **({"best_metrics": self.best_metrics} if self.best_metrics else {}),
            }
        )

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrialRecord:
        score = raw.get("score")
        return cls(
            trial_id=str(raw["trial_id"]),
            hyperparameters=dict(raw["hyperparameters"]),
            status=TrialStatus(raw["status"]),
            score=None if score is None else float(restore_float(score)),
            best_epoch=raw.get("best_epoch"),
            duration=raw.get("duration"),
            message=str(raw.get("message", "")),
            worker=str(raw.get("worker", "tuner0")),
            started=float(raw.get("started", 0.0)),
            curves={
                (int(c["execution"]), str(c["metric"])): [(int(e), float(restore_float(v))) for e, v in c["points"]]
                for c in raw.get("curves", [])
            },
            attempts=[
                Attempt(TrialStatus(a["status"]), a["message"], a["epochs"], a["duration"], a["worker"])
                for a in raw.get("attempts", [])
            ],
            best_metrics={str(k): float(restore_float(v)) for k, v in raw.get("best_metrics", {}).items()},
        )


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
            return [_copy(t) for t in self.ordered()]

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
                changed.append(_copy(self.trials[trial_id]))
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


def _copy(t: TrialRecord) -> TrialRecord:
    return dataclasses.replace(
        t,
        hyperparameters=dict(t.hyperparameters),
        curves={k: list(v) for k, v in t.curves.items()},
        attempts=list(t.attempts),
        best_metrics=dict(t.best_metrics),
    )


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


__all__ = ["TRIAL_COLUMNS", "Attempt", "SearchRecord", "TrialRecord"]
