"""Step two: plot data -> plotly figures, built once and updated in place.

Each view has ``*_figure(data, widget=False)`` that builds a ``go.Figure`` (or a
``go.FigureWidget`` for live use) and ``update_*(fig, data)`` that writes new data
into the existing traces inside one ``batch_update``. plotly only sends the
properties whose values changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import plotly.graph_objects as go

from ._data import BestSoFarData, CurvesData, ImportanceData, Line, ParallelData, ScatterData
from ._widget import figure_widget, send_whole_figure, shares_bundle

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
_CURVE_HOVER = "%{text}<br>epoch %{x}: %{y:.4g}<extra></extra>"


def _new(widget: bool) -> go.Figure:
    return figure_widget() if widget else go.Figure()


@contextlib.contextmanager
def batch(fig: go.Figure) -> Iterator[None]:
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
    This is what plotly's own ``FigureWidget._repr_mimebundle_`` does. It sends the whole figure: the
    figures of :func:`~tunewidgets.plots._widget.figure_widget` do not need it (they copy it when a view
    asks for their state), only plotly's own ``FigureWidget``, where that one is used.
    """
    if isinstance(fig, go.FigureWidget) and not shares_bundle(fig):
        send_whole_figure(fig)


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
        meta="selected",
        hoverinfo="skip",
        marker=dict(color="rgba(0,0,0,0)", size=16, line=dict(color=COLORS["selected"], width=3)),
    )


def place_ring(
    trace: Any, ids: tuple[str, ...], xs: tuple[Any, ...], ys: tuple[Any, ...], selected: str | None
) -> None:
    index = ids.index(selected) if selected in ids else None
    trace.x = () if index is None else (xs[index],)
    trace.y = () if index is None else (ys[index],)


def set_line(trace: Any, line: Line) -> None:
    """Writes a line's points into a trace as arrays (a gap is NaN), which plotly checks and sends as they
    are, where it walks a tuple value by value (seconds, for 10,000 trials' curves)."""
    import numpy as np

    trace.x, trace.y = np.array(line.x, dtype=float), np.array(line.y, dtype=float)
    trace.text, trace.customdata = np.array(line.text, dtype=object), np.array(line.trial_ids, dtype=object)


# ---------------------------------------------------------------- training curves

CURVE_TRACES = ("completed", "failed", "running", "best", "best_pair", "selected", "selected_pair", "pruned")


CURVE_STYLES: dict[str, dict[str, Any]] = {
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
#: the groups of many trials; past ``GL_AFTER`` trials a group is drawn with WebGL
CURVE_GROUPS = ("completed", "failed", "pruned")
GL_AFTER = 300


def curve_trace(key: str, gl: bool = False, uid: str | None = None) -> Any:
    """A trace of the training curves, styled for its group (``go.Scattergl`` when ``gl``)."""
    style: dict[str, Any] = dict(mode="lines", hovertemplate=_CURVE_HOVER, connectgaps=False, legendgroup=key, meta=key)
    style.update(CURVE_STYLES[key])
    return (go.Scattergl if gl else go.Scatter)(x=(), y=(), uid=uid, **style)


def curves_figure(data: CurvesData, widget: bool = False) -> go.Figure:
    """One line per trial of a metric: running trial, best trial and failed trials stand out."""
    fig = _new(widget)
    for key in CURVE_TRACES:
        many = key in CURVE_GROUPS and len(getattr(data, key).trials()) >= GL_AFTER
        fig.add_trace(curve_trace(key, gl=many, uid=key))
    _layout(fig, "", "epoch", "")
    update_curves(fig, data)
    return fig


def update_curves(fig: go.Figure, data: CurvesData) -> None:
    """Writes ``data`` into the figure's traces (one per group: the figures that are not live).

    A group drawn with WebGL (many trials) keeps only its points, in single precision: its hover says the
    epoch and the value, the trials drawn on top (running, best, selected) say everything (a report of
    10,000 trials' curves is then about 2 MB a figure, not 17).
    """
    import numpy as np

    with batch(fig):
        for trace in fig.data:
            if trace.meta in CURVE_GROUPS and trace.type == "scattergl":
                line = getattr(data, trace.meta)
                trace.x, trace.y = np.array(line.x, dtype=np.float32), np.array(line.y, dtype=np.float32)
                trace.hovertemplate = f"epoch %{{x}}: %{{y:.4g}}<extra>{CURVE_STYLES[trace.meta]['name']}</extra>"
            elif trace.meta in CURVE_TRACES:
                set_line(trace, getattr(data, trace.meta))
    name_curves(fig, data.metric)  # not in the batch: a batch's restyle of some traces' names unnames the rest


def name_curves(fig: go.Figure, metric: str) -> None:
    """The title, the y axis and the other split's legend names, for ``metric``.

    Not inside ``batch_update``: plotly sends a batch's changes as one restyle of every trace it touched,
    and a trace that set no name there has its name sent as undefined (the front end drops it: "trace 0").
    """
    other = "train" if metric.startswith("val_") else "validation"
    for trace in fig.data:
        if trace.meta == "best_pair":
            trace.name = f"best trial ({other})"
        elif trace.meta == "selected_pair":
            trace.name = f"selected ({other})"
    fig.layout.title.text = f"Training curves: {metric}"
    fig.layout.yaxis.title.text = metric


# ---------------------------------------------------------------- best so far

BEST_STYLES: dict[str, dict[str, Any]] = {
    "trials": dict(mode="markers", name="trial", hovertemplate=_HOVER, marker=dict(color="#5d7fb9", size=8)),
    "best": dict(
        mode="lines", name="best so far", line_shape="hv", line=dict(color=COLORS["best"], width=3), hoverinfo="skip"
    ),
    # failed trials have no score: a row of crosses along the bottom (an axis of their own, 0 to 1)
    "failed": dict(
        mode="markers",
        name="failed",
        hovertemplate=_HOVER,
        marker=dict(symbol="x", color="#c0392b", size=9),
        yaxis="y2",
    ),
    "pruned": dict(
        mode="markers",
        name="pruned (best epoch before it stopped)",
        hoverinfo="skip",
        marker=dict(symbol="circle-open", color="#d35400", size=13, line=dict(width=2)),
    ),
}
FAILED_Y = 0.03  # where the failed trials' crosses sit, on their own axis


def best_trace(key: str, gl: bool = False, uid: str | None = None) -> Any:
    """A trace of the best-so-far view, styled for its group (``go.Scattergl`` when ``gl``)."""
    return (go.Scattergl if gl and key != "best" else go.Scatter)(
        x=(), y=(), uid=uid, legendgroup=key, meta=key, **BEST_STYLES[key]
    )


def best_so_far_figure(data: BestSoFarData, widget: bool = False) -> go.Figure:
    """Each trial's objective (dots) and the best so far (a step line), by trial number."""
    fig = _new(widget)
    many = {"trials": len(data.numbers), "failed": len(data.failed_numbers), "pruned": len(data.pruned_numbers)}
    for key in ("trials", "best", "failed"):
        fig.add_trace(best_trace(key, gl=many.get(key, 0) >= GL_AFTER, uid=key))
    fig.add_trace(_selection_ring())
    fig.add_trace(best_trace("pruned", gl=many["pruned"] >= GL_AFTER, uid="pruned"))
    _layout(fig, "Best so far", "trial", data.objective)
    fig.update_layout(yaxis2=dict(overlaying="y", range=[0, 1], visible=False, fixedrange=True))
    update_best_so_far(fig, data)
    return fig


def update_best_so_far(fig: go.Figure, data: BestSoFarData, selected: str | None = None) -> None:
    with batch(fig):
        fig.data[0].x, fig.data[0].y, fig.data[0].text = data.numbers, data.scores, data.texts
        fig.data[0].customdata = data.trial_ids
        fig.data[1].x, fig.data[1].y = data.numbers, data.running_best
        fig.data[2].x, fig.data[2].y = data.failed_numbers, (FAILED_Y,) * len(data.failed_numbers)
        fig.data[2].text = data.failed_texts
        place_ring(fig.data[3], data.trial_ids, data.numbers, data.scores, selected)
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
    with batch(fig):
        fig.data[0].dimensions = dims
        fig.data[0].line = dict(
            color=data.scores, colorscale="Viridis", showscale=bool(data.scores), colorbar=dict(title=data.objective)
        )


# ---------------------------------------------------------------- hyperparameter vs objective


def scatter_figure(data: ScatterData, objective: str, widget: bool = False) -> go.Figure:
    """One hyperparameter against the objective (log axis where the search used one); a figure that is not
    live draws many trials with WebGL, each point's hover saying its trial and score."""
    fig = _new(widget)
    many = not widget and len(data.x) >= GL_AFTER
    fig.add_trace(
        (go.Scattergl if many else go.Scatter)(
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
    texts = data.texts
    if fig.data[0].type == "scattergl":  # many trials: number, status and score (the first two lines)
        texts = tuple("<br>".join(text.split("<br>", 2)[:2]) for text in texts)
    with batch(fig):
        fig.data[0].x, fig.data[0].y, fig.data[0].text = data.x, data.y, texts
        fig.data[0].customdata = data.trial_ids
        place_ring(fig.data[1], data.trial_ids, data.x, data.y, selected)
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
    with batch(fig):
        fig.data[0].x, fig.data[0].y = data.importances, data.names
        note = data.message or f"from {data.n_trials} completed trials"
        fig.layout.title.text = f"Hyperparameter importance<br><sup>{data.method}; {note}</sup>"
