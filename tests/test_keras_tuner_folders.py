"""Plain keras-tuner project folders, made by keras-tuner itself, read by ``tw.load``: read-only, equal to what
keras-tuner's own oracle reports, with the same views and report as a tunewidgets search."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest

import tunewidgets as tw
from tunewidgets.engine.opened import KerasTunerResults
from tunewidgets.events import TrialStatus

pytestmark = pytest.mark.slow  # each folder is a real keras-tuner search (a few seconds)


def build_model(hp):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    rate = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    return x[:48], y[:48], x[48:], y[48:]


TUNERS = {
    "random": lambda d: kt.RandomSearch(
        build_model, objective="val_accuracy", max_trials=3, directory=d, project_name="p", seed=1
    ),
    "bayesian": lambda d: kt.BayesianOptimization(
        build_model, objective="val_loss", max_trials=3, num_initial_points=2, directory=d, project_name="p", seed=1
    ),
    "hyperband": lambda d: kt.Hyperband(
        build_model, objective="val_accuracy", max_epochs=3, factor=3, directory=d, project_name="p", seed=1
    ),
}


@pytest.fixture(scope="module", params=sorted(TUNERS))
def searched(request, tmp_path_factory):
    """A finished keras-tuner search, its tuner, and its project folder."""
    keras.utils.set_random_seed(1)
    d = tmp_path_factory.mktemp(request.param)
    tuner = TUNERS[request.param](str(d))
    x, y, xv, yv = data()
    tuner.search(x, y, epochs=2, validation_data=(xv, yv), verbose=0)
    return request.param, tuner, d / "p"


def snapshot(folder: Path) -> dict[str, tuple[str, float]]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_keras_tuner_folder_reads_as_its_oracle_reports_it(searched):
    kind, tuner, folder = searched
    results = tw.load(folder)
    assert isinstance(results, KerasTunerResults) and results.strategy == kind
    oracle = tuner.oracle
    assert set(results.record.trials) == set(oracle.trials)
    for trial_id, trial in oracle.trials.items():
        mine = results.record.trials[trial_id]
        assert mine.status is (TrialStatus.COMPLETED if trial.status == "COMPLETED" else TrialStatus.FAILED)
        assert mine.score == pytest.approx(trial.score)
        assert mine.best_epoch == trial.best_step + 1
        assert mine.hyperparameters == trial.hyperparameters.values
    best = oracle.get_best_trials(1)[0]
    assert results.best_trial.trial_id == best.trial_id
    assert results.best_hyperparameters == {k: v for k, v in best.hyperparameters.values.items() if "/" not in k}
    assert (results.objective, results.direction) == (oracle.objective.name, oracle.objective.direction)
    assert results.status == "completed"
    assert "learning_rate" in results.log_scaled
    table = results.trials
    assert len(table) == len(oracle.trials) and "val_loss" in table.columns  # the best epoch's other metrics


def test_reading_a_keras_tuner_folder_changes_nothing_in_it(searched, tmp_path):
    _, _, folder = searched
    before = snapshot(folder)
    results = tw.load(folder)
    for view in (tw.plots.best_so_far, tw.plots.parallel_coordinates, tw.plots.importance, tw.plots.training_curves):
        view(results)
    tw.plots.hyperparameter_scatter(results, "units")
    tw.plots.write_report(results, tmp_path / "report.html")
    tw.plots.compare([results, folder])
    assert snapshot(folder) == before
    text = (tmp_path / "report.html").read_text()
    assert "keras-tuner keeps no per-epoch history" in text and "Best hyperparameters" in text


def test_the_training_curves_say_why_they_are_empty(searched):
    _, _, folder = searched
    fig = tw.plots.training_curves(tw.load(folder))
    assert "tunewidgets.live()" in fig.layout.title.text


def test_the_best_model_is_rebuilt_with_the_users_function_and_scores_what_was_recorded(searched):
    kind, tuner, folder = searched
    results = tw.load(folder)
    with pytest.raises(LookupError, match="build function"):
        results.best_model()
    model = results.best_model(build_model)
    _, _, xv, yv = data()
    scores = model.evaluate(xv, yv, verbose=0, return_dict=True)
    assert scores[results.objective.removeprefix("val_")] == pytest.approx(results.best_score, abs=1e-5)


def test_a_folder_that_is_neither_is_refused_with_what_it_looked_for(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(tw.ProjectError, match=r"neither a tunewidgets search .* nor a keras-tuner project"):
        tw.load(tmp_path)
    with pytest.raises(tw.ProjectError, match="is not a folder"):
        tw.load(tmp_path / "notes.txt")


def test_the_tuners_directory_finds_its_one_project(searched):
    _, _, folder = searched
    assert tw.load(folder.parent).directory == folder  # directory given, not directory/project_name


def test_a_trial_caught_mid_write_or_still_running_is_shown_as_running(searched, tmp_path):
    _, tuner, folder = searched
    import shutil

    copy = tmp_path / "p"
    shutil.copytree(folder, copy)
    first = sorted(copy.glob("trial_*/trial.json"))[0]
    first.write_text(first.read_text()[:40])  # caught mid-write
    second = sorted(copy.glob("trial_*/trial.json"))[1]
    raw = json.loads(second.read_text())
    raw.update(status="RUNNING", score=None, best_step=0)
    second.write_text(json.dumps(raw))
    before = snapshot(copy)
    with pytest.warns(UserWarning, match="cannot be read"):
        results = tw.load(copy)
    statuses = [t.status for t in results.record.ordered()]
    assert statuses[:2] == [TrialStatus.RUNNING, TrialStatus.RUNNING]
    assert results.status == "running"
    assert snapshot(copy) == before


def test_a_missing_oracle_file_is_said_in_load_and_watch(searched, tmp_path):
    _, _, folder = searched
    import shutil

    copy = tmp_path / "p"
    shutil.copytree(folder, copy)
    (copy / "oracle.json").unlink()
    with pytest.warns(UserWarning, match="oracle.json is missing: whether the search finished cannot be read"):
        results = tw.load(copy)
    assert results.status != "completed"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        watcher = tw.watch(copy)
    try:
        assert "oracle.json is missing" in watcher.status.value, watcher.status.value
    finally:
        watcher.stop()


def test_trial_files_gone_leave_the_objective_unknown_and_said(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "oracle.json").write_text(json.dumps({"ongoing_trials": {}, "start_order": ["0", "1"]}))
    with pytest.warns(UserWarning, match=r"no trial_\*/trial.json can be read: the objective is not known"):
        tw.load(tmp_path / "p")


def test_an_empty_project_is_read_as_no_trials(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "oracle.json").write_text(json.dumps({"ongoing_trials": {}}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = tw.load(tmp_path / "p")
    assert len(results.trials) == 0 and results.best_trial is None
    assert results.status == "running"  # nothing ended yet: a search that has just begun looks like this
    assert "score" in results.trials.columns


def test_the_live_callback_records_every_epoch_of_every_trial_and_load_shows_them(tmp_path):
    import copy

    keras.utils.set_random_seed(2)
    callback = tw.live(show=False)
    assert copy.deepcopy(callback) is callback  # keras-tuner's per-trial copies share one record
    tuner = kt.RandomSearch(
        build_model, objective="val_accuracy", max_trials=3, executions_per_trial=2, directory=str(tmp_path),
        project_name="p", seed=3,
    )  # fmt: skip
    x, y, xv, yv = data()
    tuner.search(x, y, epochs=3, validation_data=(xv, yv), callbacks=[callback], verbose=0)
    live = callback.record
    assert set(live.trials) == set(tuner.oracle.trials)
    for trial_id, trial in live.trials.items():
        assert [e for e, _ in trial.curves[(0, "val_accuracy")]] == [1, 2, 3]
        assert [e for e, _ in trial.curves[(1, "val_accuracy")]] == [1, 2, 3]  # the second execution too
        assert trial.status is TrialStatus.COMPLETED
        assert trial.hyperparameters == tuner.oracle.trials[trial_id].hyperparameters.values
    results = tw.load(tmp_path / "p")
    assert results.curves_note == ""
    for trial_id, trial in results.record.trials.items():
        assert trial.curves == live.trials[trial_id].curves  # recorded beside keras-tuner's files
        assert trial.score == pytest.approx(tuner.oracle.trials[trial_id].score)  # keras-tuner's own score
    assert "tunewidgets.live()" not in (tw.plots.training_curves(results).layout.title.text or "")


SEARCH_ELSEWHERE = """
import sys, time
sys.path.insert(0, {root!r})
import keras, keras_tuner as kt
from tests.test_keras_tuner_folders import build_model, data

class Slow(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.3)

tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=4, directory={d!r}, project_name="p", seed=4)
x, y, xv, yv = data()
tuner.search(x, y, epochs=3, validation_data=(xv, yv), callbacks=[Slow()], verbose=0)
"""


def test_a_watcher_sees_trials_appear_while_another_process_searches(tmp_path):
    import os
    import subprocess
    import sys
    import time

    from tunewidgets.follow import watch

    root = str(Path(__file__).resolve().parent.parent)
    script = SEARCH_ELSEWHERE.format(root=root, d=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        deadline = time.monotonic() + 240
        while not list((tmp_path / "p").glob("trial_*/trial.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        watcher = watch(tmp_path / "p", interval=3600)  # polled by hand below
        seen: list[tuple[int, int]] = []
        while proc.poll() is None and time.monotonic() < deadline:
            watcher.poll()
            counts = watcher.results.record.counts()
            seen.append((len(watcher.results.record.trials), counts["running"]))
            time.sleep(0.2)
        assert proc.wait(60) == 0
        watcher.poll()
    finally:
        proc.kill()
    assert any(running for _, running in seen)  # trials shown as running while they trained
    assert len({n for n, _ in seen}) > 1  # and appearing one after another
    assert len(watcher.results.record.trials) == 4 and watcher.results.status == "completed"
    assert "Watching" in watcher.status.value and "4 trials" in watcher.status.value
    watcher.stop()


def test_the_dashboard_refuses_a_keras_tuner_folder_naming_what_shows_it(searched):
    _, _, folder = searched
    with pytest.raises(tw.ProjectError, match=r"keras-tuner project folder, not a tunewidgets search") as e:
        tw.Dashboard.open(folder)
    assert f"tw.watch({str(folder)!r})" in str(e.value) and "tw.Dashboard.from_tuner" in str(e.value)


LIVE_THEN_WATCH = """
import sys, warnings
sys.path.insert(0, {root!r})
warnings.simplefilter("always", ResourceWarning)
import keras_tuner as kt
import tunewidgets as tw
from tests.test_keras_tuner_folders import build_model, data

callback = tw.live(show=False)
tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=2, directory={d!r}, project_name="p", seed=1)
x, y, xv, yv = data()
tuner.search(x, y, epochs=2, validation_data=(xv, yv), callbacks=[callback], verbose=0)
watcher = tw.watch({d!r} + "/p")   # the README's sequence: live, then watch
print("watch is", type(tw.watch).__name__, type(watcher).__name__)
watcher.stop()
del callback, tuner
import gc; gc.collect()
"""


def test_watch_after_live_is_the_function_and_live_leaves_no_file_open(tmp_path):
    """``tw.live()`` imported the module holding both; the module once took the function's place on the
    package, and the callback left its event log open when the search ended."""
    script = LIVE_THEN_WATCH.format(root=str(Path(__file__).resolve().parent.parent), d=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "watch is function Watcher" in done.stdout
    assert "ResourceWarning" not in done.stderr and "unclosed file" not in done.stderr, done.stderr[-2000:]
