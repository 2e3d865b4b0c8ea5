"""Live views: FigureWidgets fed by search events, throttled, with one shared selection.

Events arrive on the search thread. The views only mark themselves dirty; a
:class:`Throttle` redraws at most a few times a second (and once more after the
last event), so a long search neither floods the browser nor slows training.
A redraw writes what changed since the last one (:mod:`tunewidgets.plots._incremental`): figures are
never rebuilt, and a redraw's cost does not grow with the number of trials.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import ipywidgets as w

from ..engine.folder.record import SearchRecord
from ..events import BoundaryUpdated, EpochEnded, Event, SearchEnded, SearchStarted, TrialEnded, TrialStarted
from . import _data as data
from . import _figures as figures
from ._boundary import BoundaryView
from ._incremental import BestView, CurvesView, Folded
from ._source import view_source
from ._throttle import Throttle

#: the views drawn from every trial at once (by their tabs' titles)
WHOLE_VIEWS = ("Parallel coordinates", "Hyperparameters", "Trials")


class LiveViews:
    """The dashboard's plots: training curves, best so far, parallel coordinates,
    a hyperparameter against the objective, importance, and the trial table.

    Feed it with ``on_event`` (the dashboard does), or show a finished search
    with :func:`tunewidgets.plots.show`. ``select(trial_id)`` highlights a trial
    everywhere; clicking a point or a table row does the same.
    """

    #: seconds between two importance estimates while a search runs (each fits a small forest, off the views' thread)
    importance_every = 30.0
    #: seconds between two redraws of the views drawn from every trial (parallel coordinates, the scatter, the
    #: table), at the least; each waits ``cost_factor`` times its last redraw's time too, and only the view on
    #: screen is redrawn while a search runs (the others when they are shown, or when it ends)
    trials_every = 2.0
    cost_factor = 10.0
    #: rows of the trial table (the best first); every trial is in ``results.trials`` and ``trials.csv``
    table_rows = 500

    def __init__(self, source: Any = None, *, interval: float = 0.5):
        self._source = view_source(source)
        self.log_names: set[str] = set()
        self.categorical_names: set[str] = set()
        self.selected: str | None = None
        self._stale = set(WHOLE_VIEWS)  # views drawn from every trial, not drawn since trials changed
        self._drawn_at = dict.fromkeys(WHOLE_VIEWS, -float("inf"))
        self._cost = dict.fromkeys(WHOLE_VIEWS, 0.0)
        self._dirty_importance = True
        self._importance_at = -float("inf")
        self._importance: Any = None  # an estimate made off the views' thread, waiting to be drawn
        self._importance_thread: threading.Thread | None = None
        self._final = False
        self._final_pending = False
        self._table_trials: list[str] = []
        self._folded = Folded()
        self._curves_note = ""
        self._waiting_note = ""  # a search that has not trained an epoch yet: what is coming
        self._title = ""
        self._last_metrics: list[str] = []
        record = SearchRecord()  # the figures start empty: the first redraw folds the trials in
        self.metric = w.Dropdown(
            description="Metric",
            options=[],
            layout=w.Layout(width="260px"),
            tooltip="Which logged metric the curves show",
        )
        self.hyperparameter = w.Dropdown(
            description="Hyperparameter",
            options=[],
            style={"description_width": "initial"},
            layout=w.Layout(width="320px"),
        )
        self.curves = figures.curves_figure(data.curves_data(record), widget=True)
        self.best = figures.best_so_far_figure(data.best_so_far_data(record), widget=True)
        self.parallel = figures.parallel_figure(data.parallel_data(record), widget=True)
        self.scatter = figures.scatter_figure(data.scatter_data(record, ""), record.objective, widget=True)
        self.importance = figures.importance_figure(data.importance_data(record), widget=True)
        self.table = _make_table()
        self.selection_text = w.HTML()
        self._curves_view, self._best_view = CurvesView(self.curves), BestView(self.best)
        self.table_note = w.HTML()
        self.metric.observe(lambda _: self._redraw_curves([]), names="value")
        self.hyperparameter.observe(lambda _: self._redraw_scatter(), names="value")
        for fig in (self.curves, self.best, self.scatter):
            for trace in fig.data:
                trace.on_click(self._clicked)
        if self.table is not None:
            self.table.observe(self._table_selected, names="selected_rows")
        table_box: list[Any] = [self.table] if self.table is not None else [w.HTML("itables is not installed")]
        self.boundary = BoundaryView()
        self._tabs = [
            ("Training curves", w.VBox([self.metric, self.curves])),
            ("Best so far", self.best),
            ("Parallel coordinates", self.parallel),
            ("Hyperparameters", w.VBox([self.hyperparameter, w.HBox([self.scatter, self.importance])])),
            ("Trials", w.VBox([self.selection_text, self.table_note, *table_box])),
        ]
        self.widget = w.Tab()
        self._show_tabs(boundary=False)
        self.throttle = Throttle(self.redraw, interval)
        self.widget.observe(self._tab_shown, names="selected_index")
        self.throttle.flush_now()

    def _show_tabs(self, boundary: bool) -> None:
        """The views' tabs; with two-input classification data the decision boundary comes second."""
        tabs = list(self._tabs)
        if boundary:
            tabs.insert(1, ("Decision boundary", self.boundary.widget))
        if [t for t, _ in tabs] != list(self.widget.titles):
            self.widget.children = [child for _, child in tabs]
            self.widget.titles = [title for title, _ in tabs]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ---------------------------------------------------------------- sources
    @property
    def record(self) -> SearchRecord:
        """The trials shown: a Search's live record, its results' or a record of its own."""
        return self._source.record

    def reset(self, source: Any) -> None:
        """Follows another search (or its results, or a record) from now on (see :func:`view_source`)."""
        self._source = view_source(source)
        self._follow_scales()
        self._show_tabs(self.boundary.follow(self._source.dataset()))
        self._curves_note, self._waiting_note = self._source.notes()  # a keras-tuner folder: no curve on disk
        self.selected = None
        self._folded = Folded()
        self._curves_view.metric = None  # everything drawn afresh
        self._best_view.clear()
        self._stale = set(WHOLE_VIEWS)
        self._dirty_importance = True
        self._final = True
        self.throttle.flush_now()
        self._final = False

    def _follow_scales(self) -> None:
        """Which hyperparameters are drawn on log axes, and which as categories."""
        self.log_names, self.categorical_names = self._source.scales()

    def on_event(self, event: Event) -> None:
        """Marks what an event changed and asks for a (throttled) redraw."""
        if isinstance(event, SearchStarted):  # the data is prepared: a decision boundary if it has two inputs
            self._follow_scales()  # your own hypermodel's space is known by now
            self._show_tabs(self.boundary.follow(self._source.dataset()))
        if isinstance(event, (BoundaryUpdated, TrialEnded)):
            self.boundary.dirty = True
        if isinstance(event, (TrialStarted, TrialEnded, SearchStarted)):
            self._stale = set(WHOLE_VIEWS)
        if isinstance(event, (TrialEnded, SearchStarted)):
            self._dirty_importance = True
        if isinstance(event, SearchEnded):
            # everything is redrawn once more, on the views' thread: the search returns at once
            self._stale = set(WHOLE_VIEWS)
            self._dirty_importance = True
            self._final_pending = True
            self.throttle.request()
        elif isinstance(event, (EpochEnded, TrialStarted, TrialEnded, SearchStarted, BoundaryUpdated)):
            self.throttle.request()

    # ---------------------------------------------------------------- drawing
    def redraw(self) -> None:
        """Writes what changed since the last redraw into the figures (what the throttle calls).

        The curves and the best so far are written from the trials that changed (an epoch: the running
        trial's curve). The views drawn from every trial are redrawn when they are on screen, at most every
        ``trials_every`` seconds (and ``cost_factor`` times their last redraw's time); all of them when the
        search ends, a trial is selected, or another search is shown.
        """
        record = self.record
        if self._final_pending:
            self._final_pending = False
            self._final = True
        changed = self._folded.catch_up(record)
        metrics = data.order_metrics(self._folded.metrics, record.objective)
        if metrics != self._last_metrics:
            self._last_metrics = metrics
            current = self.metric.value
            self.metric.options = metrics
            if metrics:
                self.metric.value = current if current in metrics else metrics[0]
        self._redraw_curves(changed)
        self._best_view.draw(self._folded, changed, record.objective, record.direction, self.selected)
        self.boundary.redraw(record, self.selected, live=not self._final)
        for view in sorted(self._stale):
            if self._due(view):
                self._redraw_whole(view)
        self._estimate_importance(record)
        if self._final:  # for views that attach later, where plotly's own FigureWidget is used
            for fig in (self.curves, self.best, self.parallel, self.scatter, self.importance, self.boundary.figure):
                if fig is not None:
                    figures.sync_state(fig)
        self._final = False

    def _due(self, view: str) -> bool:
        """Whether a view drawn from every trial is redrawn now: on screen (or the search ended) and not too soon."""
        if self._final:
            return True
        shown = self.widget.selected_index is not None and self.widget.titles[self.widget.selected_index] == view
        wait = max(self.trials_every, self.cost_factor * self._cost[view])
        if shown and time.monotonic() - self._drawn_at[view] < wait:
            self.throttle.request()  # come back for it
            return False
        return shown

    def _redraw_whole(self, view: str) -> None:
        start = time.monotonic()
        self._stale.discard(view)
        if view == "Parallel coordinates":
            parallel = data.parallel_data(self.record, self.log_names, self.categorical_names)
            figures.update_parallel(self.parallel, parallel)
        elif view == "Hyperparameters":
            names = data.varying_hyperparameters(self.record.completed())
            if list(self.hyperparameter.options) != names:
                current = self.hyperparameter.value
                self.hyperparameter.options = names
                if names:
                    self.hyperparameter.value = current if current in names else names[0]
            self._redraw_scatter()
        elif view == "Trials":
            self._redraw_table()
        self._drawn_at[view] = time.monotonic()
        self._cost[view] = self._drawn_at[view] - start

    def _tab_shown(self, _change: Any) -> None:
        if self._stale:
            self.throttle.request()

    def _estimate_importance(self, record: SearchRecord) -> None:
        """Importance is estimated on a thread of its own (a forest's fit), drawn at the next redraw; when the
        search ends (or another is shown) it is estimated here, from every trial, after any estimate under way."""
        ready, self._importance = self._importance, None
        if ready is not None:
            figures.update_importance(self.importance, ready)
        thread = self._importance_thread
        now = time.monotonic()
        logs, cats = set(self.log_names), set(self.categorical_names)
        if self._final and self._dirty_importance:
            if thread is not None:
                thread.join()  # its estimate is older than this one
            self._importance = None
            self._dirty_importance, self._importance_at = False, now
            figures.update_importance(self.importance, data.importance_data(record, logs, categorical_names=cats))
            return
        busy = thread is not None and thread.is_alive()
        if not self._dirty_importance or busy or now - self._importance_at < self.importance_every:
            return
        self._dirty_importance, self._importance_at = False, now

        def estimate() -> None:
            self._importance = data.importance_data(record, logs, categorical_names=cats)
            self.throttle.request()

        self._importance_thread = threading.Thread(target=estimate, name="tunewidgets-importance", daemon=True)
        self._importance_thread.start()

    def settle(self, timeout: float | None = 30) -> bool:
        """Waits until the views show everything received so far (for scripts and tests)."""
        return self.throttle.wait(timeout)

    def _redraw_curves(self, changed: list[Any]) -> None:
        metric = self.metric.value or self.record.objective
        self._curves_view.draw(self._folded, changed, metric, self.record.objective, self.selected)
        # the figure says why it is empty, and how to get the curves; or, before the first epoch, what is coming
        if self._curves_note or (self._waiting_note and not self._curves_view.drawn):
            title = self._curves_note or self._waiting_note
        else:
            title = f"Training curves: {metric}"
        if title != self._title:
            self._title = title
            self.curves.layout.title.update(text=title, font={"size": 12})

    def _redraw_scatter(self) -> None:
        if self.hyperparameter.value:
            scatter = data.scatter_data(self.record, self.hyperparameter.value, self.log_names, self.categorical_names)
            figures.update_scatter(self.scatter, scatter, self.selected)

    def _redraw_table(self) -> None:
        if self.table is None:
            return
        frame = data.table_frame(self.record)
        total = len(frame)
        frame = frame.head(self.table_rows)
        self.table_note.value = (
            f"The best {self.table_rows:,} of {total:,} trials; every trial is in the results' <code>trials</code> "
            "and the search folder's <code>trials.csv</code>."
            if total > self.table_rows
            else ""
        )
        self._table_trials = list(frame["trial_id"]) if "trial_id" in frame else []
        selected = [self._table_trials.index(self.selected)] if self.selected in self._table_trials else []
        shown = frame.round({"score": 4, "duration": 1}) if not frame.empty else frame
        self.table.update(shown, selected_rows=selected)

    # ---------------------------------------------------------------- selection
    def select(self, trial_id: str | None) -> None:
        """Highlights one trial in every view (``None`` clears)."""
        if trial_id == self.selected:
            return
        self.selected = trial_id
        trial = self.record.trials.get(trial_id) if trial_id else None
        self.selection_text.value = f"Selected: <b>trial {trial.number}</b>" if trial else ""
        self._stale = set(WHOLE_VIEWS)
        self.boundary.dirty = True
        self._final = True
        self.throttle.flush_now()
        self._final = False

    def _clicked(self, trace: Any, points: Any, _state: Any) -> None:
        if points.point_inds:
            ids = trace.customdata
            if ids is not None:
                trial_id = ids[points.point_inds[0]]
                if trial_id:  # (None or "" between two trials' lines)
                    self.select(str(trial_id))

    def _table_selected(self, change: Any) -> None:
        rows = change["new"]
        if rows and rows[0] < len(self._table_trials):
            self.select(self._table_trials[rows[0]])


def _make_table() -> Any:
    try:
        from itables.widget import ITable
    except ImportError:  # pragma: no cover - itables is a dependency
        return None
    import pandas as pd

    return ITable(pd.DataFrame(), select={"style": "single"}, classes="display compact", scrollX=True, pageLength=15)
