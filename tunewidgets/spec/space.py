"""The search-space rules, in one place: which knobs a spec searches, under which names, when each
applies, what values it can take, how long a trial trains and how many steps an epoch has.

The keras-tuner search space (:mod:`tunewidgets.model.hyperparameters`), the budget
(:mod:`tunewidgets.spec.budget`), the size guard (:mod:`tunewidgets.spec.size`), the generated
Keras code, the plots and the dashboard all read these; adding a knob means describing its field
(:mod:`tunewidgets.spec.fields`) and, if its hyperparameter name differs, :data:`HP_NAMES`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .knobs import Choice, Fixed, Knob, Range
from .sections import field_info, section_fields

if TYPE_CHECKING:
    from .spec import Spec

#: The sections whose knobs become hyperparameters (data and tuner hold plain settings).
TUNED_SECTIONS = ("model", "regularization", "optimizer", "training")

#: hyperparameter names that differ from their spec field names
HP_NAMES = {
    ("optimizer", "name"): "optimizer",
    ("optimizer", "schedule"): "lr_schedule",
    ("regularization", "strength"): "penalty_strength",
}

#: How many per-layer ``units_i`` names a free-shaped network can have (layers are at most 32).
MAX_LAYERS = 64


def hp_name(section: str, name: str) -> str:
    """The keras-tuner hyperparameter name of a spec field."""
    return HP_NAMES.get((section, name), name)


def possible(value: Any, kind: str) -> tuple[Any, ...]:
    """Every value a knob (or a plain setting) can take; the two ends of a continuous range."""
    if isinstance(value, Range):
        if kind == "int" and not value.log:
            return tuple(range(int(value.min), int(value.max) + 1, int(value.step or 1)))
        return value.values()
    if isinstance(value, (Fixed, Choice)):
        return value.values()
    return (value,)


def conditions(spec: Spec, section: str, name: str) -> list[tuple[str, list[Any]]] | None:
    """When ``section.name`` applies: ``None`` never, ``[]`` always, else while each ``(hyperparameter,
    values)`` holds (momentum: while ``optimizer`` is ``sgd``), as keras-tuner's conditional scopes say it."""
    info = field_info(section, name)
    if info.active_when is None:
        return []
    parent, values = info.active_when
    if section == "data" and parent == "name" and spec.data.source != "builtin":
        return None
    above = conditions(spec, section, parent)
    if above is None:
        return None
    raw = getattr(getattr(spec, section), parent)
    parent_info = field_info(section, parent)
    matching = [v for v in possible(raw, parent_info.kind) if v in values]
    if not matching:
        return None
    if not parent_info.tunable or isinstance(raw, Fixed):
        return above
    return [*above, (hp_name(section, parent), matching)]


def is_active(spec: Spec, section: str, name: str) -> bool:
    """Whether ``section.name`` can matter for this spec (its condition can hold)."""
    return conditions(spec, section, name) is not None


def tuned_fields(spec: Spec) -> Iterator[tuple[str, str, Any, Knob]]:
    """``(section, name, info, knob)`` of every knob that can matter, in declaration order (with the user's own
    hypermodel, the training section's only: the hypermodel declares the rest)."""
    sections = ("training",) if getattr(spec, "hypermodel", None) is not None else TUNED_SECTIONS
    for section in sections:
        for name, info in section_fields(section):
            if info.tunable and is_active(spec, section, name):
                yield section, name, info, getattr(getattr(spec, section), name)


def tuned_knobs(spec: Spec) -> int:
    """How many knobs of the spec are searched (not fixed, and able to matter)."""
    return sum(1 for *_, k in tuned_fields(spec) if not isinstance(k, Fixed))


def _with_units(names: set[str]) -> set[str]:
    return names | {f"units_{i}" for i in range(1, MAX_LAYERS)} if "units" in names else names


def log_scaled(spec: Spec) -> set[str]:
    """Hyperparameter names searched on a log scale (``units_1``... follow ``units``)."""
    return _with_units({hp_name(s, n) for s, n, _, k in tuned_fields(spec) if isinstance(k, Range) and k.log})


def categorical(spec: Spec) -> set[str]:
    """Hyperparameter names searched among a few numbers (``dropout`` in {0, 0.25}): drawn as categories,
    not on a continuous axis (``units_1``... follow ``units``)."""
    return _with_units(
        {
            hp_name(s, n)
            for s, n, info, k in tuned_fields(spec)
            if isinstance(k, Choice) and info.kind in ("int", "float")
        }
    )


def epochs_per_trial(spec: Spec) -> int:
    """The most epochs one trial trains (Hyperband: its ``max_epochs``; else ``training.epochs``)."""
    t = spec.tuner
    return t.max_epochs if t.algorithm == "hyperband" else spec.training.epochs


def folds(spec: Spec) -> int | None:
    """Cross-validation folds a trial trains (None: one validation split)."""
    k = spec.tuner.folds
    return int(k) if k and spec.tuner.algorithm != "hyperband" else None


def runs_per_trial(spec: Spec) -> int:
    """Models each trial trains: one per fold with cross-validation, else ``executions_per_trial``."""
    return folds(spec) or spec.tuner.executions_per_trial


def steps_per_epoch(rows: int, batch_size: int) -> int:
    """Weight updates in one epoch over ``rows`` training rows (the last batch may be partial)."""
    return max(1, math.ceil(rows / batch_size))


def knob_size(k: Knob, kind: str) -> float:
    """Distinct values a knob can take (``inf`` for a continuous range)."""
    if isinstance(k, Fixed):
        return 1
    if isinstance(k, Choice):
        return len(k.options)
    if isinstance(k, Range):
        if kind == "int" and k.step is None and not k.log:
            return int(k.max) - int(k.min) + 1
        size = k.size()
        return math.inf if size is None else size
    return 1  # pragma: no cover


__all__ = [
    "HP_NAMES",
    "TUNED_SECTIONS",
    "categorical",
    "conditions",
    "epochs_per_trial",
    "folds",
    "runs_per_trial",
    "hp_name",
    "is_active",
    "knob_size",
    "log_scaled",
    "possible",
    "steps_per_epoch",
    "tuned_fields",
    "tuned_knobs",
]
