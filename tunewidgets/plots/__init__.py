"""Plots of a search: live in the dashboard, or from a finished search on disk.

Each view is computed in two steps: a pure function turns trials into plot data
(:mod:`tunewidgets.plots._data`), then a figure is built or updated from it
(:mod:`tunewidgets.plots._figures`).

    >>> r = tunewidgets.load("runs/quickstart")                # doctest: +SKIP
    >>> tunewidgets.plots.training_curves(r, "val_loss")      # doctest: +SKIP
    >>> tunewidgets.plots.show(r)                               # all views, interactive  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from . import _nbformat  # noqa: F401  # isort: skip - nbformat made lazy before plotly loads (see _nbformat.py)
import plotly.graph_objects as go

from . import _data, _figures
from ._boundary import decision_boundary
from ._compare import compare
from ._data import IMPORTANCE_METHOD
from ._widget import figure_widget
from .live import LiveViews, Throttle
from .report import write_report


def training_curves(results: Any, metric: str | None = None, selected: str | None = None) -> go.Figure:
    """Per-trial curves of one metric (the objective by default)."""
    r = _data.as_results(results)
    fig = _figures.curves_figure(_data.curves_data(r.record, metric, selected))
    if r.curves_note:  # a plain keras-tuner folder: no curve was recorded, and the figure says why
        fig.update_layout(title={"text": r.curves_note, "font": {"size": 12}})
    return fig


def best_so_far(results: Any) -> go.Figure:
    """Each trial's objective and the running best, by trial number."""
    return _figures.best_so_far_figure(_data.best_so_far_data(_data.as_results(results).record))


def parallel_coordinates(results: Any) -> go.Figure:
    """Every varying hyperparameter and the objective, coloured by the objective."""
    r = _data.as_results(results)
    return _figures.parallel_figure(_data.parallel_data(r.record, r.log_scaled, r.categorical))


def hyperparameter_scatter(results: Any, name: str) -> go.Figure:
    """One hyperparameter against the objective (log axis where the range was log)."""
    r = _data.as_results(results)
    scatter = _data.scatter_data(r.record, name, r.log_scaled, r.categorical)
    return _figures.scatter_figure(scatter, r.objective)


def importance(results: Any) -> go.Figure:
    """Which hyperparameters mattered most, estimated from the completed trials."""
    r = _data.as_results(results)
    importance = _data.importance_data(r.record, r.log_scaled, categorical_names=r.categorical)
    return _figures.importance_figure(importance)


def trial_table(results: Any, sort_by: str = "score") -> Any:
    """The trial table as a DataFrame, best first."""
    return _data.table_frame(_data.as_results(results).record, sort_by)


def show(results: Any) -> LiveViews:
    """All views of a finished (or reloaded) search, interactive, in one widget."""
    r = _data.as_results(results)
    views = LiveViews(r)
    views.reset(r)
    return views


def default_views() -> list[LiveViews]:
    """The views a dashboard shows while a search runs."""
    return [LiveViews()]


__all__ = [
    "IMPORTANCE_METHOD",
    "LiveViews",
    "Throttle",
    "best_so_far",
    "compare",
    "decision_boundary",
    "default_views",
    "figure_widget",
    "hyperparameter_scatter",
    "importance",
    "parallel_coordinates",
    "show",
    "training_curves",
    "trial_table",
    "write_report",
]
