"""A trial's model on the held-out test split: measured in a worker process, kept in ``evaluation.json``.

The caller (a notebook's kernel, ``tunewidgets report``) never imports TensorFlow for it:
:meth:`tunewidgets.engine.results.Results.evaluate` hands the work to a worker process
(:mod:`tunewidgets.engine.worker.task`) and reads the figures back from the project folder, where
they stay for the next reader.
"""

from __future__ import annotations

import json
from typing import Any

from ..._atomic import atomic_write_json
from .project import Project


def write_evaluation(project: Project, trial_id: str, metrics: dict[str, float]) -> None:
    checkpoint = project.checkpoint(trial_id)
    atomic_write_json(
        project.evaluation, {"trial_id": trial_id, "checkpoint_mtime": checkpoint.stat().st_mtime, "metrics": metrics}
    )


def read_evaluation(project: Project, trial_id: str) -> dict[str, float] | None:
    """The figures kept for this trial, if they were measured on its current checkpoint."""
    try:
        saved: dict[str, Any] = json.loads(project.evaluation.read_text(encoding="utf-8"))
        checkpoint = project.checkpoint(trial_id).stat().st_mtime
    except (OSError, ValueError):
        return None
    if saved.get("trial_id") != trial_id or saved.get("checkpoint_mtime") != checkpoint:
        return None
    return {str(k): float(v) for k, v in saved.get("metrics", {}).items()}


def describe_test_score(metrics: dict[str, float], objective: str, task: str, target: str) -> str:
    """One line for people: ``accuracy = 0.8950`` or, for a regression, the error in the target's units too."""
    metric = objective.removeprefix("val_")
    value = metrics.get(metric)
    text = f"{metric} = {value:.4f}" if value is not None else ", ".join(f"{k} = {v:.4g}" for k, v in metrics.items())
    if task == "regression":
        if metric in ("loss", "mae"):
            text += " (on the standardized target)"
        if "target_rmse" in metrics:
            text += f"; in the units of '{target}': RMSE {metrics['target_rmse']:.4g}, MAE {metrics['target_mae']:.4g}"
    return text
