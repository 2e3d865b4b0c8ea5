"""The dashboard without a browser: set values, click buttons, assert."""

from __future__ import annotations

import collections
import subprocess
import sys
import time

import comm
import numpy as np
import pytest
from comm.base_comm import BaseComm

import tunewidgets as tw
from tunewidgets.dashboard import Dashboard, safe_folder_name
from tunewidgets.spec import Choice, Fixed, Range, Spec

from .conftest import SPECS, tiny


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.json")), ids=lambda p: p.stem)
def test_spec_to_dashboard_to_spec_is_unchanged(path):
    spec = Spec.from_file(path)
    dash = Dashboard(spec)
    assert dash.spec.to_dict() == spec.to_dict()
    assert dash.issues == []
    assert not dash.bar.run_button.disabled


def test_every_spec_field_has_a_control_with_help():
    dash = Dashboard()
    fields = {f"{s}.{n}" for s in tw.spec.SECTIONS for n, _ in tw.spec.section_fields(s)}
    assert set(dash.controls) == fields
    for control in dash.controls.values():
        assert control.info.help, control.path


def test_knob_modes_read_back():
    dash = Dashboard()
    units = dash.controls["model.units"]
    units.mode.value = "fixed"
    units.fixed.value = 48
    assert dash.spec.model.units == Fixed(48)
    units.mode.value = "choices"
    units.choices.value = [16, 64]
    assert dash.spec.model.units == Choice((16, 64))
    lr = dash.controls["optimizer.learning_rate"]
    lr.mode.value = "range"
    lr.min.value, lr.max.value, lr.log.value = 1e-5, 1e-1, True
    assert dash.spec.optimizer.learning_rate == Range(1e-5, 1e-1, None, True)
    act = dash.controls["model.activation"]
    act.mode.value = "choices"
    act.choices.value = ("relu", "gelu")
    assert dash.spec.model.activation == Choice(("relu", "gelu"))
    bn = dash.controls["model.batch_norm"]
    bn.mode.value = "choices"
    bn.choices.value = (True, False)
    assert dash.spec.model.batch_norm == Choice((True, False))


def test_invalid_value_disables_run_and_shows_its_message():
    dash = Dashboard()
    units = dash.controls["model.units"]
    units.mode.value = "range"
    units.min.value, units.max.value = 256, 64
    assert dash.bar.run_button.disabled
    assert "min 256 is above max 64" in units.message
    assert "1 problem to fix" in dash.form.summary.value
    with pytest.raises(tw.SpecError, match="model.units: min 256 is above max 64"):
        _ = dash.spec
    units.max.value = 512
    assert not dash.bar.run_button.disabled
    assert units.message == ""


def test_unparseable_step_is_marked_on_its_control():
    dash = Dashboard()
    units = dash.controls["model.units"]
    units.mode.value = "range"
    units.step.value = "abc"
    assert dash.bar.run_button.disabled
    assert "step: 'abc' is not a number" in units.message


def test_cross_field_problems_land_on_the_right_control():
    dash = Dashboard()
    dash.controls["data.name"].set("diabetes")
    dash.controls["tuner.objective"].set("val_accuracy")
    assert "needs a classification task" in dash.controls["tuner.objective"].message
    assert dash.bar.run_button.disabled


def test_controls_that_do_not_apply_are_hidden():
    dash = Dashboard()
    momentum = dash.controls["optimizer.momentum"]
    assert not momentum.visible  # adam only
    opt = dash.controls["optimizer.name"]
    opt.mode.value = "choices"
    opt.choices.value = ("adam", "sgd")
    assert momentum.visible and dash.controls["optimizer.nesterov"].visible
    assert not dash.controls["tuner.factor"].visible
    dash.controls["tuner.algorithm"].set("hyperband")
    assert dash.controls["tuner.factor"].visible and dash.controls["tuner.max_epochs"].visible
    assert not dash.controls["tuner.max_trials"].visible
    assert not dash.controls["data.path"].visible
    dash.controls["data.source"].set("csv")
    assert dash.controls["data.path"].visible and dash.controls["data.target"].visible
    assert not dash.controls["model.filters"].visible


def test_summary_shows_space_size_trials_and_epochs():
    dash = Dashboard(Spec.from_file(SPECS / "grid.json"))
    assert "16 combinations. Grid search trains 12 trials x 10 epochs, 120 epochs in all." in dash.form.summary.value
    assert "Largest model: 5,569 weights" in dash.form.summary.value
    dash.controls["tuner.max_trials"].set(100)
    assert "trains 16 trials x 10 epochs, 160 epochs in all" in dash.form.summary.value


def test_csv_columns_are_offered_and_checked(tmp_path):
    csv = tmp_path / "houses.csv"
    csv.write_text("rooms,area,price\n" + "".join(f"{i % 5},{50 + i},{100 + 3 * i}\n" for i in range(40)))
    dash = Dashboard()
    dash.controls["data.source"].set("csv")
    dash.controls["data.path"].set(str(csv))
    assert dash.controls["data.target"].input.options == ("rooms", "area", "price")
    assert "choose the target column" in dash.controls["data.target"].message
    dash.controls["data.target"].set("cost")
    assert "column 'cost' not in file (columns: rooms, area, price)" in dash.controls["data.target"].message
    dash.controls["data.target"].set("price")
    dash.controls["tuner.objective"].set("val_loss")
    assert dash.issues == []


def test_spec_files_save_and_load(tmp_path):
    dash = Dashboard(Spec.from_file(SPECS / "bayesian.json"))
    path = dash.spec_files.save(tmp_path / "class.json")
    assert Spec.from_file(path) == Spec.from_file(SPECS / "bayesian.json")
    other = Dashboard()
    assert other.spec_files.load(path)
    assert other.spec == Spec.from_file(SPECS / "bayesian.json")
    (tmp_path / "bad.json").write_text('{"model": {"units": {"min": 9, "max": 1}}}')
    assert not other.spec_files.load(tmp_path / "bad.json")
    assert "model.units: min 9 is above max 1" in other.spec_files.message.value
    assert other.spec == Spec.from_file(SPECS / "bayesian.json")  # kept


def test_spec_upload_is_read_as_data():
    dash = Dashboard()
    content = Spec.from_file(SPECS / "grid.json").to_json().encode()
    dash.spec_files._on_upload({"new": [{"name": "grid.json", "content": memoryview(content)}]})
    assert dash.spec == Spec.from_file(SPECS / "grid.json")


def test_folder_names_cannot_escape_the_base_folder(tmp_path):
    assert safe_folder_name("../../etc/passwd") == "etc-passwd"
    assert safe_folder_name("/abs/path") == "abs-path"
    assert safe_folder_name("..") == "search"
    dash = Dashboard(base_dir=tmp_path)
    folder = dash._new_folder("../../evil")
    assert folder.parent == tmp_path.resolve()


def _wait_done(dash, timeout=300):
    deadline = time.time() + timeout
    while dash.search is None or dash.search.running or dash.bar.run_button.disabled and not dash.issues:
        if time.time() > deadline:
            raise TimeoutError(dash.progress_view.status.value)
        time.sleep(0.05)
        if dash.search is not None and not dash.search.running and dash.search.end_reason is not None:
            break


@pytest.mark.slow
def test_run_button_runs_a_search_and_shows_results(tmp_path):
    dash = Dashboard(tiny(Spec.from_file(SPECS / "quickstart.json"), trials=2, epochs=2), base_dir=tmp_path)
    dash.bar.run_button.click()
    dash.bar.run_button.click()  # a double click starts nothing twice
    assert dash.bar.run_button.disabled and not dash.bar.stop_button.disabled
    results = dash.wait(300)
    _wait_done(dash)
    assert results is not None
    assert len(list(tmp_path.iterdir())) == 1
    assert len(results.trials) == 2
    assert "Search completed." in dash.progress_view.status.value
    assert dash.progress_view.progress.value == 2 and dash.progress_view.progress.max == 2
    assert dash.progress_view.text.value.startswith("2 of 2 trials done; took ")
    assert "Best so far: trial" in dash.progress_view.best_so_far.value
    assert "Best trial" in dash.results_panel.best_box.value and "learning_rate" in dash.results_panel.best_box.value
    assert not dash.bar.run_button.disabled and dash.bar.resume_button.disabled
    dash.results_panel.evaluate_button.click()
    assert (
        "Best model on the test split" in dash.results_panel.output.value
        and "accuracy" in dash.results_panel.output.value
    )
    dash.results_panel.model_path.value = str(tmp_path / "best.keras")
    dash.results_panel.save_model_button.click()
    assert (tmp_path / "best.keras").exists()
    dash.results_panel.code_button.click()
    assert "keras.Input(shape=(20,))" in dash.results_panel.code.value
    # Run again: a new folder, the first results stay
    dash.bar.run_button.click()
    dash.wait(300)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["quickstart", "quickstart-2"]


@pytest.mark.slow
def test_stop_and_resume_buttons(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=3, epochs=40, samples=200)
    dash = Dashboard(spec, base_dir=tmp_path)
    dash.bar.run_button.click()
    deadline = time.time() + 120

    def epochs_done() -> int:  # read from the record: the progress line may pass epoch 2 between two looks
        trials = list(dash.search.record.trials.values()) if dash.search else []
        return max((len(points) for t in trials for points in list(t.curves.values())), default=0)

    while epochs_done() < 2:
        assert time.time() < deadline, dash.progress_view.status.value
        time.sleep(0.02)
    assert "trials done" in dash.progress_view.text.value
    dash.bar.stop_button.click()
    assert dash.bar.stop_button.description == "Stopping..."
    dash.wait(120)
    _wait_done(dash)
    assert "Stopped." in dash.progress_view.status.value
    assert not dash.bar.resume_button.disabled
    first = dash.search.directory
    dash.bar.resume_button.click()
    results = dash.wait(300)
    assert dash.search.directory == first
    assert results.trials["status"].tolist() == ["completed"] * 3
    assert "Search completed." in dash.progress_view.status.value


@pytest.mark.slow
def test_an_error_inside_the_search_is_shown(tmp_path):
    csv = tmp_path / "one.csv"
    csv.write_text("a,y\n" + "".join(f"{i},same\n" for i in range(30)))
    spec = Spec().replace(**{"data.source": "csv", "data.path": str(csv), "data.target": "y"})
    dash = Dashboard(spec, base_dir=tmp_path / "runs")
    dash.bar.run_button.click()
    dash.wait(120)
    _wait_done(dash)
    assert "The search broke." in dash.progress_view.status.value
    assert "column &#x27;y&#x27; has only one value" in dash.progress_view.status.value
    assert not dash.bar.run_button.disabled


@pytest.mark.slow
def test_dataframe_dashboard(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["label"] = (frame.a > frame.b).map({True: "x", False: "o"})
    dash = Dashboard(
        tiny(Spec(), trials=1, epochs=1).replace(**{"data.target": "label"}), data=frame, base_dir=tmp_path
    )
    assert dash.spec.data.source == "dataframe"
    dash.bar.run_button.click()
    results = dash.wait(300)
    assert results.dataset.class_names == ["o", "x"]


def test_showing_the_dashboard_does_not_import_tensorflow():
    code = (
        "import sys, tunewidgets; tunewidgets.Dashboard(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'keras_tuner')))"
    )
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert "tensorflow" not in out.stderr


@pytest.mark.slow
def test_live_views_plug_into_the_dashboard_and_reopen_from_disk(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=3, epochs=3)
    dash = Dashboard(spec, base_dir=tmp_path)
    dash.bar.run_button.click()
    results = dash.wait(300)
    _wait_done(dash)
    (views,) = dash.views
    assert dash.launcher.box.children == (views.widget,)
    curves = views.curves.data
    drawn = [*curves[0].customdata, *curves[3].customdata]
    assert {t for t in drawn if t} == set(results.trials["trial_id"])
    assert len(views.best.data[0].x) == 3
    # the same views from disk, after a restart
    again = Dashboard.open(results.directory, base_dir=tmp_path)
    (reopened,) = again.views
    assert list(reopened.curves.data[0].customdata) == list(views.curves.data[0].customdata)
    assert np.allclose(reopened.curves.data[0].y, views.curves.data[0].y, equal_nan=True)
    assert "Opened" in again.progress_view.status.value and "completed" in again.progress_view.status.value
    assert not again.results_panel.code_button.disabled and again.bar.resume_button.disabled
    assert "keras.Input" in again.results_panel.best_model_code()


def test_two_dashboards_never_share_a_new_folder(tmp_path):
    a, b = Dashboard(base_dir=tmp_path), Dashboard(base_dir=tmp_path)
    folders = {a._new_folder("same"), b._new_folder("same"), a._new_folder("same")}
    assert sorted(f.name for f in folders) == ["same", "same-2", "same-3"]


def test_a_search_that_cannot_start_is_shown_and_raised(tmp_path):
    from tunewidgets.engine.folder.project import ProjectLock

    dash = Dashboard(tiny(Spec.from_file(SPECS / "quickstart.json"), trials=1, epochs=1), base_dir=tmp_path)
    dash._new_folder = lambda name, claim=True: tmp_path / "busy"
    with ProjectLock(tmp_path / "busy"):  # another search holds the folder
        dash.bar.run_button.click()
        with pytest.raises(tw.ProjectError, match="another search is running"):
            dash.wait(60)
    assert (
        "The search broke." in dash.progress_view.status.value
        and "another search is running" in dash.progress_view.status.value
    )
    assert not dash.bar.run_button.disabled


def test_run_from_a_cell_says_a_search_is_running_and_run_again_says_where_it_goes(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=1, epochs=2)
    dash = Dashboard(spec, base_dir=tmp_path)
    assert dash.bar.run_button.description == "Run" and str(tmp_path / "quickstart") in dash.bar.run_button.tooltip
    dash.run()  # as notebook 01's cell does after Run All
    assert (dash.bar.run_button.description, dash.bar.run_button.disabled) == ("Running...", True)
    assert "A search is running" in dash.bar.run_button.tooltip and not dash.bar.stop_button.disabled
    dash.wait(300)
    _wait_done(dash)
    assert (dash.bar.run_button.description, dash.bar.run_button.disabled) == ("Run", False)
    following = str(tmp_path / "quickstart-2")
    assert (
        following in dash.bar.run_button.tooltip
        and f"Run starts a new search in <code>{following}" in dash.progress_view.status.value
    )
    dash.form.name.value = "another"  # the folder said follows the settings
    assert str(tmp_path / "another") in dash.bar.run_button.tooltip


class _CountingComm(BaseComm):
    """A comm that counts what a widget would send to the page (opens and updates), and sends nothing."""

    sent: list[str] = []

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        model = (data or {}).get("state", {}).get("_model_name", "") if msg_type == "comm_open" else ""
        _CountingComm.sent.append(f"{msg_type} {model}")


@pytest.mark.parametrize("path", [None, *sorted(SPECS.glob("*.json"))], ids=lambda p: p.stem if p else "default")
def test_a_dashboard_reaches_the_page_in_fewer_messages_than_the_kernel_queues(path, monkeypatch):
    """Each widget opens its model with a message, and a layout or a style of its own is one more. The kernel's
    IOPub socket queues about 1,000 messages for a Jupyter server that reads them slowly and drops the rest: a
    dashboard sent as 2,000 lost widget models on a busy machine (its settings column not drawn in JupyterLab). Its
    widgets share their layouts and styles, and a knob's range and choices inputs are made when first shown."""
    monkeypatch.setattr(comm, "create_comm", _CountingComm)
    monkeypatch.setattr(_CountingComm, "sent", [])
    dash = Dashboard(Spec.from_file(path) if path else Spec())
    sent = _CountingComm.sent
    assert len(sent) < 900, collections.Counter(sent).most_common(8)
    layouts = sum(m == "comm_open LayoutModel" for m in sent)
    controls = len(dash.controls)
    assert layouts <= controls + 40, f"{layouts} layouts for {controls} controls"  # a control's own, for hiding it
    # and every knob in range, then choices, makes its inputs once: a few messages each
    before = len(sent)
    for control in dash.controls.values():
        if control.info.tunable:
            control.mode.value = "range" if control.info.kind in ("int", "float") else "choices"
            control.mode.value = "choices"
    per_knob = (len(sent) - before) / sum(c.info.tunable for c in dash.controls.values())
    assert per_knob < 15, per_knob


def test_a_shared_layout_or_style_refuses_a_change_that_would_move_every_widget_sharing_it():
    from tunewidgets.dashboard import widgets as w

    a, b = w.HTML("a", layout={"width": "10px"}), w.HTML("b", layout={"width": "10px"})
    assert a.layout is b.layout and a.style is b.style
    with pytest.raises(TypeError, match="shared by many widgets, its display is not changed"):
        a.layout.display = "none"
    with pytest.raises(TypeError, match="style is shared by many widgets, its font_size is not changed"):
        a.style.font_size = "20px"
    own = w.HTML("c", layout=w.Layout(width="10px"))
    own.layout.display = "none"  # a widget shown and hidden has a layout of its own
    assert b.layout.display is None and b.style.font_size is None
