"""Step two: plot data -> plotly figures, built once and updated in place.

Each view has ``*_figure(data, widget=False)`` that builds a ``go.Figure`` (or a
``go.FigureWidget`` for live use) and ``update_*(fig, data)`` that writes new data
into the existing traces inside one ``batch_update``. plotly only sends the
properties whose values changed.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import plotly.graph_objects as go

from ._data import BestSoFarData, CurvesData, ImportanceData, Line, ParallelData, ScatterData
from ._widget import figure_widget

COLORS = {
    "completed": "rgba(80, 110, 170, 0.35)",
    "failed": "rgba(150, 150, 150, 0.6)",
    "running": "#e67e22",
    "best": "#27ae60",
    "selected": "#8e44ad",
    "pruned": "rgba(211, 84, 0, 0.45)",
}
HEIGHT = 340  # with Run above it, a curve fits a laptop's screen (1366 x 768)
_HOVER = "%{text}<extra></extra>"


def _new(widget: bool) -> go.Figure:
    return figure_widget() if widget else go.Figure()


@contextlib.contextmanager
def _batch(fig: go.Figure) -> Iterator[None]:
    if isinstance(fig, go.FigureWidget):
        with fig.batch_update():
            yield
    else:
        yield


def sync_state(fig: go.Figure) -> None:
    """Copies a FigureWidget's current figure into its synced widget state.

    plotly does this only when the figure itself is displayed; later updates travel as
    one-off messages. A view that attaches afterwards (Voila renders after the whole
    notebook ran; a reloaded page) would show the figure as it was first displayed.
    This is what plotly's own ``FigureWidget._repr_mimebundle_`` does.
    """
    if isinstance(fig, go.FigureWidget):
        fig._widget_layout = copy.deepcopy(fig._layout_obj._props)
        fig._widget_data = copy.deepcopy(fig._data)


def _layout(fig: go.Figure, title: str, x: str, y: str) -> None:
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        height=HEIGHT,
        template="plotly_white",
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", y=-0.2),
        uirevision="keep",
    )  # keep the user's zoom across updates


def _selection_ring() -> go.Scatter:
    """A hollow ring drawn around the selected trial's point."""
    return go.Scatter(
        x=(),
        y=(),
        mode="markers",
        name="selected",
        uid="selected",
        hoverinfo="skip",
        marker=dict(color="rgba(0,0,0,0)", size=16, line=dict(color=COLORS["selected"], width=3)),
    )


def _place_ring(
    trace: Any, ids: tuple[str, ...], xs: tuple[Any, ...], ys: tuple[Any, ...], selected: str | None
) -> None:
    index = ids.index(selected) if selected in ids else None
    trace.x = () if index is None else (xs[index],)
    trace.y = () if index is None else (ys[index],)


def _set_line(trace: Any, line: Line) -> None:
    trace.x, trace.y, trace.text = line.x, line.y, line.text
    trace.customdata = line.trial_ids


# ---------------------------------------------------------------- training curves

CURVE_TRACES = ("completed", "failed", "running", "best", "best_pair", "selected", "selected_pair", "pruned")


def curves_figure(data: CurvesData, widget: bool = False) -> go.Figure:
    """One line per trial of a metric: running trial, best trial and failed trials stand out."""
    fig = _new(widget)
    styles = {
        "completed": dict(name="completed trials", line=dict(color=COLORS["completed"], width=1.5)),
        "failed": dict(
            name="failed / stopped",
            line=dict(color=COLORS["failed"], width=1, dash="dot"),
            mode="lines+markers",
            marker=dict(symbol="x", size=6, color=COLORS["failed"]),
        ),
        "running": dict(name="running", line=dict(color=COLORS["running"], width=3), mode="lines+markers"),
        "best": dict(name="best trial", line=dict(color=COLORS["best"], width=4)),
        "best_pair": dict(name="best trial (other split)", line=dict(color=COLORS["best"], width=2, dash="dash")),
        "selected": dict(name="selected trial", line=dict(color=COLORS["selected"], width=3)),
        "selected_pair": dict(name="selected (other split)", line=dict(color=COLORS["selected"], width=2, dash="dash")),
        "pruned": dict(
            name="pruned (stopped early)",
            line=dict(color=COLORS["pruned"], width=1.5, dash="dashdot"),
            mode="lines+markers",
            marker=dict(symbol="line-ns-open", size=8, color=COLORS["pruned"]),
        ),
    }
    for key in CURVE_TRACES:
        style = dict(mode="lines", hovertemplate=_HOVER, connectgaps=False)
        style.update(styles[key])
        fig.add_trace(go.Scatter(x=(), y=(), uid=key, **style))
    _layout(fig, "", "epoch", "")
    update_curves(fig, data)
    return fig


def update_curves(fig: go.Figure, data: CurvesData, previous: dict[str, Line] | None = None) -> None:
    """Writes ``data`` into the figure's traces.

    With ``previous`` (what was written last time, kept by the caller), traces
    whose points did not change are skipped, so a redraw during an epoch costs
    only the running trial's points, however many trials are finished.
    """
    with _batch(fig):
        for trace, key in zip(fig.data, CURVE_TRACES, strict=True):
            line = getattr(data, key)
            if previous is not None:
                if previous.get(key) == line:
                    continue
                previous[key] = line
            _set_line(trace, line)
        other = "train" if data.metric.startswith("val_") else "validation"
        fig.data[4].name = f"best trial ({other})"
        fig.data[6].name = f"selected ({other})"
        fig.layout.title.text = f"Training curves: {data.metric}"
        fig.layout.yaxis.title.text = data.metric


# ---------------------------------------------------------------- best so far


def best_so_far_figure(data: BestSoFarData, widget: bool = False) -> go.Figure:
    """Each trial's objective (dots) and the best so far (a step line), by trial number."""
    fig = _new(widget)
    fig.add_trace(
        go.Scatter(
            x=(),
            y=(),
            mode="markers",
            name="trial",
            uid="trials",
            hovertemplate=_HOVER,
            marker=dict(color="#5d7fb9", size=8),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=(),
            y=(),
            mode="lines",
            name="best so far",
            uid="best",
            line_shape="hv",
            line=dict(color=COLORS["best"], width=3),
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=(),
            y=(),
            mode="markers",
            name="failed",
            uid="failed",
            hovertemplate=_HOVER,
            marker=dict(symbol="x", color="#c0392b", size=9),
        )
    )
    fig.add_trace(_selection_ring())
    fig.add_trace(
        go.Scatter(
            x=(),
            y=(),
            mode="markers",
            name="pruned (best epoch before it stopped)",
            uid="pruned",
            hoverinfo="skip",
            marker=dict(symbol="circle-open", color="#d35400", size=13, line=dict(width=2)),
        )
    )
    _layout(fig, "Best so far", "trial", data.objective)
    update_best_so_far(fig, data)
    return fig


def update_best_so_far(fig: go.Figure, data: BestSoFarData, selected: str | None = None) -> None:
    with _batch(fig):
        fig.data[0].x, fig.data[0].y, fig.data[0].text = data.numbers, data.scores, data.texts
        fig.data[0].customdata = data.trial_ids
        fig.data[1].x, fig.data[1].y = data.numbers, data.running_best
        floor = min(data.scores) if data.scores else 0
        fig.data[2].x, fig.data[2].y = data.failed_numbers, (floor,) * len(data.failed_numbers)
        fig.data[2].text = data.failed_texts
        _place_ring(fig.data[3], data.trial_ids, data.numbers, data.scores, selected)
        fig.data[4].x, fig.data[4].y = data.pruned_numbers, data.pruned_scores
        fig.layout.yaxis.title.text = data.objective


# ---------------------------------------------------------------- parallel coordinates


def parallel_figure(data: ParallelData, widget: bool = False) -> go.Figure:
    """Every hyperparameter and the objective as parallel axes, lines coloured by the objective."""
    fig = _new(widget)
    fig.add_trace(go.Parcoords(uid="parcoords"))
    fig.update_layout(
        title="Parallel coordinates",
        height=HEIGHT + 40,
        template="plotly_white",
        margin=dict(l=80, r=60, t=80, b=30),
        uirevision="keep",
    )
    update_parallel(fig, data)
    return fig


def update_parallel(fig: go.Figure, data: ParallelData) -> None:
    dims = []
    for d in data.dimensions:
        dim: dict[str, Any] = dict(label=d.label, values=d.values)
        if d.tickvals is not None:
            dim.update(tickvals=d.tickvals, ticktext=d.ticktext)
        dims.append(dim)
    with _batch(fig):
        fig.data[0].dimensions = dims
        fig.data[0].line = dict(
            color=data.scores, colorscale="Viridis", showscale=bool(data.scores), colorbar=dict(title=data.objective)
        )


# ---------------------------------------------------------------- hyperparameter vs objective


def scatter_figure(data: ScatterData, objective: str, widget: bool = False) -> go.Figure:
    """One hyperparameter against the objective (log axis where the search used one)."""
    fig = _new(widget)
    fig.add_trace(
        go.Scatter(
            x=(),
            y=(),
            mode="markers",
            uid="points",
            hovertemplate=_HOVER,
            name="trial",
            marker=dict(size=9, color="#5d7fb9"),
        )
    )
    fig.add_trace(_selection_ring())
    _layout(fig, "", "", objective)
    update_scatter(fig, data)
    return fig


def update_scatter(fig: go.Figure, data: ScatterData, selected: str | None = None) -> None:
    with _batch(fig):
        fig.data[0].x, fig.data[0].y, fig.data[0].text = data.x, data.y, data.texts
        fig.data[0].customdata = data.trial_ids
        _place_ring(fig.data[1], data.trial_ids, data.x, data.y, selected)
        fig.layout.xaxis.type = "log" if data.log else "category" if data.categorical else "linear"
        if data.categorical:
            fig.layout.xaxis.categoryorder = "array"
            fig.layout.xaxis.categoryarray = data.categories
        fig.layout.xaxis.title.text = data.name + (" (log scale)" if data.log else "")
        fig.layout.title.text = f"{data.name} vs objective"


# ---------------------------------------------------------------- importance


def importance_figure(data: ImportanceData, widget: bool = False) -> go.Figure:
    """Which hyperparameters mattered most, with the method named in the title."""
    fig = _new(widget)
    fig.add_trace(
        go.Bar(
            x=(),
            y=(),
            orientation="h",
            uid="importance",
            marker_color="#5d7fb9",
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        height=HEIGHT,
        template="plotly_white",
        margin=dict(l=140, r=20, t=70, b=50),
        xaxis=dict(title="share of importance", tickformat=".0%"),
        yaxis=dict(autorange="reversed"),
    )
    update_importance(fig, data)
    return fig


def update_importance(fig: go.Figure, data: ImportanceData) -> None:
    with _batch(fig):
        fig.data[0].x, fig.data[0].y = data.importances, data.names
        note = data.message or f"from {data.n_trials} completed trials"
        fig.layout.title.text = f"Hyperparameter importance<br><sup>{data.method}; {note}</sup>"
