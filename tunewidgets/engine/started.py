"""The start of a run: its data prepared (or read back) and checked against the spec, whether it has anything
left to train, and the ``SearchStarted`` event that says what it will train, what the data preparation did and
what came before (a resumed search's finished trials and best)."""

from __future__ import annotations

from typing import Any

from .. import sklearn_helper
from ..data import Dataset
from ..data.arrays import UserData
from ..data.prepare import fold_issues
from ..errors import SpecError
from ..events import EndReason, SearchStarted
from ..spec import Spec
from ..spec.budget import budget_notes, describe, planned_epochs, planned_trials
from ..spec.datasets import output_units
from ..spec.space import epochs_per_trial, runs_per_trial
from ..spec.validate import objective_issues, resolve_objective, size_issues
from .folder.project import Project
from .folder.record import SearchRecord
from .machine_checks import check_disk
from .own_model import user_data


def search_started(spec: Spec, dataset: Any, record: SearchRecord, *, resumed: bool, notes: list[str]) -> SearchStarted:
    """``notes``: what to read before training (a damaged log read again, the disk), before the budget's notes."""
    objective, direction = resolve_objective(spec, dataset.task)
    best = record.best()
    return SearchStarted(
        name=spec.name,
        objective=objective,
        direction=direction,
        algorithm=spec.tuner.algorithm,
        planned_trials=planned_trials(spec),
        epochs=epochs_per_trial(spec),
        resumed=resumed,
        data_summary=dataset.summary(),
        plan=describe(spec),
        planned_epochs=planned_epochs(spec),
        runs_per_trial=runs_per_trial(spec),
        data_report=[line for line in dataset.report if line != dataset.summary()],
        notes=notes + budget_notes(spec),
        finished_trials=[t.trial_id for t in record.ordered() if t.status.is_finished()],
        best_trial_id=best.trial_id if best else None,
        best_score=best.score if best else None,
    )


def prepared_data(project: Project, spec: Spec, data: Any, arrays: Any) -> Dataset | UserData:
    """A run's data: the user's arrays as given, the data prepared by an earlier run of this folder, or the spec's
    data prepared now (in the scikit-learn helper, :mod:`..sklearn_helper`), checked against the spec (the
    objective, the size guard, the folds, the disk) and saved."""
    if arrays is not None:  # the user's arrays, as given: written once, read memory-mapped by workers
        return user_data(project, arrays)
    if project.has_data():
        return Dataset.load(project.data_arrays, project.data_meta)
    dataset = sklearn_helper.call(sklearn_helper.PREPARE, spec.data, data)  # not in a notebook's kernel
    issues = objective_issues(spec, dataset.task)
    # the size guard, now that the inputs are known (a CSV file's encoded columns, its classes)
    issues = issues or size_issues(spec, dataset.input_shape, output_units(dataset.task, dataset.n_classes))
    issues = issues or fold_issues(spec, dataset)
    if issues:
        raise SpecError(issues)
    check_disk(spec, dataset, project.directory)
    dataset.save(project.data_arrays, project.data_meta)
    return dataset


def nothing_to_train(record: SearchRecord) -> tuple[EndReason, str] | None:
    """Why a resumed search trains nothing (it already completed or reached its target), or None."""
    ended = record.ended
    if ended is None or ended.reason not in (EndReason.COMPLETED, EndReason.TARGET_REACHED):
        return None
    n = len(record.trials)
    trials = f"{n} trial{'s' if n != 1 else ''}"
    what = f"reached its target ({trials})" if ended.reason is EndReason.TARGET_REACHED else f"completed its {trials}"
    return ended.reason, f"nothing to train: this search already {what} (overwrite starts it afresh)"


__all__ = ["nothing_to_train", "prepared_data", "search_started"]
