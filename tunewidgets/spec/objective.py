"""The objective: which metric decides the best trial, and in which direction (known for Keras' metrics)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Issue
from ..events import Direction
from .parse import show

if TYPE_CHECKING:
    from .spec import Spec

CLASSIFICATION_OBJECTIVES = ("accuracy", "val_accuracy")
REGRESSION_OBJECTIVES = ("mae", "val_mae")

#: Words in Keras' metric names whose value should go up; any other known metric (a loss, an error) goes down.
_HIGHER_IS_BETTER = ("accuracy", "auc", "precision", "recall", "f1_score", "fbeta", "iou", "r2_score", "cosine")
_LOWER_IS_BETTER = ("loss", "error", "crossentropy", "hinge", "divergence", "poisson", "logcosh", "mae", "mse", "rmse")


def infer_direction(metric: str) -> Direction | None:
    """The direction of a Keras metric, from its name (``val_`` and the like included); None when not known."""
    name = metric.lower()
    if name.startswith("val_"):
        name = name[4:]
    if any(word in name for word in _HIGHER_IS_BETTER) or name in ("acc", "precision", "recall"):
        return Direction.MAX
    if any(word in name for word in _LOWER_IS_BETTER) or name.endswith(("_error", "mape", "msle")):
        return Direction.MIN
    return None


def resolve_objective(spec: Spec, task: str | None) -> tuple[str, Direction]:
    """The objective name and direction for a task (the direction its name says when ``auto``, else ``min``)."""
    objective = spec.tuner.objective
    if objective == "auto":  # the user's own model: its validation loss, which every compiled model logs
        objective = "val_loss" if task in ("regression", "custom") else "val_accuracy"
    natural = infer_direction(objective) or Direction.MIN
    return objective, natural if spec.tuner.direction == "auto" else Direction.read(spec.tuner.direction, natural)


def objective_issues(spec: Spec, task: str | None) -> list[Issue]:
    """Problems of the objective for a (possibly inferred) task."""
    issues: list[Issue] = []
    objective = spec.tuner.objective
    if task == "regression" and objective in CLASSIFICATION_OBJECTIVES:
        issues.append(Issue("tuner.objective", f"{objective} needs a classification task; this is regression"))
    if task in ("binary", "multiclass") and objective in REGRESSION_OBJECTIVES:
        issues.append(Issue("tuner.objective", f"{objective} needs a regression task; this is {task} classification"))
    name, direction = resolve_objective(spec, task)
    natural = infer_direction(name)
    if spec.tuner.direction != "auto" and natural is not None and direction != natural:
        issues.append(
            Issue("tuner.direction", f"{name} should be {'maximized' if natural is Direction.MAX else 'minimized'}")
        )
    return issues


def metric_issues(spec: Spec) -> list[Issue]:
    """Your own model's objective: any metric name it logs (checked when its first epoch reports), with a
    direction given or known."""
    objective, direction = spec.tuner.objective, spec.tuner.direction
    if not isinstance(objective, str) or not objective.strip() or objective != objective.strip():
        return [Issue("tuner.objective", f"expected the name of a metric the model logs, got {show(objective)}")]
    if objective != "auto" and direction == "auto" and infer_direction(objective) is None:
        return [
            Issue(
                "tuner.direction",
                f"whether {objective} should go up or down is not known: set tuner.direction to max or min "
                "(keras_tuner.Objective's direction)",
            )
        ]
    return []


__all__ = [
    "CLASSIFICATION_OBJECTIVES",
    "REGRESSION_OBJECTIVES",
    "infer_direction",
    "metric_issues",
    "objective_issues",
    "resolve_objective",
]
