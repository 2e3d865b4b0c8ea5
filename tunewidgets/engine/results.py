"""A search's results, live or from disk: trials, curves, the best model, its test score.

:func:`tunewidgets.engine.opened.load` reads a folder's record (:mod:`tunewidgets.engine.folder.store`: the event
log, with each ended trial from its own file) into the same
:class:`~tunewidgets.engine.folder.record.SearchRecord` the live views use.
Nothing here imports TensorFlow: scoring on the test split and saving the best model happen in a worker
process; only :meth:`Results.model` and :meth:`Results.best_model` bring Keras into this process, since
they return Keras models.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ProjectError
from ..events import Direction, TrialStatus
from .folder.evaluation import describe_test_score, read_evaluation
from .folder.eventlog import write_tables
from .folder.project import Project
from .folder.record import SearchRecord, TrialRecord
from .warm import run_task

if TYPE_CHECKING:
    import keras
    import pandas as pd

    from ..data import Dataset
    from ..spec import Spec


class SearchStatus(str, enum.Enum):
    """Where a search stands, as its folder tells."""

    COMPLETED = "completed"  # every planned trial ran
    STOPPED = "stopped"  # stopped by request; can be resumed
    FAILED = "failed"  # too many trials failed in a row
    ERROR = "error"  # the search itself broke
    TARGET_REACHED = "target_reached"  # a trial reached the spec's target
    INTERRUPTED = "interrupted"  # its process went away mid-search (killed, a crash)
    RUNNING = "running"

    def __str__(self) -> str:
        return self.value


class Results:
    """A search's results, live or from disk: trials, curves, the best model.

    Get one with :func:`tunewidgets.load` or from ``Search.run()``.
    """

    def __init__(self, directory: Path, spec: Spec, record: SearchRecord):
        self.directory = Path(directory)
        self.project = Project(self.directory)
        self.spec = spec
        self.record = record
        #: what could not be read of the folder (a damaged event log), and where the record came from instead
        self.notes: list[str] = []
        self._dataset: Any = None  # Dataset, or the user's arrays (UserData)
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
        """The metric the search ranks trials by (``"val_accuracy"``), as the search recorded it."""
        return self.record.objective

    # what the views say of the search ----------------------------------------
    @property
    def name(self) -> str:
        """The search's name (the spec's ``name``)."""
        return self.spec.name

    @property
    def strategy(self) -> str:
        """The search strategy in words: ``random``, ``tpe + asha``..."""
        t = self.spec.tuner
        return t.algorithm + (f" + {t.pruning}" if t.pruning != "none" else "")

    @property
    def log_scaled(self) -> set[str]:
        """Hyperparameters searched on a log scale (drawn on log axes)."""
        from ..spec.space import log_scaled

        return log_scaled(self.spec)

    @property
    def categorical(self) -> set[str]:
        """Numbers searched among a few values (drawn as categories)."""
        from ..spec.space import categorical

        return categorical(self.spec)

    #: Said where the training curves would be, when the folder holds none (a plain keras-tuner folder).
    curves_note = ""

    @property
    def direction(self) -> Direction:
        """Whether a higher (``max``) or a lower (``min``) objective is better (compares equal to those words)."""
        return self.record.direction

    @property
    def status(self) -> SearchStatus:
        """Completed, stopped, failed, error, interrupted or running (compares equal to those words)."""
        if self.record.ended is not None:
            return SearchStatus(self.record.ended.reason.value)
        running = any(t.status is TrialStatus.RUNNING for t in self.record.trials.values())
        return SearchStatus.RUNNING if running else SearchStatus.INTERRUPTED

    # best -----------------------------------------------------------------
    @property
    def best_trial(self) -> TrialRecord | None:
        """The trial with the best score (its hyperparameters, score, best epoch, curves), or None before any
        trial completed."""
        return self.record.best()

    @property
    def best_score(self) -> float | None:
        """The best trial's score (its objective at its best epoch), or None before any trial completed."""
        best = self.record.best()
        return best.score if best else None

    @property
    def best_hyperparameters(self) -> dict[str, Any]:
        """The best trial's hyperparameters, by name; ``LookupError`` before any trial completed."""
        best = self.record.best()
        if best is None:
            raise LookupError("no trial has completed yet")
        return best.tuned_values()

    @property
    def dataset(self) -> Dataset:
        """The data splits the search used (read from the project directory)."""
        if self._dataset is None:
            from ..data import Dataset

            self._dataset = Dataset.load(self.project.data_arrays, self.project.data_meta)
        return self._dataset

    def model(self, trial_id: str) -> keras.Model:
        """The trained model of one trial (weights of its best epoch). Imports Keras into this process."""
        from ..model.build import trained_model

        trial = self._trial(trial_id)
        checkpoint = self.project.checkpoint(trial.trial_id)
        if not checkpoint.exists():
            raise FileNotFoundError(f"trial {trial_id} has no saved weights ({checkpoint})")
        return trained_model(self.spec, self.dataset, trial.hyperparameters, checkpoint)

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
        trial_id = trial_id or self._best().trial_id
        self._trial(trial_id)
        if len(self.dataset.x_test) == 0:
            raise LookupError("this search kept no test split (data.test_split is 0)")
        if not self.project.checkpoint(trial_id).exists():
            raise FileNotFoundError(f"trial {trial_id} has no saved weights")
        scores = read_evaluation(self.project, trial_id)
        if scores is None:
            run_task(self.directory, ["--evaluate", trial_id])
            scores = read_evaluation(self.project, trial_id)
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
        ds = self.dataset
        return describe_test_score(self.evaluate(), self.objective, ds.task, ds.target_name)

    def save_best_model(self, path: str | os.PathLike[str]) -> Path:
        """Saves the best model as a ``.keras`` file (in a worker process: this one never imports TensorFlow).

        Raises:
            ProjectError: the path does not end in ``.keras``, or the file cannot be written there (why is said).
        """
        p = Path(path)
        if p.suffix != ".keras":
            raise ProjectError(f"path: a Keras model file ends in .keras, got {p.name}")
        best = self._best()
        blocking = next((f for f in p.resolve().parents if f.exists() and not f.is_dir()), None)
        if blocking is not None:
            raise ProjectError(f"path: could not save the model to {p.resolve()}: {blocking} is a file, not a folder")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            run_task(self.directory, ["--save-model", best.trial_id, str(p.resolve())])
        except (RuntimeError, OSError) as e:
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise ProjectError(f"path: could not save the model to {p.resolve()}: {why}") from None
        return p

    def model_code(self, trial_id: str | None = None) -> str:
        """Plain Keras code that builds a trial's model (the best by default), for students to read and reuse.

        Written from the recorded hyperparameters: no Keras, no TensorFlow in this process.
        """
        from ..model.codegen import model_code
        from ..model.hyperparameters import values_from_hp
        from ..spec.space import epochs_per_trial, steps_per_epoch

        trial = self._trial(trial_id or self._best().trial_id)
        ds = self.dataset
        values = values_from_hp(self.spec, trial.hyperparameters)
        steps = steps_per_epoch(len(ds.x_train), int(values["batch_size"]))
        return model_code(values, ds.input_shape, ds.task, ds.n_classes, steps, epochs_per_trial(self.spec))

    def write_tables(self) -> None:
        write_tables(self.record, self.directory)


__all__ = ["Results", "SearchStatus"]
