"""Searches side by side: best so far against trials and against time, and the spread of scores.

The picture of "random vs Bayesian vs TPE" and of "with and without pruning": one colour per search.
Time is training time: from the first trial's start, counting only while some trial was training
(a pause between a stop and a resume, or the start-up before the first trial, is left out), so
searches run on different days compare fairly.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..engine.folder.record import SearchRecord, TrialRecord
from ..events import Direction, TrialStatus
from ._data import as_results
from ._widget import figure_widget

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


class SearchCurve(NamedTuple):
    """One search's scores, in the order its trials ended."""

    label: str
    numbers: tuple[int, ...]  # trial numbers, in the order they ended
    scores: tuple[float, ...]
    best: tuple[float, ...]  # the best so far after each
    seconds: tuple[float, ...]  # training time when each ended
    pruned: int  # trials the search pruned
    objective: str
    direction: Direction


class CompareData(NamedTuple):
    searches: tuple[SearchCurve, ...]
    objective: str


def training_seconds(intervals: list[tuple[float, float]], moment: float) -> float:
    """Seconds before ``moment`` during which at least one interval was running (their union)."""
    total, reach = 0.0, -math.inf
    for start, end in sorted(intervals):
        end = min(end, moment)
        if end <= start:
            continue
        start = max(start, reach)
        if end > start:
            total += end - start
        reach = max(reach, end)
    return total


def search_curve(label: str, record: SearchRecord) -> SearchCurve:
    def end(t: TrialRecord) -> float:
        return t.started + (t.duration or 0.0)

    scored = sorted((t for t in record.completed() if t.duration is not None), key=end)
    intervals = [(t.started, end(t)) for t in record.snapshot() if t.duration is not None]
    scores = [float(t.score) for t in scored if t.score is not None]
    best: list[float] = []
    for score in scores:
        best.append(score if not best or record.direction.better(score, best[-1]) else best[-1])
    return SearchCurve(
        label,
        tuple(t.number for t in scored),
        tuple(scores),
        tuple(best),
        tuple(training_seconds(intervals, end(t)) for t in scored),
        record.counts()[TrialStatus.PRUNED.value],
        record.objective,
        record.direction,
    )


def compare_data(searches: list[tuple[str, SearchRecord]]) -> CompareData:
    """Plot data for searches side by side (labels must be unique); they must share an objective."""
    objectives = {record.objective for _, record in searches}
    if len(objectives) > 1:
        raise ValueError(f"these searches optimize different objectives ({', '.join(sorted(objectives))})")
    labels = [label for label, _ in searches]
    if len(set(labels)) != len(labels):
        raise ValueError(f"two searches have the same label: {labels}")
    curves = tuple(search_curve(label, record) for label, record in searches)
    return CompareData(curves, objectives.pop() if objectives else "score")


def compare_figure(data: CompareData, widget: bool = False) -> go.Figure:
    base = make_subplots(
        rows=1,
        cols=3,
        column_widths=[0.38, 0.38, 0.24],
        subplot_titles=("best so far, by trial", "best so far, by training time", "every trial's score"),
        horizontal_spacing=0.07,
    )
    fig = figure_widget(base) if widget else base
    for i, s in enumerate(data.searches):
        colour = PALETTE[i % len(PALETTE)]
        name = f"{s.label} ({s.pruned} pruned)" if s.pruned else s.label
        order = tuple(range(1, len(s.best) + 1))
        hover = [f"{s.label}<br>{k} trials: best {b:.4f}" for k, b in zip(order, s.best, strict=True)]
        common = dict(mode="lines+markers", line=dict(color=colour, width=2, shape="hv"), marker=dict(size=5))
        fig.add_trace(
            go.Scatter(x=order, y=s.best, name=name, legendgroup=s.label, text=hover, hoverinfo="text", **common),
            row=1,
            col=1,
        )
        timed = [f"{s.label}<br>{t:.1f} s: best {b:.4f}" for t, b in zip(s.seconds, s.best, strict=True)]
        fig.add_trace(
            go.Scatter(
                x=s.seconds,
                y=s.best,
                name=name,
                legendgroup=s.label,
                showlegend=False,
                text=timed,
                hoverinfo="text",
                **common,
            ),
            row=1,
            col=2,
        )
        fig.add_trace(
            go.Box(
                y=s.scores,
                name=s.label,
                legendgroup=s.label,
                showlegend=False,
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker=dict(color=colour, size=5),
                line=dict(color=colour),
            ),
            row=1,
            col=3,
        )
    fig.update_xaxes(title_text="trials ended", row=1, col=1)
    fig.update_xaxes(title_text="training time (s)", row=1, col=2)
    fig.update_yaxes(title_text=data.objective, row=1, col=1)
    fig.update_layout(
        height=380,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", y=-0.2),
        hovermode="closest",
    )
    return fig


def compare(searches: list[Any], labels: list[str] | None = None) -> go.Figure:
    """Searches side by side (``Results`` or their folders), one colour each.

    Labels default to each search's name and tuner (``quickstart (tpe)``), numbered when two match.
    """
    results = [as_results(s) for s in searches]
    if labels is None:
        labels = []
        for r in results:
            label = f"{r.name} ({r.strategy})"
            n, unique = 2, label
            while unique in labels:
                unique, n = f"{label} #{n}", n + 1
            labels.append(unique)
    if len(labels) != len(results):
        raise ValueError(f"{len(labels)} labels for {len(results)} searches")
    return compare_figure(compare_data([(label, r.record) for label, r in zip(labels, results, strict=True)]))


__all__ = ["CompareData", "SearchCurve", "compare", "compare_data", "compare_figure", "training_seconds"]
