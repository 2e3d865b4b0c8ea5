"""What a spec field is: its kind, bounds, options, when it applies and its help text.

Every field of a spec section carries a :class:`FieldInfo` in its dataclass metadata. That one
description drives JSON parsing, validation, the keras-tuner search space and the dashboard's
controls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .knobs import Knob


@dataclass(frozen=True)
class FieldInfo:
    """What one spec field holds and how it may be set.

    Attributes:
        kind: ``"int"``, ``"float"``, ``"str"``, ``"bool"`` or ``"strlist"``.
        tunable: whether the field is a knob (fixed / range / choices) rather
            than a plain setting.
        options: the allowed values of a ``str`` field.
        lo, hi: hard bounds of a numeric field; ``lo_open``/``hi_open`` exclude them.
        nullable: whether ``null`` is allowed (a plain setting only).
        active_when: ``(sibling, values)``: the field applies only when the
            sibling field of the same section takes one of ``values``.
        label: a short name for the dashboard.
        help: one or two sentences for students.
    """

    kind: str
    tunable: bool = False
    options: tuple[Any, ...] | None = None
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    nullable: bool = False
    active_when: tuple[str, tuple[Any, ...]] | None = None
    label: str = ""
    help: str = ""


def _field(default: Any, info: FieldInfo) -> Any:
    return field(default=default, metadata={"info": info})


def knob(default: Knob, kind: str, **kw: Any) -> Any:
    return _field(default, FieldInfo(kind, tunable=True, **kw))


def setting(default: Any, kind: str, **kw: Any) -> Any:
    return _field(default, FieldInfo(kind, **kw))


BUILTIN_DATASETS = (
    "classification",
    "moons",
    "circles",
    "xor",
    "gaussian",
    "spiral",
    "regression",
    "iris",
    "wine",
    "breast_cancer",
    "digits",
    "diabetes",
)
SYNTHETIC_DATASETS = ("classification", "moons", "circles", "xor", "gaussian", "spiral", "regression")
TASKS = ("auto", "binary", "multiclass", "regression")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "leaky_relu")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "exponential", "cosine", "step")
PENALTIES = ("none", "l1", "l2", "l1_l2")
ALGORITHMS = ("random", "bayesian", "tpe", "hyperband", "grid")
OBJECTIVES = ("auto", "val_accuracy", "val_loss", "accuracy", "loss", "val_mae", "mae")
