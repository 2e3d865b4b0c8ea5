"""What a search will train: the size of its space, its trials and epochs, Bayesian random starts.

Every tuner trains exactly what :func:`planned_trials` and :func:`planned_epochs` say (tested for
each); :func:`describe` is the sentence ``validate``, the dashboard and the start of a run show.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .sections import field_info, section_fields
from .space import TUNED_SECTIONS, folds, is_active, knob_size, possible, runs_per_trial, tuned_knobs

if TYPE_CHECKING:
    from .spec import Spec


def search_space_size(spec: Spec) -> float:
    """Number of distinct hyperparameter combinations (``inf`` when any range is continuous).

    Knobs that only apply for some values of another (momentum for SGD) count
    only for those values, as keras-tuner's conditional scopes make them.
    """
    if spec.hypermodel is not None:  # the user's hypermodel declares its space: unknown until it is built
        return math.inf
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
        for layers in possible(m.layers, "int"):
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
    """How many trials the search trains: every tuner runs exactly this many (unless stopped or failing).

    Random, Bayesian and grid search train ``tuner.max_trials`` trials, or every combination of a
    smaller space; Hyperband's brackets decide its own number from ``max_epochs`` and ``factor``.
    """
    t = spec.tuner
    if t.algorithm == "hyperband":
        return len(hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations))
    size = search_space_size(spec)
    return int(min(t.max_trials, size))


def planned_epochs(spec: Spec) -> int:
    """Epochs the search trains in all (every trial, every run); fewer only with early stopping."""
    t = spec.tuner
    if t.algorithm == "hyperband":
        per_run = sum(end - start for end, start in hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations))
    else:
        per_run = planned_trials(spec) * spec.training.epochs
    return per_run * runs_per_trial(spec)


def random_starts(spec: Spec) -> int | None:
    """Bayesian optimization: the random trials before its model of the objective chooses (None otherwise).

    ``tuner.initial_points``, or by default a third of the trials, at most three per searched knob,
    at least two (keras-tuner's own default, three per hyperparameter, fixed ones included, is often
    more than the whole budget, which makes the search random under another name).
    """
    t = spec.tuner
    if t.algorithm not in ("bayesian", "tpe"):
        return None
    if t.initial_points is not None:
        return int(t.initial_points)
    return max(2, min(3 * max(1, tuned_knobs(spec)), planned_trials(spec) // 3))


def hyperband_random_trials(spec: Spec) -> int:
    """Hyperband's trials that start from scratch with new random values (the others carry on one)."""
    t = spec.tuner
    return sum(1 for _, start in hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations) if start == 0)


def _searcher(spec: Spec) -> str:
    return "TPE" if spec.tuner.algorithm == "tpe" else "Bayesian optimization"


def budget_notes(spec: Spec) -> list[str]:
    """What a student should know about the budget before pressing Run (warnings, not errors)."""
    notes = []
    starts = random_starts(spec)
    trials = planned_trials(spec)
    if starts is not None and spec.tuner.initial_points is None and starts >= trials:
        notes.append(
            f"With {trials} trials, {_searcher(spec)} only has time for its {starts} random starts: "
            "it will be a random search. Give it more trials (10 or more) to let its model choose."
        )
    return notes


def describe(spec: Spec) -> str:
    """What the search will do, for people: space size, trials and epochs (exact), random starts."""
    t = spec.tuner
    size = search_space_size(spec)
    size_text = "continuous (infinite)" if math.isinf(size) else f"{int(size):,} combinations"
    if spec.hypermodel is not None:
        size_text = f"what {spec.hypermodel.name} declares"
    trials, epochs = planned_trials(spec), planned_epochs(spec)
    runs = f", {t.executions_per_trial} runs each" if t.executions_per_trial > 1 else ""
    if folds(spec):
        runs = f", each on {folds(spec)} cross-validation folds"
    if t.algorithm == "hyperband":
        plan = hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations)
        lengths = sorted({end - start for end, start in plan})
        work = f"trains {trials} trials of {lengths[0]} to {lengths[-1]} epochs{runs}"
    else:
        work = f"trains {trials} trials x {spec.training.epochs} epochs{runs}"
    total = f"{epochs:,} epochs in all"
    cut = [
        *(["early stopping"] if spec.training.early_stopping else []),
        *(["pruning"] if t.pruning != "none" and t.algorithm != "hyperband" else []),
    ]
    if cut:
        total = f"at most {total} ({' and '.join(cut)} may end trials sooner)"
    text = f"Search space: {size_text}. {ALGORITHM_NAMES[t.algorithm]} {work}, {total}."
    if t.fuse > 1:
        text += f" Up to {t.fuse} trials with the same batch size train together in one step."
    if t.target is not None:
        text += f" It ends as soon as a trial reaches {t.target:g}."
    starts = random_starts(spec)
    if starts is not None:
        guided = max(0, trials - starts)
        text += f" The first {min(starts, trials)} trials are random, then its model of the objective chooses {guided}."
    return text


ALGORITHM_NAMES = {
    "random": "Random search",
    "bayesian": "Bayesian optimization",
    "tpe": "TPE (Optuna's tree-structured Parzen estimator)",
    "hyperband": "Hyperband",
    "grid": "Grid search",
}
