"""The start of a run, as a ``SearchStarted`` event: what it will train, what the data preparation did, what
came before (a resumed search's finished trials and best)."""

from __future__ import annotations

from typing import Any

from ..events import SearchStarted
from ..spec import Spec
from ..spec.budget import budget_notes, describe, planned_epochs, planned_trials
from ..spec.space import epochs_per_trial, runs_per_trial
from ..spec.validate import resolve_objective
from .folder.record import SearchRecord


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


__all__ = ["search_started"]
