"""Step one of every view: plain plot data computed from trials, compared with ``==`` in tests.

Nothing here touches plotly. Each function takes the trials of a search (a
:class:`~tunewidgets.engine.folder.record.SearchRecord`) and returns a small NamedTuple.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..engine.folder.record import SearchRecord, TrialRecord
from ..engine.opened import load
from ..engine.results import Results
from ..events import Direction, TrialStatus
from ._axes import Dimension, _encode, _fmt, _is_number


class Line(NamedTuple):
    """Points of several trials in one trace; ``None`` separates trials."""

    x: tuple[Any, ...] = ()
    y: tuple[Any, ...] = ()
    text: tuple[str, ...] = ()
    trial_ids: tuple[str | None, ...] = ()

    def trials(self) -> list[str]:
        """The trials drawn, in order."""
        seen: list[str] = []
        for t in self.trial_ids:
            if t is not None and (not seen or seen[-1] != t):
                seen.append(t)
        return seen


def hover_text(trial: TrialRecord, objective: str, direction: Direction) -> str:
    """What hovering a trial shows: number, status, score (with its folds' spread) and hyperparameters."""
    head = f"<b>trial {trial.number}</b> ({trial.status.value})"
    if trial.score is not None and math.isfinite(trial.score):
        spread = trial.spread(objective, direction)
        head += f"<br>{objective} = {trial.score:.4f}" + (f" ± {spread:.4f} over the folds" if spread else "")
    if trial.message:
        head += f"<br>{trial.message[:80]}"
    values = "<br>".join(f"{k} = {_fmt(v)}" for k, v in trial.tuned_values().items())
    return f"{head}<br>{values}" if values else head


def segment(trial: TrialRecord, metric: str, objective: str, direction: Direction, compact: bool = False) -> Line:
    """One trial's curve of ``metric`` (first execution), with hover text on every point.

    ``compact``: the whole hover text on the last point only, the trial's number on the others (the curves
    of many trials: a tenth of the bytes).
    """
    points = trial.curves.get((0, metric), [])
    if not points:
        return Line()
    text = hover_text(trial, objective, direction)
    texts = (f"<b>trial {trial.number}</b>",) * (len(points) - 1) + (text,) if compact else (text,) * len(points)
    return Line(
        tuple(p[0] for p in points),
        tuple(p[1] if math.isfinite(p[1]) else None for p in points),
        texts,
        (trial.trial_id,) * len(points),
    )


def join(segments: list[Line], gaps: bool = True) -> Line:
    """Concatenates trial segments with ``None`` gaps so each stays a separate line (points: ``gaps=False``)."""
    x: list[Any] = []
    y: list[Any] = []
    text: list[str] = []
    ids: list[str | None] = []
    for seg in segments:
        if not seg.x:
            continue
        if x and gaps:
            x.append(None)
            y.append(None)
            text.append("")
            ids.append(None)
        x.extend(seg.x)
        y.extend(seg.y)
        text.extend(seg.text)
        ids.extend(seg.trial_ids)
    return Line(tuple(x), tuple(y), tuple(text), tuple(ids))


def as_results(source: Any) -> Results:
    """A :class:`~tunewidgets.engine.results.Results`, or the results of the project folder it names."""
    return source if isinstance(source, Results) else load(source)


def counterpart(metric: str) -> str:
    """``val_loss`` <-> ``loss``: the other half of a train / validation pair."""
    return metric.removeprefix("val_") if metric.startswith("val_") else f"val_{metric}"


def metrics_of(record: SearchRecord) -> list[str]:
    """Every metric logged, the objective first, then losses, then the rest."""
    return order_metrics({metric for t in record.snapshot() for (_, metric) in t.curves}, record.objective)


def order_metrics(names: set[str], objective: str) -> list[str]:
    """The objective first, then its other split, then the losses, then the rest."""
    first = [m for m in (objective, counterpart(objective), "val_loss", "loss") if m in names]
    return list(dict.fromkeys(first + sorted(names - set(first))))


class CurvesData(NamedTuple):
    metric: str
    completed: Line
    failed: Line
    running: Line
    best: Line
    best_pair: Line  # the best trial's other half (train for a val metric and back)
    selected: Line
    selected_pair: Line
    best_trial: str | None
    pruned: Line = Line()  # trials the pruning rule ended early


def curves_data(record: SearchRecord, metric: str | None = None, selected: str | None = None) -> CurvesData:
    """Training curves of one metric for every trial, grouped by how they are drawn."""
    metric = metric or record.objective
    objective, direction = record.objective, record.direction
    trials = record.snapshot()
    best_record = record.best()
    best = next((t for t in trials if best_record and t.trial_id == best_record.trial_id), None)
    by_status: dict[TrialStatus, list[Line]] = {s: [] for s in TrialStatus}
    for t in trials:
        status = TrialStatus.FAILED if t.status is TrialStatus.STOPPED else t.status
        by_status[status].append(segment(t, metric, objective, direction, compact=status is not TrialStatus.RUNNING))
    chosen = next((t for t in trials if t.trial_id == selected), None)
    return CurvesData(
        metric=metric,
        completed=join(by_status[TrialStatus.COMPLETED]),
        failed=join(by_status[TrialStatus.FAILED]),
        running=join(by_status[TrialStatus.RUNNING]),
        best=segment(best, metric, objective, direction) if best else Line(),
        best_pair=segment(best, counterpart(metric), objective, direction) if best else Line(),
        selected=segment(chosen, metric, objective, direction) if chosen else Line(),
        selected_pair=segment(chosen, counterpart(metric), objective, direction) if chosen else Line(),
        best_trial=best.trial_id if best else None,
        pruned=join(by_status[TrialStatus.PRUNED]),
    )


class BestSoFarData(NamedTuple):
    numbers: tuple[int, ...]  # completed trials
    scores: tuple[float, ...]
    running_best: tuple[float, ...]
    texts: tuple[str, ...]
    trial_ids: tuple[str, ...]
    failed_numbers: tuple[int, ...]
    failed_texts: tuple[str, ...]
    objective: str
    pruned_numbers: tuple[int, ...] = ()  # pruned trials: their best epoch's score, drawn apart
    pruned_scores: tuple[float, ...] = ()


def best_so_far_data(record: SearchRecord) -> BestSoFarData:
    """Each finished trial's objective, and the best of those so far, by trial number (pruned trials count
    with their best epoch's score, and are listed apart too)."""
    numbers, scores, running, texts, ids, failed, failed_texts = [], [], [], [], [], [], []
    pruned_numbers, pruned_scores = [], []
    best: float | None = None
    for t in record.snapshot():
        if t.status.has_score() and t.score is not None and math.isfinite(t.score):
            if t.status is TrialStatus.PRUNED:
                pruned_numbers.append(t.number)
                pruned_scores.append(t.score)
            best = t.score if best is None or record.direction.better(t.score, best) else best
            numbers.append(t.number)
            scores.append(t.score)
            running.append(best)
            texts.append(hover_text(t, record.objective, record.direction))
            ids.append(t.trial_id)
        elif t.status is TrialStatus.FAILED:
            failed.append(t.number)
            failed_texts.append(hover_text(t, record.objective, record.direction))
    return BestSoFarData(
        tuple(numbers),
        tuple(scores),
        tuple(running),
        tuple(texts),
        tuple(ids),
        tuple(failed),
        tuple(failed_texts),
        record.objective,
        tuple(pruned_numbers),
        tuple(pruned_scores),
    )


def varying_hyperparameters(trials: list[TrialRecord]) -> list[str]:
    """Hyperparameters that take more than one value across these trials, in first-seen order."""
    names: dict[str, set[str]] = {}
    for t in trials:
        for k, v in t.tuned_values().items():
            names.setdefault(k, set()).add(repr(v))
    return [k for k, values in names.items() if len(values) > 1 or any(k not in t.tuned_values() for t in trials)]


class ParallelData(NamedTuple):
    dimensions: tuple[Dimension, ...]
    scores: tuple[float, ...]
    trial_ids: tuple[str, ...]
    objective: str


def parallel_data(
    record: SearchRecord,
    log_names: set[str] | frozenset[str] = frozenset(),
    categorical_names: set[str] | frozenset[str] = frozenset(),
) -> ParallelData:
    """One axis per hyperparameter that varies (categories as ticks), then the objective."""
    trials = [
        t
        for t in record.snapshot()
        if t.status is TrialStatus.COMPLETED and t.score is not None and math.isfinite(t.score)
    ]
    dims = []
    for name in varying_hyperparameters(trials):
        values = [t.tuned_values().get(name) for t in trials]
        dims.append(_encode(name, values, name in log_names, name in categorical_names))
    scores = tuple(float(t.score) for t in trials)  # type: ignore[arg-type]
    dims.append(Dimension(record.objective, scores))
    return ParallelData(tuple(dims), scores, tuple(t.trial_id for t in trials), record.objective)


class ScatterData(NamedTuple):
    name: str
    x: tuple[Any, ...]
    y: tuple[float, ...]
    texts: tuple[str, ...]
    trial_ids: tuple[str, ...]
    log: bool
    categorical: bool
    categories: tuple[str, ...] = ()  # the order of a categorical axis


def scatter_data(
    record: SearchRecord,
    name: str,
    log_names: set[str] | frozenset[str] = frozenset(),
    categorical_names: set[str] | frozenset[str] = frozenset(),
) -> ScatterData:
    """One hyperparameter against the objective, over completed trials that used it."""
    xs, ys, texts, ids = [], [], [], []
    for t in record.snapshot():
        value = t.tuned_values().get(name)
        if t.status is TrialStatus.COMPLETED and value is not None and t.score is not None and math.isfinite(t.score):
            xs.append(value)
            ys.append(t.score)
            texts.append(hover_text(t, record.objective, record.direction))
            ids.append(t.trial_id)
    numbers = all(_is_number(v) for v in xs)
    categorical = not numbers or name in categorical_names
    categories: tuple[str, ...] = ()
    if categorical:
        ordered = sorted(set(xs), key=lambda v: v if numbers else str(v))
        categories = tuple(_fmt(v) if numbers else str(v) for v in ordered)
        xs = [_fmt(v) if numbers else str(v) for v in xs]
    return ScatterData(
        name,
        tuple(xs),
        tuple(ys),
        tuple(texts),
        tuple(ids),
        name in log_names and not categorical,
        categorical,
        categories,
    )


IMPORTANCE_METHOD = "random-forest permutation importance (scikit-learn)"
MIN_IMPORTANCE_TRIALS = 5


class ImportanceData(NamedTuple):
    names: tuple[str, ...]
    importances: tuple[float, ...]  # fractions, summing to 1 (or all 0)
    method: str
    n_trials: int
    message: str


def importance_data(
    record: SearchRecord,
    log_names: set[str] | frozenset[str] = frozenset(),
    seed: int = 0,
    categorical_names: set[str] | frozenset[str] = frozenset(),
) -> ImportanceData:
    """Which hyperparameters mattered most for the objective, from the completed trials.

    A random forest learns the objective from the hyperparameters; permuting one
    hyperparameter's column and measuring how much worse the forest predicts
    gives its importance (scikit-learn's ``permutation_importance``).
    """
    trials = [
        t
        for t in record.snapshot()
        if t.status is TrialStatus.COMPLETED and t.score is not None and math.isfinite(t.score)
    ]
    names = varying_hyperparameters(trials)
    if len(trials) < MIN_IMPORTANCE_TRIALS or not names:
        why = (
            f"needs at least {MIN_IMPORTANCE_TRIALS} completed trials (has {len(trials)})"
            if len(trials) < MIN_IMPORTANCE_TRIALS
            else "no hyperparameter varies"
        )
        return ImportanceData((), (), IMPORTANCE_METHOD, len(trials), why)
    import numpy as np

    from .. import sklearn_helper

    columns = [
        _encode(n, [t.tuned_values().get(n) for t in trials], n in log_names, n in categorical_names).values
        for n in names
    ]
    x = np.nan_to_num(np.array(columns, dtype=float).T, nan=-1.0)
    y = np.array([t.score for t in trials], dtype=float)
    if np.ptp(y) == 0:
        return ImportanceData(
            tuple(names), (0.0,) * len(names), IMPORTANCE_METHOD, len(trials), "every trial scored the same"
        )
    raw = sklearn_helper.call(sklearn_helper.FOREST_IMPORTANCE, x, y, seed)
    total = raw.sum()
    shares = raw / total if total > 0 else raw
    order = np.argsort(-shares, kind="stable")
    return ImportanceData(
        tuple(names[i] for i in order), tuple(float(shares[i]) for i in order), IMPORTANCE_METHOD, len(trials), ""
    )


def forest_importance(x: Any, y: Any, seed: int) -> Any:
    """Each column's permutation importance (at least 0) for a random forest that learns ``y`` from ``x``
    (run in the scikit-learn helper, :mod:`..sklearn_helper`)."""
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    forest = RandomForestRegressor(n_estimators=50, random_state=seed).fit(x, y)
    result = permutation_importance(forest, x, y, n_repeats=5, random_state=seed)
    return np.clip(result.importances_mean, 0, None)


TABLE_COLUMNS = ("number", "status", "score", "epochs", "duration")


def table_frame(record: SearchRecord, sort_by: str = "score", descending: bool | None = None) -> Any:
    """The trial table: one row per trial, sorted (best first by default)."""
    frame = record.trials_frame()
    if frame.empty:
        return frame
    frame = frame.drop(columns=[c for c in ("worker", "trial_id") if c in frame and frame[c].nunique() <= 1])
    # what says nothing in this search: no message, no earlier attempt, no trial carried on from another
    quiet = {"message": "", "earlier_attempts": "", "attempts": 1, "initial_epoch": 0}
    frame = frame.drop(columns=[c for c, v in quiet.items() if c in frame and (frame[c].fillna(v) == v).all()])
    if descending is None:
        descending = record.direction is Direction.MAX if sort_by == "score" else False
    if sort_by in frame:
        frame = frame.sort_values(sort_by, ascending=not descending, na_position="last", kind="stable")
    return frame.reset_index(drop=True)
