"""Search results: a record built from events, kept on disk as it happens.

A project directory holds:

* ``spec.json``: the spec that produced the search;
* ``data.npz`` / ``data.json``: the prepared data splits and what was done to them;
* ``events.jsonl``: one line per event, appended and flushed as it happens, so a
  crash loses at most the epoch in progress;
* ``keras_tuner/``: keras-tuner's own project (oracle state, per-trial checkpoints);
* ``trials.csv`` / ``curves.csv``: tables written when a search ends.

:func:`load` replays ``events.jsonl`` into the same :class:`SearchRecord` the
live views use. Nothing here imports TensorFlow until a model is asked for.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .events import (
    EndReason,
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
from .progress import better, trial_number

if TYPE_CHECKING:
    import keras
    import pandas as pd

    from .data import Dataset
    from .spec import Spec

EVENTS_FILE = "events.jsonl"
SPEC_FILE = "spec.json"
TUNER_DIR = "keras_tuner"


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

    def attempt_summary(self) -> Attempt:
        return Attempt(self.status, self.message, self.epochs, self.duration, self.worker)

    def last(self, metric: str) -> float | None:
        """The metric's latest value (first execution)."""
        pts = self.curves.get((0, metric))
        return pts[-1][1] if pts else None

    def tuned_values(self) -> dict[str, Any]:
        """Hyperparameters without keras-tuner's internal ``tuner/...`` entries."""
        return {k: v for k, v in self.hyperparameters.items() if not k.startswith("tuner/")}


class SearchRecord:
    """The state of a search as its events describe it; feed it with :meth:`apply`."""

    def __init__(self) -> None:
        self.trials: dict[str, TrialRecord] = {}
        self.started: SearchStarted | None = None
        self.ended: SearchEnded | None = None
        self.sessions = 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ events
    def apply(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, SearchStarted):
                self.started = event
                self.ended = None
                self.sessions += 1
            elif isinstance(event, TrialStarted):
                earlier = self.trials.get(event.trial_id)
                attempts = [*earlier.attempts, earlier.attempt_summary()] if earlier is not None else []
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
            elif isinstance(event, SearchEnded):
                self.ended = event

    def mark_interrupted(self) -> None:
        """Trials left running by a process that is gone become STOPPED."""
        with self._lock:
            for trial in self.trials.values():
                if trial.status is TrialStatus.RUNNING:
                    trial.status = TrialStatus.STOPPED
                    trial.message = trial.message or "interrupted before it finished"

    # ------------------------------------------------------------------ queries
    @property
    def objective(self) -> str:
        return self.started.objective if self.started else "val_loss"

    @property
    def direction(self) -> str:
        return self.started.direction if self.started else "min"

    def ordered(self) -> list[TrialRecord]:
        with self._lock:
            return sorted(self.trials.values(), key=lambda t: (t.number, t.trial_id))

    def snapshot(self) -> list[TrialRecord]:
        """A copy of every trial, in trial order, safe to read while the search goes on."""
        with self._lock:
            return [
                dataclasses.replace(
                    t,
                    hyperparameters=dict(t.hyperparameters),
                    curves={k: list(v) for k, v in t.curves.items()},
                    attempts=list(t.attempts),
                )
                for t in self.ordered()
            ]

    def completed(self) -> list[TrialRecord]:
        return [t for t in self.ordered() if t.status is TrialStatus.COMPLETED and _finite(t.score)]

    def best(self) -> TrialRecord | None:
        best: TrialRecord | None = None
        for t in self.completed():
            if best is None or better(t.score, best.score, self.direction):  # type: ignore[arg-type]
                best = t
        return best

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in TrialStatus}
        for t in self.ordered():
            out[t.status.value] += 1
        return out

    def trials_frame(self) -> pd.DataFrame:
        """One row per trial: id, number, status, score, epochs, duration, message, attempts, hyperparameters.

        ``epochs`` are the epochs the trial trained (a Hyperband trial carried on from epoch
        ``initial_epoch`` trained ``epochs`` more); ``attempts`` counts its runs (more than 1 when
        a crash or a stop cut one short), ``earlier_attempts`` says how those ended.
        """
        import pandas as pd

        rows = []
        for t in self.ordered():
            row: dict[str, Any] = {
                "trial_id": t.trial_id,
                "number": t.number,
                "status": t.status.value,
                "score": t.score,
                "best_epoch": t.best_epoch,
                "epochs": t.epochs,
                "initial_epoch": t.initial_epoch,
                "duration": t.duration,
                "worker": t.worker,
                "message": t.message,
                "attempts": 1 + len(t.attempts),
                "earlier_attempts": "; ".join(f"{i}: {a}" for i, a in enumerate(t.attempts, 1)),
            }
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


# ---------------------------------------------------------------------- on disk


class EventLog:
    """Appends events to ``events.jsonl``: flushed each line, synced at trial ends."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _repair_tail(self.path)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = json.dumps(event_to_dict(event), allow_nan=False)
        with self._lock:
            if self._file.closed:
                return
            self._file.write(line + "\n")
            self._file.flush()
            if isinstance(event, (TrialEnded, SearchEnded, SearchStarted)):
                os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()


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
    from ._atomic import atomic_write_text

    atomic_write_text(directory / "trials.csv", record.trials_frame().to_csv(index=False))
    atomic_write_text(directory / "curves.csv", record.curves_frame().to_csv(index=False))


# ---------------------------------------------------------------------- results


class Results:
    """A search's results, live or from disk: trials, curves, the best model.

    Get one with :func:`tunewidgets.load` or from ``Search.run()``.
    """

    def __init__(self, directory: Path, spec: Spec, record: SearchRecord):
        self.directory = Path(directory)
        self.spec = spec
        self.record = record
        self._dataset: Dataset | None = None
        self._best_model: keras.Model | None = None

    def __repr__(self) -> str:
        best = self.record.best()
        score = f"{best.score:.4g}" if best and best.score is not None else "none"
        return (
            f"<Results {self.directory} status={self.status} trials={len(self.record.trials)} "
            f"best {self.objective}={score}>"
        )

    # tables ---------------------------------------------------------------
    @property
    def trials(self) -> pd.DataFrame:
        """One row per trial: status, score, epochs, duration, message and every hyperparameter."""
        return self.record.trials_frame()

    @property
    def curves(self) -> pd.DataFrame:
        """One row per trial-epoch-metric: ``trial_id, execution, epoch, metric, value``."""
        return self.record.curves_frame()

    @property
    def objective(self) -> str:
        return self.record.objective

    @property
    def direction(self) -> str:
        return self.record.direction

    @property
    def status(self) -> str:
        """``completed``, ``stopped``, ``failed``, ``error``, ``interrupted`` or ``running``."""
        if self.record.ended is not None:
            return self.record.ended.reason.value
        return "running" if any(t.status is TrialStatus.RUNNING for t in self.record.trials.values()) else "interrupted"

    # best -----------------------------------------------------------------
    @property
    def best_trial(self) -> TrialRecord | None:
        return self.record.best()

    @property
    def best_score(self) -> float | None:
        best = self.record.best()
        return best.score if best else None

    @property
    def best_hyperparameters(self) -> dict[str, Any]:
        best = self.record.best()
        if best is None:
            raise LookupError("no trial has completed yet")
        return best.tuned_values()

    @property
    def dataset(self) -> Dataset:
        """The data splits the search used (read from the project directory)."""
        if self._dataset is None:
            from .data import Dataset

            self._dataset = Dataset.load(self.directory)
        return self._dataset

    def model(self, trial_id: str) -> keras.Model:
        """The trained model of one trial (weights of its best epoch). Imports Keras into this process."""
        from .evaluation import checkpoint_path
        from .hypermodel import SpecHyperModel, build_model, values_from_hp

        trial = self._trial(trial_id)
        checkpoint = checkpoint_path(self.directory, trial.trial_id)
        if not checkpoint.exists():
            raise FileNotFoundError(f"trial {trial_id} has no saved weights ({checkpoint})")
        values = values_from_hp(self.spec, self.dataset, trial.hyperparameters)
        model = build_model(values, self.dataset, SpecHyperModel(self.spec, self.dataset).epochs())
        model.optimizer.build(model.trainable_variables)  # the checkpoint holds optimizer state too
        model.load_weights(str(checkpoint))
        return model

    def _trial(self, trial_id: str) -> TrialRecord:
        trial = self.record.trials.get(trial_id)
        if trial is None:
            raise KeyError(f"no trial {trial_id!r} (trials: {', '.join(self.record.trials)})")
        return trial

    def _best(self) -> TrialRecord:
        best = self.record.best()
        if best is None:
            raise LookupError("no trial has completed yet")
        return best

    def best_model(self) -> keras.Model:
        """The best trial's trained model, in this process (imports Keras); save it with ``.save("best.keras")``."""
        if self._best_model is None:
            self._best_model = self.model(self._best().trial_id)
        return self._best_model

    def evaluate(self, trial_id: str | None = None) -> dict[str, float]:
        """A trial's (the best by default) metrics on the held-out test split.

        Measured in a worker process, so this process never imports TensorFlow and prints nothing;
        the figures are kept in the project folder (``evaluation.json``) for the next reader. A
        regression also gets its error in the target's own units (``target_rmse``, ``target_mae``).
        """
        from .evaluation import checkpoint_path, read_evaluation

        trial_id = trial_id or self._best().trial_id
        self._trial(trial_id)
        if len(self.dataset.x_test) == 0:
            raise LookupError("this search kept no test split (data.test_split is 0)")
        if not checkpoint_path(self.directory, trial_id).exists():
            raise FileNotFoundError(f"trial {trial_id} has no saved weights")
        scores = read_evaluation(self.directory, trial_id)
        if scores is None:
            from .workers import run_task

            run_task(self.directory, ["--evaluate", trial_id])
            scores = read_evaluation(self.directory, trial_id)
            if scores is None:  # pragma: no cover - the worker said it wrote them
                raise RuntimeError(f"the worker did not record the evaluation of trial {trial_id}")
        return scores

    @property
    def test_score(self) -> float:
        """The objective's metric (without ``val_``) for the best model on the test split."""
        metric = self.objective.removeprefix("val_")
        return self.evaluate()[metric]

    def test_summary(self) -> str:
        """The best model on the test split in one line (the error in the target's units for a regression)."""
        from .evaluation import describe_test_score

        ds = self.dataset
        return describe_test_score(self.evaluate(), self.objective, ds.task, ds.target_name)

    def save_best_model(self, path: str | os.PathLike[str]) -> Path:
        """Saves the best model as a ``.keras`` file (in a worker process: this one never imports TensorFlow)."""
        p = Path(path)
        if p.suffix != ".keras":
            raise ValueError(f"a Keras model file ends in .keras, got {p.name}")
        best = self._best()
        from .workers import run_task

        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            run_task(self.directory, ["--save-model", best.trial_id, str(p.resolve())])
        except RuntimeError as e:
            raise OSError(f"could not save the model to {p}: {e}") from None
        return p

    def write_tables(self) -> None:
        write_tables(self.record, self.directory)


def load(directory: str | os.PathLike[str]) -> Results:
    """Opens the results of a search (finished, stopped, interrupted or running).

    Example:
        >>> r = tunewidgets.load("runs/quickstart")   # doctest: +SKIP
        >>> r.trials.sort_values("score").tail(3)      # doctest: +SKIP
    """
    from .errors import ProjectError
    from .lock import is_locked
    from .spec import read_spec

    d = Path(directory)
    if not (d / SPEC_FILE).exists():
        raise ProjectError(f"{d} holds no tunewidgets search (no {SPEC_FILE})")
    spec = read_spec(d / SPEC_FILE)
    record = SearchRecord()
    for event in read_events(d / EVENTS_FILE):
        record.apply(event)
    if record.ended is None and not is_locked(d):
        record.mark_interrupted()
    return Results(d, spec, record)


__all__ = ["EndReason", "Results", "SearchRecord", "TrialRecord", "load"]
