"""A trial's model on the held-out test split: measured in a worker process, kept in ``evaluation.json``.

The caller (a notebook's kernel, ``tunewidgets report``) never imports TensorFlow for it:
:meth:`tunewidgets.engine.results.Results.evaluate` hands the work to a worker process
(:func:`tunewidgets.engine.warm.run_task`) and reads the figures back from the project folder, where
they stay for the next reader.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from .._atomic import atomic_write_json
from .project import Project

if TYPE_CHECKING:
    from ..data import Dataset


def measure(model: Any, ds: Dataset) -> dict[str, float]:
    """The trial's model on the test split: Keras' loss and metrics; for a regression also the error in
    the target's own units (``target_rmse``, ``target_mae``: the losses are on the standardized target).
    Imports Keras: for worker processes."""
    if len(ds.x_test) == 0:
        raise LookupError("this search kept no test split (data.test_split is 0)")
    values = model.evaluate(ds.x_test, ds.y_test, verbose=0, return_dict=True)
    out = {k: float(v) for k, v in values.items()}
    if ds.task == "regression":
        import numpy as np

        predicted = np.asarray(model.predict(ds.x_test, verbose=0), dtype=np.float64).reshape(-1)
        errors = (predicted - ds.y_test.astype(np.float64).reshape(-1)) * ds.target_std
        out["target_rmse"] = float(math.sqrt(np.mean(errors**2)))
        out["target_mae"] = float(np.mean(np.abs(errors)))
    return out


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
