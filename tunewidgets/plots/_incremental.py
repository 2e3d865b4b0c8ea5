"""The live views that change every epoch or every trial, redrawn from what changed since the last redraw.

:class:`Folded` keeps a cursor over a search's record (:meth:`SearchRecord.changed_since`): each redraw
reads only the trials that changed, and keeps what the views need to know of all of them (the best
trial, the metrics logged, each trial's score). :class:`CurvesView` and :class:`BestView` write the
changed trials into :class:`~tunewidgets.plots._chunks.Chunks` of their figure: an epoch redraws the
running trial's curve, a trial's end one small trace, whatever the number of trials.
"""

from __future__ import annotations

import bisect
import functools
import math
from typing import Any

from ..engine.folder.record import SearchRecord, TrialRecord
from ..events import Direction, TrialStatus
from . import _figures as figures
from ._chunks import Chunks
from ._data import Line, counterpart, hover_text, join, segment


class Folded:
    """The trials a view has seen, caught up from the record's cursor at each redraw."""

    def __init__(self) -> None:
        self.version = 0
        self.trials: dict[str, TrialRecord] = {}
        self.best_id: str | None = None
        self.metrics: set[str] = set()
        self.direction = Direction.MIN  # the record's, at the last catch-up

    def catch_up(self, record: SearchRecord) -> list[TrialRecord]:
        """The trials that changed since the last call (every trial the first time), folded in."""
        self.version, changed = record.changed_since(self.version)
        self.direction = record.direction
        rescan = False
        for t in changed:
            self.trials[t.trial_id] = t
            self.metrics.update(metric for _, metric in t.curves)
            if t.trial_id == self.best_id:
                rescan = True  # the best trial tried again, or its score changed: look at them all
            elif _scored(t) and self._beats(t):
                self.best_id = t.trial_id
        if rescan:
            self.best_id = None
            for t in self.trials.values():
                if _scored(t) and self._beats(t):
                    self.best_id = t.trial_id
        return changed

    def _beats(self, t: TrialRecord) -> bool:
        best = self.trials.get(self.best_id) if self.best_id is not None else None
        if best is None:
            return True
        if t.score == best.score:  # a tie goes to the earlier trial, as the record's best() does
            return (t.number, t.trial_id) < (best.number, best.trial_id)
        return self.direction.better(t.score, best.score)  # type: ignore[arg-type]

    @property
    def best(self) -> TrialRecord | None:
        return self.trials.get(self.best_id) if self.best_id is not None else None


def _scored(t: TrialRecord) -> bool:
    return t.status.has_score() and t.score is not None and math.isfinite(t.score)


def _curve_group(status: TrialStatus) -> str:
    if status is TrialStatus.RUNNING:
        return "running"
    return "completed" if status is TrialStatus.COMPLETED else "pruned" if status is TrialStatus.PRUNED else "failed"


class CurvesView:
    """The training curves of a live figure made by :func:`~tunewidgets.plots._figures.curves_figure`."""

    def __init__(self, fig: Any):
        self.fig = fig
        traces = {t.meta: t for t in fig.data}
        self.groups = {
            key: Chunks(fig, traces[key], functools.partial(figures.curve_trace, key)) for key in figures.CURVE_GROUPS
        }
        self.single = {key: traces[key] for key in ("running", "best", "best_pair", "selected", "selected_pair")}
        self.metric: str | None = None
        self.running: dict[str, Line] = {}
        self.placed: dict[str, str] = {}  # trial -> the group its curve is in
        self.with_points: set[str] = set()
        self._shown: dict[str, Any] = {}  # what the single traces show: (trial, its version of the curve)

    @property
    def drawn(self) -> bool:
        """Whether any trial has a point of the metric."""
        return bool(self.with_points)

    def draw(
        self, folded: Folded, changed: list[TrialRecord], metric: str, objective: str, selected: str | None
    ) -> None:
        """Writes the changed trials' curves (every trial's when the metric changed)."""
        if metric != self.metric:
            self.metric = metric
            for chunks in self.groups.values():
                chunks.clear()
            self.running.clear()
            self.placed.clear()
            self.with_points.clear()
            self._shown.clear()
            changed = list(folded.trials.values())
            figures.name_curves(self.fig, metric)
        running_changed = False
        for t in changed:
            group = _curve_group(t.status)
            line = segment(t, metric, objective, folded.direction, compact=group != "running")
            (self.with_points.add if line.x else self.with_points.discard)(t.trial_id)
            before = self.placed.get(t.trial_id)
            if before is not None and before != group:
                if before == "running":
                    self.running.pop(t.trial_id, None)
                    running_changed = True
                else:
                    self.groups[before].remove(t.trial_id)
            self.placed[t.trial_id] = group
            if group == "running":
                self.running[t.trial_id] = line
                running_changed = True
            else:
                self.groups[group].put(t.trial_id, line)
        changed_ids = {t.trial_id for t in changed}
        with figures.batch(self.fig):
            for chunks in self.groups.values():
                chunks.flush()
            if running_changed:
                figures.set_line(self.single["running"], join(list(self.running.values())))
            self._one("best", folded.best_id, folded, changed_ids, metric, objective)
            self._one("selected", selected, folded, changed_ids, metric, objective)

    def _one(
        self, key: str, trial_id: str | None, folded: Folded, changed: set[str], metric: str, objective: str
    ) -> None:
        """The best (or selected) trial's curve and its other split's, when it changed."""
        if self._shown.get(key) == trial_id and trial_id not in changed:
            return
        self._shown[key] = trial_id
        t = folded.trials.get(trial_id) if trial_id is not None else None
        figures.set_line(self.single[key], segment(t, metric, objective, folded.direction) if t else Line())
        pair = segment(t, counterpart(metric), objective, folded.direction) if t else Line()
        figures.set_line(self.single[f"{key}_pair"], pair)


class BestView:
    """Each trial's objective and the best so far, in a live figure made by ``best_so_far_figure``."""

    def __init__(self, fig: Any):
        self.fig = fig
        traces = {t.meta: t for t in fig.data}
        self.groups = {
            key: Chunks(fig, traces[key], functools.partial(figures.best_trace, key), gaps=False)
            for key in ("trials", "failed", "pruned")
        }
        self.line, self.ring = traces["best"], traces["selected"]
        self.clear()

    def clear(self) -> None:
        """No trial drawn: the next draw draws every trial it is given."""
        for chunks in self.groups.values():
            chunks.clear()
        self.numbers: list[int] = []  # the scored trials' numbers, sorted, and their scores
        self.scores: dict[int, float] = {}
        self.running: list[float] = []  # the best so far at each of ``numbers``
        self.step_numbers: list[int] = []  # where the best so far improved, and to what
        self.step_scores: list[float] = []
        self._ring: Any = None
        self.line.x, self.line.y = (), ()
        self.ring.x, self.ring.y = (), ()

    def draw(
        self, folded: Folded, changed: list[TrialRecord], objective: str, direction: Direction, selected: str | None
    ) -> None:
        lowest: int | None = None  # the lowest trial number whose score changed
        for t in changed:
            number = t.number
            text = hover_text(t, objective, direction)
            point = Line((number,), (t.score,), (text,), (t.trial_id,))
            scored = _scored(t)
            for key, shown in (
                ("trials", scored),
                ("pruned", scored and t.status is TrialStatus.PRUNED),
                ("failed", t.status is TrialStatus.FAILED),
            ):
                if not shown:
                    self.groups[key].remove(t.trial_id)
                elif key == "failed":
                    self.groups[key].put(t.trial_id, point._replace(y=(figures.FAILED_Y,)))
                else:
                    self.groups[key].put(t.trial_id, point)
            if scored == (number in self.scores) and (not scored or self.scores[number] == t.score):
                continue
            at = bisect.bisect_left(self.numbers, number)
            if not scored:
                del self.scores[number], self.numbers[at]
            else:
                if number not in self.scores:
                    self.numbers.insert(at, number)
                self.scores[number] = float(t.score)  # type: ignore[arg-type]
            lowest = number if lowest is None else min(lowest, number)
        with figures.batch(self.fig):
            for chunks in self.groups.values():
                chunks.flush()
            if lowest is not None:
                self.line.x, self.line.y = self._steps(lowest, direction)
            chosen = folded.trials.get(selected) if selected is not None else None
            ring = (chosen.number, chosen.score) if chosen is not None and _scored(chosen) else None
            if ring != self._ring:
                self._ring = ring
                self.ring.x, self.ring.y = ((ring[0],), (ring[1],)) if ring else ((), ())
            if self.fig.layout.yaxis.title.text != objective:
                self.fig.layout.yaxis.title.text = objective

    def _steps(self, lowest: int, direction: Direction) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """The best so far as a step line: a point where it improves, and one at the last trial.

        Recomputed from trial number ``lowest`` on (a trial's end usually changes only the line's end).
        """
        first = bisect.bisect_left(self.numbers, lowest)
        del self.running[first:]
        cut = bisect.bisect_left(self.step_numbers, lowest)
        del self.step_numbers[cut:], self.step_scores[cut:]
        best = self.running[-1] if self.running else None
        for number in self.numbers[first:]:
            score = self.scores[number]
            if best is None or direction.better(score, best):
                best = score
                self.step_numbers.append(number)
                self.step_scores.append(score)
            self.running.append(best)
        xs, ys = list(self.step_numbers), list(self.step_scores)
        if xs and xs[-1] != self.numbers[-1]:
            xs.append(self.numbers[-1])
            ys.append(ys[-1])
        return tuple(xs), tuple(ys)


__all__ = ["BestView", "CurvesView", "Folded"]
