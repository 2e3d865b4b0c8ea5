"""Size of a spec's search space and how much work it plans (no TensorFlow needed)."""

from __future__ import annotations

import math
from typing import Any

from .spec.knobs import Choice, Fixed, Knob, Range
from .spec.model import Spec, field_info, is_active, section_fields

TUNED_SECTIONS = ("model", "regularization", "optimizer", "training")

#: hyperparameter names that differ from their spec field names
HP_NAMES = {
    ("optimizer", "name"): "optimizer",
    ("optimizer", "schedule"): "lr_schedule",
    ("regularization", "strength"): "penalty_strength",
}


def hp_name(section: str, name: str) -> str:
    """The keras-tuner hyperparameter name of a spec field."""
    return HP_NAMES.get((section, name), name)


def log_scaled(spec: Spec) -> set[str]:
    """Hyperparameter names searched on a log scale (``units_1``... follow ``units``)."""
    out = set()
    for section in TUNED_SECTIONS:
        for name, info in section_fields(section):
            value = getattr(getattr(spec, section), name)
            if info.tunable and isinstance(value, Range) and value.log:
                out.add(hp_name(section, name))
    if "units" in out:
        out |= {f"units_{i}" for i in range(1, 64)}
    return out


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


def _values(k: Knob) -> tuple[Any, ...]:
    if isinstance(k, Range):
        return tuple(range(int(k.min), int(k.max) + 1, int(k.step or 1)))
    return k.values()


def search_space_size(spec: Spec) -> float:
    """Number of distinct hyperparameter combinations (``inf`` when any range is continuous).

    Knobs that only apply for some values of another (momentum for SGD) count
    only for those values, as keras-tuner's conditional scopes make them.
    """
    total: float = 1
    for section in TUNED_SECTIONS:
        sec = getattr(spec, section)
        fields = dict(section_fields(section))
        children: dict[str, list[str]] = {}
        for name, info in fields.items():
            if info.tunable and info.active_when and fields.get(info.active_when[0]) is not None:
                parent = info.active_when[0]
                if fields[parent].tunable:
                    children.setdefault(parent, []).append(name)
        for name, info in fields.items():
            if not info.tunable or not is_active(spec, section, name):
                continue
            if info.active_when and fields[info.active_when[0]].tunable:
                continue  # counted with its parent
            if section == "model" and name in ("units", "layers", "shape"):
                continue  # counted together below
            parent_knob = getattr(sec, name)
            kids = children.get(name, [])
            if not kids:
                total *= knob_size(parent_knob, info.kind)
                continue
            subtotal: float = 0
            for value in parent_knob.values():
                branch: float = 1
                for kid in kids:
                    if value in field_info(section, kid).active_when[1]:  # type: ignore[index]
                        branch *= knob_size(getattr(sec, kid), field_info(section, kid).kind)
                subtotal += branch
            total *= subtotal
    return total * _layer_space(spec)


def _layer_space(spec: Spec) -> float:
    m = spec.model
    units = knob_size(m.units, "int")
    total: float = 0
    for shape in m.shape.values():
        for layers in _values(m.layers):
            if layers == 0:
                total += 1
            elif shape == "free":
                total += units ** int(layers)
            else:
                total += units
    return total


def hyperband_trials(max_epochs: int, factor: int, iterations: int = 1) -> list[tuple[int, int]]:
    """``(epochs, initial_epoch)`` of every trial keras-tuner's Hyperband runs, in bracket order."""

    def size(bracket: int, rnd: int) -> int:
        end = math.ceil(1 + math.log(max_epochs, factor)) / (bracket + 1)
        return math.ceil(end * factor ** (bracket - rnd))

    def epochs(bracket: int, rnd: int) -> int:
        return math.ceil(max_epochs / factor ** (bracket - rnd))

    brackets, e = 0, float(max_epochs)
    while e >= 1:
        e /= factor
        brackets += 1
    out: list[tuple[int, int]] = []
    for _ in range(iterations):
        for b in range(brackets - 1, -1, -1):
            for r in range(b + 1):
                start = 0 if r == 0 else epochs(b, r - 1)
                out.extend([(epochs(b, r), start)] * size(b, r))
    return out


def planned_trials(spec: Spec) -> int:
    """How many trials the search will run at most."""
    t = spec.tuner
    if t.algorithm == "hyperband":
        return len(hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations))
    size = search_space_size(spec)
    return int(min(t.max_trials, size))


def planned_epochs(spec: Spec) -> int:
    """Total training epochs the search will run at most (all trials, all executions)."""
    t = spec.tuner
    if t.algorithm == "hyperband":
        per_run = sum(end - start for end, start in hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations))
    else:
        per_run = planned_trials(spec) * spec.training.epochs
    return per_run * t.executions_per_trial


def describe(spec: Spec) -> str:
    """One line for people: space size, trials and epochs."""
    size = search_space_size(spec)
    size_text = "continuous (infinite)" if math.isinf(size) else f"{int(size):,} combinations"
    return (
        f"Search space: {size_text}; {spec.tuner.algorithm} search runs up to {planned_trials(spec)} trials, "
        f"{planned_epochs(spec):,} epochs in all"
    )
