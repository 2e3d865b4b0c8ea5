"""The classroom: lessons, shared setups, Playground's data sets, the decision boundary, searches side by side."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tunewidgets as tw
from tunewidgets.data import prepare
from tunewidgets.engine.folder.record import SearchRecord
from tunewidgets.errors import SpecError
from tunewidgets.events import BoundaryUpdated, EpochEnded, SearchStarted, TrialEnded, TrialStarted, TrialStatus
from tunewidgets.spec import Spec
from tunewidgets.spec.lesson import Lesson

from .conftest import SPECS, collect, tiny

LESSON = {
    "locked": ["optimizer.name", "tuner.algorithm"],
    "hidden": ["regularization.strength", "data.seed"],
    "notes": "## Overfitting\nWatch the **gap** between `loss` and `val_loss`.",
}


def lesson_spec() -> Spec:
    raw = json.loads((SPECS / "quickstart.json").read_text())
    raw["lesson"] = LESSON
    return Spec.from_dict(raw)


# ---------------------------------------------------------------------- lessons


def test_a_lesson_round_trips_through_json_files_and_text(tmp_path):
    spec = lesson_spec()
    assert spec.lesson == Lesson(tuple(LESSON["locked"]), tuple(LESSON["hidden"]), LESSON["notes"])
    assert Spec.from_json(spec.to_json()) == spec
    spec.save(tmp_path / "lesson.json")
    assert Spec.from_file(tmp_path / "lesson.json") == spec
    assert json.loads((tmp_path / "lesson.json").read_text())["lesson"] == LESSON
    # a spec without a lesson writes none: spec files stay as they were
    assert "lesson" not in Spec.from_file(SPECS / "quickstart.json").to_dict()


def test_a_lesson_naming_unknown_fields_is_refused_with_the_field_named():
    raw = json.loads((SPECS / "quickstart.json").read_text())
    raw["lesson"] = {"locked": ["optimizer.nmae"], "hidden": ["tuner.workers", "nothing"], "note": "x"}
    with pytest.raises(SpecError) as e:
        Spec.from_dict(raw)
    assert [str(i) for i in e.value.issues] == [
        "lesson.note: unknown field (did you mean 'notes'?)",
        "lesson.locked[0]: 'optimizer.nmae' is not a field of a spec (did you mean 'optimizer.name'?)",
        "lesson.hidden[1]: 'nothing' is not a field of a spec",
    ]
    raw["lesson"] = {"locked": "tuner.algorithm", "notes": 3}
    with pytest.raises(SpecError, match="lesson.notes: expected text"):
        Spec.from_dict(raw)


def test_the_dashboard_locks_hides_and_notes_as_the_lesson_says(tmp_path):
    from tunewidgets.dashboard import Dashboard

    dash = Dashboard(lesson_spec(), base_dir=tmp_path)
    locked = dash.control("optimizer.name")
    assert locked.locked and all(widget.disabled for widget in locked.inputs())
    assert "fixed by your teacher" in locked.lock_note.value and locked.visible
    assert not dash.control("optimizer.learning_rate").locked
    assert not any(widget.disabled for widget in dash.control("optimizer.learning_rate").inputs())
    hidden = dash.control("regularization.strength")
    assert not hidden.visible
    dash.control("regularization.penalty").set("l2")  # would show the strength, but the lesson hides it
    assert not hidden.visible and dash.control("regularization.penalty").visible
    assert "<h2>Overfitting</h2>" in dash.form.notes.value and "<strong>gap</strong>" in dash.form.notes.value
    # Save spec keeps the lesson; a spec without one clears it
    path = dash.spec_files.save(tmp_path / "saved.json")
    assert Spec.from_file(path).lesson == lesson_spec().lesson
    dash.spec = Spec.from_file(SPECS / "quickstart.json")
    assert not dash.control("optimizer.name").locked and dash.form.notes.layout.display == "none"
    assert dash.spec.lesson == Lesson()
    with pytest.raises(KeyError, match="no field 'optimizer.nme'"):
        dash.control("optimizer.nme")


def test_notes_are_markdown_with_raw_html_escaped():
    from tunewidgets.dashboard import html as h

    out = h.markdown("*a* <script>alert(1)</script>")
    assert "<em>a</em>" in out and "<script>" not in out and "&lt;script&gt;" in out


# ---------------------------------------------------------------------- shared setups


def test_a_setup_travels_as_a_short_text_and_comes_back_the_same():
    spec = lesson_spec().replace(**{"tuner.algorithm": "tpe", "tuner.pruning": "asha", "name": "lesson 3"})
    text = spec.to_text()
    assert text.startswith("tw1.") and len(text) < 600
    assert Spec.from_text(text) == spec
    assert Spec.from_text(f"Open this in the dashboard: https://example.org/?setup={text} thanks") == spec
    assert Spec.from_text(spec.to_json()) == spec  # a spec file pasted as it is
    with pytest.raises(SpecError, match="damaged or cut short"):
        Spec.from_text(text[:-12] + "$")
    with pytest.raises(SpecError, match="starts with 'tw1.'"):
        Spec.from_text("hello")


def test_the_dashboard_shares_and_opens_setups(tmp_path):
    from tunewidgets.dashboard import Dashboard

    dash = Dashboard(lesson_spec(), base_dir=tmp_path)
    dash.spec_files.share_button.click()
    text = dash.spec_files.share_text.value
    assert Spec.from_text(text) == dash.spec
    other = Dashboard(base_dir=tmp_path)
    other.spec_files.paste.value = text
    other.spec_files.open_text_button.click()
    assert other.spec == dash.spec and other.control("optimizer.name").locked
    other.spec_files.paste.value = "tw1.broken"
    other.spec_files.open_text_button.click()
    assert "Not opened" in other.spec_files.message.value and other.spec == dash.spec
    assert Dashboard.from_text(text, base_dir=tmp_path).spec == dash.spec


# ---------------------------------------------------------------------- Playground's data sets


@pytest.mark.parametrize("name", ["xor", "gaussian", "spiral"])
def test_playground_sets_have_two_inputs_two_balanced_classes_and_a_noise_knob(name):
    spec = Spec().replace(**{"data.name": name, "data.samples": 400})
    ds = prepare(spec.data)
    assert ds.task == "binary" and ds.input_shape == (2,) and ds.class_names == ["0", "1"]
    y = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    assert len(y) == 400 and abs(int(y.sum()) - 200) <= 30
    again = prepare(spec.data)
    assert np.array_equal(again.x_train, ds.x_train)  # the seed decides
    noisy = prepare(spec.replace(**{"data.noise": 0.3}).data)
    assert not np.allclose(noisy.x_train, ds.x_train)
    assert spec.validate() == []


def test_xor_labels_follow_the_quadrants():
    from tunewidgets.data.builtin import playground

    x, y = playground("xor", 200, 0.0, 1)
    assert np.array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(int))


# ---------------------------------------------------------------------- the decision boundary


def boundary_event(trial_id, epoch, value):
    return BoundaryUpdated(trial_id, epoch, [[value] * 4 for _ in range(4)], (-1.0, 1.0), (-2.0, 2.0))


def test_the_record_keeps_each_trials_boundary_at_its_best_epoch():
    record = SearchRecord()
    record.apply(SearchStarted("s", "val_accuracy", "max", "random", 1, 3, False))
    record.apply(TrialStarted("0", {}))
    for epoch, accuracy in enumerate([0.6, 0.8, 0.7], 1):
        record.apply(EpochEnded("0", epoch, {"val_accuracy": accuracy}))
        record.apply(boundary_event("0", epoch, epoch / 10))
    assert record.latest["0"].epoch == 3 and record.boundaries["0"].epoch == 2
    record.apply(TrialEnded("0", TrialStatus.COMPLETED, 0.8, 2, 1.0))
    ds = prepare(Spec().replace(**{"data.name": "moons", "data.samples": 60}).data)
    from tunewidgets.plots._boundary import boundary_data, boundary_figure

    data = boundary_data(record, ds)
    assert data.title == "decision boundary: trial 1, epoch 2" and data.z[0][0] == 0.2
    assert np.allclose(data.x, (-1.0, -1 / 3, 1 / 3, 1.0)) and np.allclose(data.y, (-2.0, -2 / 3, 2 / 3, 2.0))
    fig = boundary_figure(data)
    assert (
        fig.data[0].type == "contour" and len(fig.data[1].x) == len(ds.x_train) and len(fig.data[2].x) == len(ds.x_val)
    )
    # a trial tried again draws afresh
    record.apply(TrialStarted("0", {}))
    assert "0" not in record.latest and "0" not in record.boundaries


@pytest.mark.slow
def test_a_moons_search_draws_its_decision_boundary_from_the_workers(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=2, epochs=3, samples=200).replace(
        **{"data.name": "moons", "data.noise": 0.2}
    )
    search = tw.Search(spec, tmp_path)
    events = collect(search)
    results = search.run()
    boundaries = [e for e in events if isinstance(e, BoundaryUpdated)]
    assert [(e.trial_id, e.epoch) for e in boundaries] == [(t, e) for t in ("0", "1") for e in (1, 2, 3)]
    # what the worker sent is the saved model's prediction at its best epoch
    best = results.record.best()
    shown = results.record.boundaries[best.trial_id]
    assert shown.epoch == best.best_epoch
    from tunewidgets.model.boundary import BoundaryGrid

    grid = BoundaryGrid(results.dataset)
    assert (grid.x_range, grid.y_range) == (shown.x_range, shown.y_range)
    predicted = np.asarray(grid.values(results.model(best.trial_id)))
    np.testing.assert_allclose(predicted, np.asarray(shown.values), atol=2e-3)
    fig = tw.plots.decision_boundary(results)
    assert np.allclose(np.asarray(fig.data[0].z), np.asarray(shown.values))
    assert f"trial {best.number}, epoch {best.best_epoch}" in fig.layout.title.text
    other = tw.plots.decision_boundary(results, trial_id="0" if best.trial_id == "1" else "1")
    assert other.layout.title.text != fig.layout.title.text
    # reloaded from disk, the same picture
    again = tw.plots.decision_boundary(tmp_path)
    assert np.allclose(np.asarray(again.data[0].z), np.asarray(shown.values))
    # the live views offer it as a tab
    views = tw.plots.show(results)
    assert "Decision boundary" in views.widget.titles


@pytest.mark.slow
def test_no_decision_boundary_for_data_with_more_inputs(tmp_path, quickstart):
    results = tw.Search(tiny(quickstart, trials=1, epochs=1), tmp_path).run()
    assert results.record.boundaries == {} and results.record.latest == {}
    with pytest.raises(ValueError, match="two inputs"):
        tw.plots.decision_boundary(results)
    assert "Decision boundary" not in tw.plots.show(results).widget.titles


# ---------------------------------------------------------------------- searches side by side


def fake_search(scores, start=100.0, step=2.0, objective="val_accuracy"):
    record = SearchRecord()
    record.apply(SearchStarted("s", objective, "max", "random", len(scores), 3, False))
    for i, score in enumerate(scores):
        record.apply(TrialStarted(str(i), {}, time=start + i * step))
        record.apply(TrialEnded(str(i), TrialStatus.COMPLETED, score, 1, step, time=start + (i + 1) * step))
    record.trials["0"].started = start  # the record keeps the events' times
    return record


def test_compare_two_searches_by_trials_and_by_training_time():
    from tunewidgets.plots._compare import compare_data, compare_figure, training_seconds

    data = compare_data([("random", fake_search([0.5, 0.7, 0.6])), ("tpe", fake_search([0.6, 0.9], step=5.0))])
    random, tpe = data.searches
    assert random.best == (0.5, 0.7, 0.7) and random.seconds == (2.0, 4.0, 6.0)
    assert tpe.best == (0.6, 0.9) and tpe.seconds == (5.0, 10.0)
    fig = compare_figure(data)
    assert [t.name for t in fig.data] == ["random", "random", "random", "tpe", "tpe", "tpe"]
    assert tuple(fig.data[1].x) == (2.0, 4.0, 6.0) and tuple(fig.data[2].y) == (0.5, 0.7, 0.6)
    # a pause between a stop and a resume is not training time; overlapping trials count once
    assert training_seconds([(0, 2), (1, 3), (10, 11)], 100) == 4.0
    assert training_seconds([(0, 2), (1, 3), (10, 11)], 10.5) == 3.5
    with pytest.raises(ValueError, match="different objectives"):
        compare_data([("a", fake_search([0.5])), ("b", fake_search([0.5], objective="val_loss"))])


@pytest.mark.slow
def test_the_history_tab_lists_searches_and_compares_the_picked_ones(tmp_path, quickstart):
    from tunewidgets.dashboard import Dashboard

    spec = tiny(quickstart, trials=2, epochs=2)
    dash = Dashboard(spec, base_dir=tmp_path)
    dash.bar.run_button.click()
    dash.wait(300)
    dash.spec = spec.replace(**{"tuner.algorithm": "tpe"})
    dash.bar.run_button.click()
    dash.wait(300)
    names = dash.history.refresh()
    assert len(names) == 2
    labels = [label for label, _ in dash.history.searches.options]
    assert any(", tpe, 2 trials, best " in label for label in labels)
    dash.history.searches.value = tuple(names)
    dash.history.compare_button.click()
    fig = dash.history.figure_box.children[0]
    assert len(fig.data) == 6 and "Comparing 2 searches" in dash.history.message.value
    dash.history.searches.value = (names[0],)
    dash.history.compare_button.click()
    assert "Pick two or more" in dash.history.message.value
