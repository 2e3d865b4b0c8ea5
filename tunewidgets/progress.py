"""Where a search stands, computed from its events alone: what the command line and the dashboard show.

A resumed search starts with the trials of its earlier runs (``SearchStarted.finished_trials`` and
the best so far), so the count and the best cover the whole search; a trial tried again after a
crash counts once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .events import Direction, EpochEnded, Event, SearchEnded, SearchStarted, TrialEnded, TrialStarted, TrialStatus


def trial_number(trial_id: str) -> int:
    """1-based trial number from keras-tuner's zero-padded id."""
    try:
        return int(trial_id) + 1
    except ValueError:
        return 0


@dataclass
class RunningTrial:
    worker: str
    epoch: int  # the last epoch that ended (0 before the first)
    of: int  # the epoch it trains up to
    run: int = 0  # the run (cross-validation fold) it trains now


@dataclass
class ProgressState:
    """Counts, the best so far and the trials training now; feed it every event with :meth:`apply`."""

    name: str = ""
    algorithm: str = ""
    objective: str = "score"
    direction: Direction = Direction.MAX
    planned_trials: int | None = None
    planned_epochs: int | None = None
    epochs_per_trial: int = 0
    runs_per_trial: int = 1
    finished: set[str] = field(default_factory=set)  # completed or failed, whichever run of the search
    failed: set[str] = field(default_factory=set)
    best_trial_id: str | None = None
    best_score: float | None = None
    running: dict[str, RunningTrial] = field(default_factory=dict)
    workers: set[str] = field(default_factory=set)
    durations: list[float] = field(default_factory=list)  # of the trials that ended in this run
    pruned: set[str] = field(default_factory=set)
    epochs_saved: int = 0  # epochs the pruned trials of this run did not train
    started_at: float = field(default_factory=time.time)
    ended: SearchEnded | None = None

    def apply(self, event: Event) -> None:
        if isinstance(event, SearchStarted):
            self.name, self.algorithm = event.name, event.algorithm
            self.objective, self.direction = event.objective, event.direction
            self.planned_trials, self.planned_epochs = event.planned_trials, event.planned_epochs
            self.epochs_per_trial = event.epochs
            self.runs_per_trial = event.runs_per_trial
            self.finished |= set(event.finished_trials)
            if event.best_score is not None:
                self._offer(event.best_trial_id, event.best_score)
            self.started_at, self.ended = event.time, None
            self.running, self.durations = {}, []
        elif isinstance(event, TrialStarted):
            of = int(event.hyperparameters.get("tuner/epochs") or self.epochs_per_trial)
            start = int(event.hyperparameters.get("tuner/initial_epoch") or 0)
            self.running[event.trial_id] = RunningTrial(event.worker, start, of)
            self.workers.add(event.worker)
        elif isinstance(event, EpochEnded):
            if event.trial_id in self.running:
                self.running[event.trial_id].epoch = event.epoch
                self.running[event.trial_id].run = event.execution
        elif isinstance(event, TrialEnded):
            running = self.running.pop(event.trial_id, None)
            if event.status is TrialStatus.PRUNED:
                self.pruned.add(event.trial_id)
                if running is not None:
                    runs_left = max(0, self.runs_per_trial - 1 - running.run)
                    self.epochs_saved += max(0, running.of - running.epoch) + runs_left * running.of
            if event.status.is_finished():
                self.finished.add(event.trial_id)
                self.durations.append(event.duration)
            if event.status is TrialStatus.FAILED:
                self.failed.add(event.trial_id)
            else:
                self.failed.discard(event.trial_id)  # a trial tried again that completed
            if event.status.has_score() and event.score is not None:
                self._offer(event.trial_id, event.score)
        elif isinstance(event, SearchEnded):
            self.ended = event
            self.running = {}

    def _offer(self, trial_id: str | None, score: float) -> None:
        if score == score and (self.best_score is None or self.direction.better(score, self.best_score)):
            self.best_trial_id, self.best_score = trial_id, score

    # ------------------------------------------------------------------ reading
    @property
    def done(self) -> int:
        """Trials that ended (completed or failed), each counted once."""
        return len(self.finished)

    @property
    def counter(self) -> str:
        """``4/10``: trials done of the planned."""
        return f"{self.done}/{self.planned_trials}" if self.planned_trials else str(self.done)

    def best_text(self) -> str:
        if self.best_score is None:
            return "no best yet"
        return f"best {self.best_score:.4f} (trial {trial_number(self.best_trial_id or '')})"

    def running_text(self) -> str:
        """``trial 4 epoch 3/10, trial 5 epoch 1/10`` (or ``between trials``)."""
        shown = [f"trial {trial_number(t)} epoch {r.epoch}/{r.of}" for t, r in list(self.running.items())]
        return ", ".join(shown) or "between trials"

    def seconds_left(self) -> float | None:
        """A guess at the time left from this run's trials so far (several workers share the rest)."""
        if not self.durations or not self.planned_trials:
            return None
        mean = sum(self.durations) / len(self.durations)
        return mean * max(0, self.planned_trials - self.done) / max(1, len(self.workers))


def duration_text(seconds: float) -> str:
    """``42s``, ``3m 05s``, ``1h 02m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


__all__ = ["ProgressState", "RunningTrial", "duration_text", "trial_number"]
