"""Facts about the built-in data sets that checks and estimates need without loading any data."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import Spec

IMAGE_DATASETS = ("digits",)
BUILTIN_TASKS = {
    "classification": None,  # binary or multiclass, from data.classes
    "moons": "binary",
    "circles": "binary",
    "xor": "binary",
    "gaussian": "binary",
    "spiral": "binary",
    "regression": "regression",
    "iris": "multiclass",
    "wine": "multiclass",
    "breast_cancer": "binary",
    "digits": "multiclass",
    "diabetes": "regression",
}
#: ``(input shape, classes)`` of the built-in sets that do not depend on the data knobs
BUILTIN_SHAPES: dict[str, tuple[tuple[int, ...], int | None]] = {
    "moons": ((2,), 2),
    "circles": ((2,), 2),
    "xor": ((2,), 2),
    "gaussian": ((2,), 2),
    "spiral": ((2,), 2),
    "iris": ((4,), 3),
    "wine": ((13,), 3),
    "breast_cancer": ((30,), 2),
    "digits": ((8, 8, 1), 10),
    "diabetes": ((10,), None),
}


def builtin_task(spec: Spec) -> str | None:
    """The task of the spec's built-in data set, or ``None`` for other sources."""
    d = spec.data
    if d.source != "builtin" or d.name not in BUILTIN_TASKS:
        return None
    task = BUILTIN_TASKS[d.name]
    if task is None:
        task = "binary" if d.classes == 2 else "multiclass"
    return task


def builtin_shape(spec: Spec) -> tuple[tuple[int, ...], int] | None:
    """``(input shape, output units)`` of the spec's built-in data set; ``None`` for other sources."""
    d = spec.data
    if d.source != "builtin":
        return None
    shape: tuple[int, ...]
    classes: int | None
    if d.name in ("classification", "regression"):
        shape, classes = (d.features,), (d.classes if d.name == "classification" else None)
    elif d.name in BUILTIN_SHAPES:
        shape, classes = BUILTIN_SHAPES[d.name]
    else:
        return None
    return shape, output_units(known_task(spec), classes)


def output_units(task: str | None, classes: int | None) -> int:
    """Units of the output layer: one per class for multiclass, else one."""
    return int(classes or 2) if task == "multiclass" else 1


def known_task(spec: Spec) -> str | None:
    """The task as far as it is known without loading data."""
    if spec.data.task != "auto":
        return spec.data.task
    return builtin_task(spec)


def informative_features(classes: int) -> int:
    """Informative features make_classification needs for ``classes`` classes."""
    return max(2, math.ceil(math.log2(max(classes, 2))) + 1)
