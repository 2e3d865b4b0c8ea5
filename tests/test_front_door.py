"""The first minute: a dashboard shown gets Run ready in the background, Run answers at once, and the result
stays in view."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

import tunewidgets as tw
from tunewidgets.dashboard import Dashboard
from tunewidgets.engine.folder.protocol import WorkerFiles
from tunewidgets.engine.folder.record import SearchRecord
from tunewidgets.engine.warm import warm_workers
from tunewidgets.events import EndReason
from tunewidgets.plots import LiveViews
from tunewidgets.spec import Spec

from .conftest import ROOT, SPECS, tiny


@pytest.mark.slow
def test_a_shown_dashboard_starts_the_worker_that_runs_its_search_before_run(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=2, epochs=2)
    dash = Dashboard(spec, base_dir=tmp_path)
    dash._ipython_display_()  # what a notebook does when the cell's value is the dashboard
    dash.launcher._warming.join(120)
    assert dash.launcher.spares == 1
    spares = {p.pid for p in warm_workers.parked() if p.poll() is None}
    assert spares, "no spare worker waits"
    assert dash.launcher.made, "the views are made before Run"
    assert not dash.launcher.box.children  # ... but shown only at Run
    dash.run()
    results = dash.wait(120)
    assert results is not None and len(results.trials) == 2
    ended = WorkerFiles(results.project.workers).read_end("tuner0")
    pid = ended.pid if ended is not None else None
    assert pid in spares  # the search trained in the worker started when the dashboard was shown
    assert dash.launcher.box.children == (dash.views[0].widget,)


@pytest.mark.slow
def test_the_result_stays_in_view_and_the_plan_is_said_once(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=2, epochs=2)
    dash = Dashboard(spec, base_dir=tmp_path)
    assert dash.screen.settings_shown
    dash.run()
    assert not dash.screen.settings_shown  # folded at Run
    assert spec.describe() not in dash.screen.line.value
    dash.wait(120)
    assert dash.search.end_reason is EndReason.COMPLETED
    assert not dash.screen.settings_shown  # still folded: the curves and the best trial are in view
    assert "Best so far" in dash.progress_view.best_so_far.value
    dash.screen.toggle.value = True  # the Settings button unfolds them
    assert dash.screen.settings_shown


@pytest.mark.slow
def test_stop_pressed_while_the_search_is_starting_stops_it(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=3, epochs=2)
    dash = Dashboard(spec, base_dir=tmp_path)
    dash.run()
    dash.stop()  # before the search's thread has started it
    dash.wait(120)
    assert dash.search.end_reason is EndReason.STOPPED
    assert len(dash.search.record.completed()) < 3
    assert not dash.bar.resume_button.disabled


def test_empty_views_of_a_search_about_to_start_say_what_is_coming(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=3, epochs=4)
    views = LiveViews()
    views.reset(tw.Search(spec, tmp_path / "s"))
    assert views.curves.layout.title.text.startswith("Starting: 3 trials of up to 4 epochs")
    views.reset(SearchRecord())
    assert views.curves.layout.title.text == "Training curves: val_loss"  # a record shown, nothing is coming


STATE = """
import json
import tunewidgets as tw
from ipywidgets.widgets.widget import _instances, _remove_buffers
import plotly.graph_objects as go
dash = tw.Dashboard()
dash.views  # made, as at Run
sizes = []
for widget in list(_instances.values()):
    state, _, buffers = _remove_buffers(widget.get_state())
    sizes.append(len(json.dumps(state, allow_nan=False)) + sum(len(b) for b in buffers))
figures = sum(isinstance(w, go.FigureWidget) for w in _instances.values())
print(json.dumps({"bytes": sum(sizes), "over_1mb": sum(n > 1_000_000 for n in sizes), "figures": figures}))
"""


def test_one_dashboard_sends_plotly_js_once_and_at_most_8_mb_of_widget_state():
    out = subprocess.run([sys.executable, "-c", STATE], capture_output=True, text=True, check=True, cwd=ROOT)
    sent = json.loads(out.stdout.strip().splitlines()[-1])
    assert sent["figures"] >= 5  # curves, best so far, parallel coordinates, scatter, importance
    assert sent["over_1mb"] == 1  # plotly.js, once (it was once per figure: about 5 MB each)
    assert sent["bytes"] <= 8 * 2**20, sent


def test_figure_messages_carry_no_non_finite_number_and_a_view_attaching_later_gets_the_figure_as_it_is():
    from tunewidgets.plots._widget import figure_widget

    fig = figure_widget()
    sent = []
    fig.comm.send = lambda data=None, metadata=None, buffers=None: sent.append(data)
    fig.add_scatter(x=[1, 2, 3], y=[1.0, float("nan"), float("inf")])  # a trial whose loss diverged
    fig.data[0].y = [float("nan"), 2.0, -float("inf")]
    fig.update_layout(yaxis_range=[0, float("inf")])
    assert not any("_widget_data" in m.get("state", {}) for m in sent)  # changes travel as themselves
    fig.send_state()  # what a reloaded page's request for the whole state gets
    assert len(sent) >= 3
    assert sent[-1]["state"]["_widget_data"][0]["y"] == [None, 2.0, None]
    assert sent[-1]["state"]["_widget_layout"]["yaxis"]["range"] == [0, None]
    for message in sent:
        json.dumps(message, allow_nan=False)  # raises on NaN or infinity, as Jupyter's own packer does
    y = fig.data[0].y  # the figure in Python keeps its values; only what is sent is cleaned
    assert y[1] == 2.0 and y[0] != y[0] and y[2] == -float("inf")


def test_no_spare_worker_starts_when_warm_workers_are_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEWIDGETS_KEEP_WARM", "0")
    before = len(warm_workers.parked())
    search = tw.Search(tiny(Spec.from_file(SPECS / "quickstart.json")), tmp_path / "s")
    assert search.warm_up() == 0
    dash = Dashboard(base_dir=tmp_path)
    dash.warm_up()
    dash.launcher._warming.join(60)
    assert dash.launcher.spares == 0 and len(warm_workers.parked()) == before
    assert dash.launcher.made  # the views are still made ahead


def test_a_worker_needs_a_folder_unless_it_is_a_spare():
    out = subprocess.run(
        [sys.executable, "-m", "tunewidgets.engine.worker"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 2 and "the search's folder is required (unless --spare)" in out.stderr


def test_parallel_coordinates_put_a_missing_conditional_value_at_n_a():
    # notebook 02 sent NaN here: penalty_strength has no value in trials with penalty "none"; plotly's parcoords
    # draws neither NaN nor null (null lands at 0, off a log axis), so a missing value gets its own "n/a" position
    from tunewidgets.plots._data import _encode

    log = _encode("penalty_strength", [0.01, None, 0.001], log=True)
    assert all(math.isfinite(v) for v in log.values)
    assert log.ticktext[0] == "n/a" and log.values[1] == log.tickvals[0] < min(log.values[0], log.values[2])
    linear = _encode("units", [16, None, 64], log=False)
    assert linear.values[1] == linear.tickvals[0] < 16 and linear.ticktext[0] == "n/a"
    few = _encode("units", [16, None, 64], log=False, categories=True)
    assert few.values == (1.0, 0.0, 2.0) and few.ticktext == ("n/a", "16", "64")
    assert _encode("units", [16, 64], log=False).ticktext is None  # nothing missing: plotly's own ticks


def test_no_trace_of_a_live_view_is_sent_without_its_name():
    """plotly sends a batch of changes as one restyle of every trace it touched: a name set on some traces in
    a batch went to the others as undefined, and the page's legend read "trace 0"."""
    import comm
    from comm.base_comm import BaseComm

    from tunewidgets.engine.folder.record import SearchRecord
    from tunewidgets.events import EpochEnded, SearchStarted, TrialEnded, TrialStarted, TrialStatus
    from tunewidgets.plots.live import LiveViews

    restyles = []

    class Capture(BaseComm):
        def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
            state = (data or {}).get("state") or {}
            if state.get("_py2js_restyle"):
                restyles.append(state["_py2js_restyle"]["restyle_data"])
            if state.get("_py2js_update"):  # a batch of changes
                restyles.append(state["_py2js_update"]["style_data"])

    made, comm.create_comm = comm.create_comm, Capture
    try:
        record = SearchRecord()
        views = LiveViews(record, interval=0.0)
        for event in (
            SearchStarted("s", "val_loss", "min", "random", 2, 2, False),
            TrialStarted("0", {"units": 8}),
            EpochEnded("0", 1, {"loss": 0.9, "val_loss": 1.0}),
            TrialEnded("0", TrialStatus.COMPLETED, 1.0, 1, 1.0),
        ):
            record.apply(event)
            views.on_event(event)
        views.reset(record)
        views.metric.value = "loss"
    finally:
        comm.create_comm = made
    named = [r["name"] for r in restyles if "name" in r]
    assert named, "no name was sent"  # the other split's names follow the metric
    assert all(isinstance(n, str) and n != "_undefined_" for names in named for n in names), named
