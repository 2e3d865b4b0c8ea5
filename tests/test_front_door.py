"""The first minute: a dashboard shown gets Run ready in the background, Run answers at once, and the result
stays in view."""

from __future__ import annotations

import pytest

import tunewidgets as tw
from tunewidgets.dashboard import Dashboard
from tunewidgets.engine.folder.protocol import WorkerFiles
from tunewidgets.engine.folder.record import SearchRecord
from tunewidgets.engine.warm import warm_workers
from tunewidgets.events import EndReason
from tunewidgets.plots import LiveViews
from tunewidgets.spec import Spec

from .conftest import SPECS, tiny


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
    assert not dash.views_box.children  # ... but shown only at Run
    dash.run()
    results = dash.wait(120)
    assert results is not None and len(results.trials) == 2
    pid = WorkerFiles(results.project.workers).read_end("tuner0")["pid"]
    assert pid in spares  # the search trained in the worker started when the dashboard was shown
    assert dash.views_box.children == (dash.views[0].widget,)


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
    assert "Best so far" in dash.best_so_far.value
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
    assert not dash.resume_button.disabled


def test_empty_views_of_a_search_about_to_start_say_what_is_coming(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=3, epochs=4)
    views = LiveViews()
    views.reset(tw.Search(spec, tmp_path / "s"))
    assert views.curves.layout.title.text.startswith("Starting: 3 trials of up to 4 epochs")
    views.reset(SearchRecord())
    assert not views.curves.layout.title.text  # a record shown, nothing is coming
