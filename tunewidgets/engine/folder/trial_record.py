"""One trial of a search as its events describe it: hyperparameters, curves, how it ended, its earlier attempts
(read by :class:`tunewidgets.engine.folder.record.SearchRecord`, written to ``trials/<id>.json``)."""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field
from typing import Any

from ...events import Direction, TrialStatus, clean_value, restore_float
from ...progress import trial_number


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


def copy_trial(t: TrialRecord) -> TrialRecord:
    return dataclasses.replace(
        t,
        hyperparameters=dict(t.hyperparameters),
        curves={k: list(v) for k, v in t.curves.items()},
        attempts=list(t.attempts),
        best_metrics=dict(t.best_metrics),
    )


__all__ = ["Attempt", "TrialRecord", "copy_trial"]
