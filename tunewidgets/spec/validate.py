"""Checks a spec before anything runs and reports every problem at once.

Each problem is an :class:`~tunewidgets.errors.Issue` naming the field path and
what is wrong, e.g. ``model.units: min 256 is above max 64``. Validation never
raises on odd input (wrong types, garbage values): it reports them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import Issue
from .budget import hyperband_random_trials, planned_trials, search_space_size
from .datasets import IMAGE_DATASETS, builtin_shape, builtin_task, informative_features, known_task
from .fields import FieldInfo
from .knobs import Choice, Fixed, Range
from .lesson import Lesson
from .objective import (
    metric_issues,
    objective_issues,
    resolve_objective,
)
from .parse import show
from .sections import SECTIONS, section_fields
from .size import human_bytes, largest_model, max_parameters
from .space import folds, is_active

if TYPE_CHECKING:
    from .spec import Spec

#: The least share of the rows the test and validation splits must leave to train on.
MIN_TRAINING_SHARE = 0.05


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else show(v)


def _pct(share: float) -> str:
    return f"{share * 100:.3g}%"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _type_problem(value: Any, kind: str) -> str | None:
    if kind == "int":
        return None if _is_int(value) else f"expected a whole number, got {show(value)}"
    if kind == "float":
        if isinstance(value, float) and not math.isfinite(value):
            return f"expected a finite number, got {value}"
        return None if _is_number(value) else f"expected a number, got {show(value)}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"expected true or false, got {show(value)}"
    if kind == "str":
        return None if isinstance(value, str) else f"expected text, got {show(value)}"
    if kind == "strlist":
        ok = isinstance(value, tuple) and all(isinstance(v, str) for v in value)
        return None if ok else f"expected a list of column names, got {show(value)}"
    return f"unknown kind {kind}"  # pragma: no cover - a bug in the model, not in input


def _bounds_problem(value: Any, info: FieldInfo, what: str = "") -> str | None:
    lead = f"{what} " if what else ""
    if info.lo is not None and (value < info.lo or (info.lo_open and value == info.lo)):
        rel = "above" if info.lo_open else "at least"
        return f"{lead}{_fmt(value)} is out of range: must be {rel} {_fmt(info.lo)}"
    if info.hi is not None and (value > info.hi or (info.hi_open and value == info.hi)):
        rel = "below" if info.hi_open else "at most"
        return f"{lead}{_fmt(value)} is out of range: must be {rel} {_fmt(info.hi)}"
    return None


def _check_scalar(
    value: Any, info: FieldInfo, path: str, issues: list[Issue], what: str = "", kind_only: bool = False
) -> bool:
    problem = _type_problem(value, info.kind)
    if problem is None and not kind_only and info.options is not None and value not in info.options:
        problem = f"unknown value {show(value)} (choose from {', '.join(map(str, info.options))})"
    if problem is None and not kind_only and info.kind in ("int", "float"):
        problem = _bounds_problem(value, info, what)
    if problem is not None:
        issues.append(Issue(path, f"{what}: {problem}" if what and not problem.startswith(what) else problem))
        return False
    return True


def _check_knob(value: Any, info: FieldInfo, path: str, issues: list[Issue], kind_only: bool = False) -> None:
    if isinstance(value, Fixed):
        _check_scalar(value.value, info, path, issues, kind_only=kind_only)
    elif isinstance(value, Choice):
        if not isinstance(value.options, tuple) or len(value.options) == 0:
            issues.append(Issue(path, "choices must list at least one value"))
            return
        for v in value.options:
            if not _check_scalar(v, info, path, issues, "choice", kind_only):
                return
        if kind_only:
            return
        try:
            distinct = len(set(value.options))
        except TypeError:
            distinct = len(value.options)
        if distinct != len(value.options):
            issues.append(Issue(path, "choices repeat a value"))
    elif isinstance(value, Range):
        if info.kind not in ("int", "float"):
            issues.append(Issue(path, f"a range needs numbers; use choices for {info.kind} values"))
            return
        ok = _check_scalar(value.min, info, path, issues, "min", kind_only)
        ok = _check_scalar(value.max, info, path, issues, "max", kind_only) and ok
        if not isinstance(value.log, bool):
            issues.append(Issue(path, f"log must be true or false, got {show(value.log)}"))
            ok = False
        if not ok:
            return
        if kind_only:
            step_problem = None if value.step is None else _type_problem(value.step, info.kind)
            if step_problem:
                issues.append(Issue(path, f"step: {step_problem}"))
            return
        if value.min > value.max:
            issues.append(Issue(path, f"min {_fmt(value.min)} is above max {_fmt(value.max)}"))
        if value.log and value.min <= 0:
            issues.append(Issue(path, "log scale needs min > 0"))
        if value.step is not None:
            kind_problem = _type_problem(value.step, info.kind if info.kind == "int" else "float")
            if kind_problem:
                issues.append(Issue(path, f"step: {kind_problem}"))
            elif value.log and value.step <= 1:
                issues.append(Issue(path, f"step {_fmt(value.step)} on a log scale is a factor and must be above 1"))
            elif value.step <= 0:
                issues.append(Issue(path, f"step {_fmt(value.step)} must be positive"))
            elif not value.log and value.min <= value.max and value.step > value.max - value.min > 0:
                issues.append(
                    Issue(
                        path, f"step {_fmt(value.step)} is larger than the range {_fmt(value.min)}..{_fmt(value.max)}"
                    )
                )
    else:
        issues.append(Issue(path, f"expected a value, a range or choices, got {show(value)}"))


def field_issues(value: Any, info: FieldInfo, path: str, kind_only: bool = False) -> list[Issue]:
    """The problems of one field's value; with ``kind_only`` only a value of the wrong kind or shape
    (text for a number, a list for a value: what :meth:`Spec.replace` refuses), not bounds or options."""
    issues: list[Issue] = []
    if info.tunable:
        _check_knob(value, info, path, issues, kind_only)
    elif value is None:
        if not info.nullable:
            issues.append(Issue(path, "a value is required"))
    else:
        _check_scalar(value, info, path, issues, kind_only=kind_only)
    return issues


def _check_fields(spec: Spec, issues: list[Issue]) -> None:
    if not isinstance(spec.name, str):
        issues.append(Issue("name", f"expected text, got {type(spec.name).__name__}"))
    elif not spec.name.strip():
        issues.append(Issue("name", "give the search a name"))
    for section, cls in SECTIONS.items():
        sec = getattr(spec, section)
        if not isinstance(sec, cls):
            issues.append(Issue(section, f"expected the {section} section, got {type(sec).__name__}"))
            continue
        for name, info in section_fields(section):
            value, path = getattr(sec, name), f"{section}.{name}"
            if path == "tuner.objective" and getattr(spec, "hypermodel", None) is not None:
                issues.extend(metric_issues(spec))  # your own model: any metric it logs
                continue
            issues.extend(field_issues(value, info, path))


def size_issues(spec: Spec, input_shape: tuple[int, ...], outputs: int) -> list[Issue]:
    """The size guard: the space's largest model must fit the limit (``training.max_parameters``)."""
    size = largest_model(spec, input_shape, outputs)
    limit = max_parameters(spec)
    if size.weights <= limit:
        return []
    whose = "training.max_parameters" if spec.training.max_parameters is not None else "the limit for this machine"
    return [
        Issue(
            "model.units",
            f"the largest model of this search has {size.weights:,} weights (about "
            f"{human_bytes(size.training_bytes)} to train, {human_bytes(size.checkpoint_bytes)} of checkpoint per "
            f"trial), more than {whose} ({limit:,}); search fewer layers, units or filters, "
            "or raise training.max_parameters",
        )
    ]


def _check_data(spec: Spec, issues: list[Issue]) -> None:
    d = spec.data
    if d.source == "csv":
        if not d.path:
            issues.append(Issue("data.path", "choose a CSV file"))
        if not d.target:
            issues.append(Issue("data.target", "choose the target column"))
    if d.source == "builtin":
        native = builtin_task(spec)
        if native and d.task != "auto" and d.task != native:
            compatible = native == "binary" and d.task == "multiclass"
            if not compatible:
                issues.append(Issue("data.task", f"'{d.name}' is a {native} data set, it cannot be used for {d.task}"))
        if d.name == "classification" and _is_int(d.classes) and _is_int(d.features):
            needed = informative_features(d.classes)
            if needed > d.features:
                issues.append(
                    Issue("data.features", f"{d.classes} classes need at least {needed} features (got {d.features})")
                )
    if d.source == "dataframe" and d.path:
        issues.append(Issue("data.path", "a path is only used with source 'csv'"))
    # validation takes its share of what the test split leaves (data/prepare.py split_rows); with folds
    # the validation rows train too, in the other folds
    train = (1 - d.test_split) * (1 - d.validation_split)
    if folds(spec) is None and round(train, 9) < MIN_TRAINING_SHARE:
        issues.append(
            Issue(
                "data.validation_split",
                f"data.test_split {_fmt(d.test_split)} and data.validation_split {_fmt(d.validation_split)} leave "
                f"{_pct(train)} of the rows to train on (the test split keeps {_pct(d.test_split)} of all rows, "
                f"validation {_pct(d.validation_split)} of the rest): lower one of them so that at least "
                f"{_pct(MIN_TRAINING_SHARE)} are left for training",
            )
        )


def _check_model(spec: Spec, issues: list[Issue]) -> None:
    if spec.model.architecture == "cnn":
        image = spec.data.source == "builtin" and spec.data.name in IMAGE_DATASETS
        if spec.data.source == "builtin" and not image:
            issues.append(
                Issue(
                    "model.architecture", f"cnn needs image data (the digits data set); '{spec.data.name}' is a table"
                )
            )


def _check_tuner(spec: Spec, issues: list[Issue]) -> None:
    t = spec.tuner
    if t.algorithm == "grid" and getattr(spec, "hypermodel", None) is None:  # your own model's: its declarations
        for section in ("model", "regularization", "optimizer", "training"):
            for name, info in section_fields(section):
                value = getattr(getattr(spec, section), name)
                if info.tunable and isinstance(value, Range) and value.step is None and is_active(spec, section, name):
                    issues.append(
                        Issue(f"{section}.{name}", "grid search needs a step for every range (or use choices)")
                    )
    own = getattr(spec, "hypermodel", None) is not None  # your own model: its task is its own
    issues.extend(objective_issues(spec, "custom" if own else known_task(spec)))
    if issues:
        return
    if t.pruning != "none" and t.algorithm == "hyperband":
        issues.append(
            Issue(
                "tuner.pruning",
                "Hyperband already stops most of its trials early, round by round; pruning is for random, "
                "Bayesian and grid search",
            )
        )
    elif t.pruning != "none" and t.pruning_min_epochs >= spec.training.epochs:
        issues.append(
            Issue(
                "tuner.pruning_min_epochs",
                f"{t.pruning_min_epochs} epochs before pruning, but trials train {spec.training.epochs}: no trial "
                f"could be stopped early; use fewer than {spec.training.epochs}",
            )
        )
    if t.folds is not None and t.algorithm == "hyperband":
        issues.append(
            Issue(
                "tuner.folds", "Hyperband carries trials on across rounds; use folds with random, Bayesian, TPE or grid"
            )
        )
    elif t.folds is not None and t.executions_per_trial > 1:
        issues.append(
            Issue(
                "tuner.folds",
                f"folds already train {t.folds} models per trial; set tuner.executions_per_trial to 1 "
                "(or leave the folds empty)",
            )
        )
    if t.target is not None:
        name, _ = resolve_objective(spec, known_task(spec))
        if name.endswith("accuracy") and not 0 < t.target <= 1:
            issues.append(
                Issue("tuner.target", f"{_fmt(t.target)} is not an accuracy: {name} is between 0 and 1 (0.95 for 95%)")
            )
        elif not name.endswith("accuracy") and t.target < 0:
            issues.append(Issue("tuner.target", f"{_fmt(t.target)} is below 0, which {name} never is"))
    if t.algorithm in ("bayesian", "tpe") and t.initial_points is not None:
        trials = planned_trials(spec)
        if t.initial_points >= trials:
            issues.append(
                Issue(
                    "tuner.initial_points",
                    f"{t.initial_points} random starts with {trials} trials: "
                    f"{'TPE' if t.algorithm == 'tpe' else 'Bayesian optimization'} would never get "
                    f"to choose a trial itself; use fewer random starts than trials (at most {trials - 1}), "
                    "or leave it empty",
                )
            )
    if t.algorithm == "hyperband":
        size, needed = search_space_size(spec), hyperband_random_trials(spec)
        if size < needed:
            issues.append(
                Issue(
                    "tuner.algorithm",
                    f"Hyperband starts {needed} models with new random values, but this search space has only "
                    f"{int(size)} combinations; use grid or random search, or search more values",
                )
            )


def validate(spec: Spec) -> list[Issue]:
    """Every problem of ``spec``; an empty list means it can run (files are checked by the data layer:
    :func:`tunewidgets.data.file_issues`)."""
    issues: list[Issue] = []
    if not all(hasattr(spec, section) for section in SECTIONS) or not hasattr(spec, "name"):
        return [Issue("", f"expected a Spec, got {type(spec).__name__}")]
    _check_fields(spec, issues)
    lesson = getattr(spec, "lesson", None)
    if isinstance(lesson, Lesson):
        issues.extend(lesson.issues())
    elif lesson is not None:
        issues.append(Issue("lesson", f"expected a Lesson, got {type(lesson).__name__}"))
    hypermodel = getattr(spec, "hypermodel", None)
    if hypermodel is not None:
        issues.extend(hypermodel.issues())
    if issues:  # cross-field checks assume well-typed fields
        return issues
    if hypermodel is not None:  # the user's model and arrays: the data and network sections do not apply
        _check_tuner(spec, issues)
        if spec.tuner.algorithm == "grid" and isinstance(spec.training.batch_size, Range):
            issues.append(Issue("training.batch_size", "grid search needs choices (or one value), not a range"))
        return issues
    _check_data(spec, issues)
    _check_model(spec, issues)
    _check_tuner(spec, issues)
    known = builtin_shape(spec)
    if known is not None and not issues:
        issues.extend(size_issues(spec, *known))
    return issues
