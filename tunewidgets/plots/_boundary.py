"""The decision boundary: what a classifier of two inputs predicts over their plane, with the data on top.

The predictions come from the worker (``BoundaryUpdated`` events, at each epoch's end), so drawing
needs no TensorFlow. A trial is shown at its best epoch (the weights it is scored and saved by);
while it trains, at its latest epoch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go

from ..engine.folder.record import SearchRecord
from ..events import TrialStatus
from ..progress import trial_number
from ._data import as_results
from ._figures import batch
from ._widget import figure_widget

CLASS_COLOURS = ("#2166ac", "#b2182b", "#1b7837", "#762a83", "#e08214", "#35978f", "#8c510a", "#c51b7d")


class BoundaryData(NamedTuple):
    trial_id: str | None
    title: str
    shows: str  # "probability" (of the second class) or "class"
    x: tuple[float, ...]
    y: tuple[float, ...]
    z: tuple[tuple[float, ...], ...]
    train: tuple[tuple[float, ...], tuple[float, ...], tuple[int, ...]]  # x, y, class
    val: tuple[tuple[float, ...], tuple[float, ...], tuple[int, ...]]
    axes: tuple[str, str]
    classes: tuple[str, ...]


def _points(x: Any, y: Any) -> tuple[tuple[float, ...], tuple[float, ...], tuple[int, ...]]:
    x = np.asarray(x, dtype=float)
    return tuple(x[:, 0].tolist()), tuple(x[:, 1].tolist()), tuple(int(v) for v in np.asarray(y).ravel())


def boundary_data(record: SearchRecord, dataset: Any, trial_id: str | None = None, live: bool = False) -> BoundaryData:
    """The boundary of ``trial_id`` (the best trial by default; while a search runs, with ``live``, the
    trial that trains now): at its best epoch, or at its latest while it trains."""
    chosen = trial_id
    if chosen is None and live:
        running = [
            t.trial_id for t in record.snapshot() if t.status is TrialStatus.RUNNING and t.trial_id in record.latest
        ]
        chosen = running[-1] if running else None
    if chosen is None:
        best = record.best()
        chosen = best.trial_id if best is not None else None
    event = None
    if chosen is not None:
        trial = record.trials.get(chosen)
        training = trial is not None and trial.status is TrialStatus.RUNNING
        event = record.latest.get(chosen) if training else record.boundaries.get(chosen, record.latest.get(chosen))
    names = tuple(getattr(dataset, "feature_names", None) or ("x0", "x1"))[:2]
    classes = tuple(getattr(dataset, "class_names", None) or ())
    train, val = _points(dataset.x_train, dataset.y_train), _points(dataset.x_val, dataset.y_val)
    if event is None:
        return BoundaryData(
            chosen, "decision boundary (no trial yet)", "probability", (), (), (), train, val, names, classes
        )
    n = len(event.values)
    xs = tuple(np.linspace(event.x_range[0], event.x_range[1], n).tolist())
    ys = tuple(np.linspace(event.y_range[0], event.y_range[1], n).tolist())
    title = f"decision boundary: trial {trial_number(chosen)}, epoch {event.epoch}" if chosen else "decision boundary"
    z = tuple(tuple(row) for row in event.values)
    return BoundaryData(chosen, title, event.shows, xs, ys, z, train, val, names, classes)


def _class_name(classes: tuple[str, ...], c: int) -> str:
    return classes[c] if 0 <= c < len(classes) else str(c)


def boundary_figure(data: BoundaryData, widget: bool = False) -> go.Figure:
    fig = figure_widget() if widget else go.Figure()
    if data.shows == "probability":
        surface = go.Contour(
            x=data.x,
            y=data.y,
            z=data.z,
            zmin=0,
            zmax=1,
            colorscale=[[0, "#92c5de"], [0.5, "#f7f7f7"], [1, "#f4a582"]],
            contours=dict(start=0, end=1, size=0.1),
            colorbar=dict(title="P(class 1)", thickness=12),
            hovertemplate="x=%{x:.2f}, y=%{y:.2f}: %{z:.2f}<extra></extra>",
            name="prediction",
        )
    else:
        n = max(2, len(data.classes))
        scale = [[i / (n - 1), CLASS_COLOURS[i % len(CLASS_COLOURS)]] for i in range(n)]
        surface = go.Heatmap(
            x=data.x,
            y=data.y,
            z=data.z,
            zmin=0,
            zmax=n - 1,
            colorscale=scale,
            opacity=0.35,
            showscale=False,
            hovertemplate="x=%{x:.2f}, y=%{y:.2f}: class %{z}<extra></extra>",
            name="prediction",
        )
    fig.add_trace(surface)
    for label, (xs, ys, cs), symbol in (("training rows", data.train, "circle"), ("validation rows", data.val, "x")):
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                name=label,
                marker=dict(
                    symbol=symbol,
                    size=6,
                    color=[CLASS_COLOURS[c % len(CLASS_COLOURS)] for c in cs],
                    line=dict(width=0.5, color="white"),
                ),
                text=[f"class {_class_name(data.classes, c)}" for c in cs],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.update_layout(
        title=data.title,
        height=380,
        margin=dict(l=50, r=20, t=50, b=40),
        xaxis=dict(title=data.axes[0], range=[data.x[0], data.x[-1]] if data.x else None),
        yaxis=dict(title=data.axes[1], range=[data.y[0], data.y[-1]] if data.y else None),
        legend=dict(orientation="h", y=-0.15),
    )
    return fig


def update_boundary(fig: go.Figure, data: BoundaryData) -> None:
    """Writes new predictions (and the title) into a figure made by :func:`boundary_figure`."""
    with batch(fig):
        fig.data[0].x, fig.data[0].y, fig.data[0].z = data.x, data.y, data.z
        fig.layout.title.text = data.title
        if data.x:
            fig.layout.xaxis.range = [data.x[0], data.x[-1]]
            fig.layout.yaxis.range = [data.y[0], data.y[-1]]


def decision_boundary(results: Any, trial_id: str | None = None) -> go.Figure:
    """The decision boundary of a finished search's best trial (or ``trial_id``), at its best epoch.

    For classification data with two input features; the predictions were computed by the workers
    during the search.
    """
    r = as_results(results)
    from ..model.boundary import applies

    if not applies(r.dataset):
        raise ValueError(
            f"a decision boundary needs classification data with two inputs; this search's data has "
            f"inputs of shape {tuple(r.dataset.input_shape)} for a {r.dataset.task} task"
        )
    if trial_id is not None and trial_id not in r.record.trials:
        raise KeyError(f"no trial {trial_id!r} (trials: {', '.join(r.record.trials)})")
    return boundary_figure(boundary_data(r.record, r.dataset, trial_id))


class BoundaryView:
    """The live decision boundary in the dashboard's views: the running trial's, or the selected one's."""

    def __init__(self) -> None:
        import ipywidgets as w

        self.dataset: Any = None
        self.figure: go.FigureWidget | None = None
        self.widget = w.VBox([])
        self.dirty = False

    def follow(self, dataset: Any) -> bool:
        """Shows the boundary for a search's prepared data when it has two inputs and classes; True if so."""
        from ..model.boundary import applies

        if dataset is None or not applies(dataset):
            self.dataset, self.figure, self.widget.children = None, None, []
            return False
        if dataset is not self.dataset:
            self.dataset = dataset
            self.figure = figure_widget(boundary_figure(boundary_data(SearchRecord(), dataset)))
            self.widget.children = [self.figure]
        self.dirty = True
        return True

    def redraw(self, record: SearchRecord, selected: str | None, live: bool) -> None:
        if self.figure is None or not self.dirty:
            return
        self.dirty = False
        update_boundary(self.figure, boundary_data(record, self.dataset, selected, live=live))


__all__ = ["BoundaryData", "BoundaryView", "boundary_data", "boundary_figure", "decision_boundary", "update_boundary"]
