"""The engine with real, tiny Keras training: tuners, events, stop, resume, failures, disk."""

from __future__ import annotations

import json
import math
import time

import pytest

import tunewidgets as tw
from tunewidgets.engine import Search
from tunewidgets.events import EndReason, EpochEnded, SearchEnded, SearchStarted, TrialEnded, TrialStarted, TrialStatus
from tunewidgets.spec import Choice, Fixed, Spec, choice

from .conftest import SPECS, collect, tiny


@pytest.mark.slow
@pytest.mark.parametrize("name", ["random", "bayesian", "hyperband", "grid"])
def test_each_tuner_runs_from_its_example_spec(name, tmp_path):
    spec = tiny(Spec.from_file(SPECS / f"{name}.json"), trials=3)
    if name == "bayesian":  # 2 random starts, then the Gaussian process chooses the third
        spec = spec.replace(**{"tuner.initial_points": 2})
    search = Search(spec, tmp_path / name)
    events = collect(search)
    results = search.run()
    assert search.end_reason is EndReason.COMPLETED
    trials = results.trials
    expected = tw.spec.budget.planned_trials(spec) if name == "hyperband" else 3
    assert len(trials) == expected
    assert (trials["status"] == "completed").all()
    assert trials["score"].between(0, 1).all()
    kinds = [type(e) for e in events]
    assert kinds[0] is SearchStarted and kinds[-1] is SearchEnded
    assert kinds.count(TrialStarted) == kinds.count(TrialEnded) == expected
    assert results.best_score == trials["score"].max()


@pytest.mark.slow
def test_events_carry_hyperparameters_and_every_metric(tmp_path, quickstart):
    search = Search(tiny(quickstart, trials=1, epochs=3), tmp_path)
    events = collect(search)
    search.run()
    started = next(e for e in events if isinstance(e, TrialStarted))
    assert {"layers", "units", "learning_rate", "batch_size", "optimizer"} <= set(started.hyperparameters)
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert set(epochs[0].metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    ended = next(e for e in events if isinstance(e, TrialEnded))
    assert ended.status is TrialStatus.COMPLETED and ended.duration > 0
    assert ended.score == max(e.metrics["val_accuracy"] for e in epochs)
    assert ended.best_epoch in (1, 2, 3)


@pytest.mark.slow
def test_results_on_disk_survive_and_reload(tmp_path, quickstart):
    spec = tiny(quickstart, trials=2, epochs=2)
    live = Search(spec, tmp_path).run()
    assert (tmp_path / "trials.csv").exists() and (tmp_path / "curves.csv").exists()
    results = tw.load(tmp_path)
    assert results.spec == spec
    assert results.status == "completed"
    assert results.trials.drop(columns="duration").equals(live.trials.drop(columns="duration"))
    curves = results.curves
    assert list(curves.columns) == ["trial_id", "execution", "epoch", "metric", "value"]
    assert len(curves) == 2 * 2 * 4  # trials x epochs x metrics
    best = results.best_hyperparameters
    assert best == results.best_trial.tuned_values()
    model = results.best_model()
    scores = results.evaluate()
    assert 0 <= results.test_score <= 1 and set(scores) == {"loss", "accuracy"}
    # the reloaded best model scores its validation split as during the search
    ds = results.dataset
    val = model.evaluate(ds.x_val, ds.y_val, verbose=0, return_dict=True)["accuracy"]
    assert val == pytest.approx(results.best_score, abs=1e-6)
    path = results.save_best_model(tmp_path / "best.keras")
    import keras

    again = keras.models.load_model(path)
    assert again.evaluate(ds.x_test, ds.y_test, verbose=0, return_dict=True)["accuracy"] == pytest.approx(
        scores["accuracy"]
    )


def _wait_for(predicate, timeout=120):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise TimeoutError
        time.sleep(0.01)


@pytest.mark.slow
def test_stop_from_another_thread_ends_within_one_epoch_and_resume_completes(tmp_path, quickstart):
    from .keras_callbacks import SlowEpochs

    spec = tiny(quickstart, trials=3, epochs=30, samples=200)
    search = Search(spec, tmp_path, callbacks=[SlowEpochs(0.3)])
    events = collect(search)
    search.start()
    _wait_for(lambda: sum(isinstance(e, EpochEnded) for e in events) >= 3)
    epochs_at_stop = sum(isinstance(e, EpochEnded) for e in events)
    search.stop()
    results = search.wait(timeout=60)
    assert results is not None, "the search did not end after stop()"
    assert search.end_reason is EndReason.STOPPED
    assert sum(isinstance(e, EpochEnded) for e in events) <= epochs_at_stop + 1
    stopped = [e for e in events if isinstance(e, TrialEnded) and e.status is TrialStatus.STOPPED]
    assert len(stopped) == 1
    assert tw.load(tmp_path).status == "stopped"
    # everything so far is kept on disk, the stopped trial included
    assert tw.load(tmp_path).trials["status"].tolist() == ["stopped"]

    resumed = Search(spec, tmp_path)  # resumes without the slow callback: how it trains is not the spec
    r_events = collect(resumed)
    results = resumed.run()
    assert r_events[0].resumed is True
    assert resumed.end_reason is EndReason.COMPLETED
    assert results.trials["status"].tolist() == ["completed"] * 3
    # the stopped trial ran again from the start with the same hyperparameters
    first = next(e for e in r_events if isinstance(e, TrialStarted))
    assert first.trial_id == stopped[0].trial_id
    assert tw.load(tmp_path).trials["status"].tolist() == ["completed"] * 3


@pytest.mark.slow
def test_stop_between_trials_keeps_finished_ones(tmp_path, quickstart):
    from .keras_callbacks import SlowEpochs

    spec = tiny(quickstart, trials=4, epochs=2)
    search = Search(spec, tmp_path, callbacks=[SlowEpochs(0.3)])
    search.events.subscribe(lambda e: search.stop(), TrialEnded)
    results = search.run()
    assert search.end_reason is EndReason.STOPPED
    # the worker may have begun the next trial before the stop reached it: that one is stopped, not lost
    statuses = results.trials["status"].tolist()
    assert statuses[0] == "completed" and statuses[1:] in ([], ["stopped"])
    results = Search(spec, tmp_path).run()
    assert results.trials["status"].tolist() == ["completed"] * 4


def nan_spec(base):
    """Trial 1 diverges (SGD with a huge learning rate), trial 2 learns."""
    return tiny(base, trials=2, epochs=3).replace(
        **{
            "data.name": "regression",
            "tuner.objective": "val_loss",
            "tuner.algorithm": "grid",
            "model.layers": Fixed(2),
            "model.units": Fixed(64),
            "model.activation": Fixed("relu"),
            "optimizer.name": Fixed("sgd"),
            "optimizer.momentum": Fixed(0.9),
            "optimizer.learning_rate": Choice((10.0, 0.01)),
            "training.batch_size": Fixed(8),
        }
    )


@pytest.mark.slow
def test_nan_loss_fails_the_trial_and_the_search_goes_on(tmp_path, quickstart):
    search = Search(nan_spec(quickstart), tmp_path)
    results = search.run()
    assert search.end_reason is EndReason.COMPLETED
    trials = results.trials.set_index("learning_rate")
    assert trials.loc[10.0, "status"] == "failed"
    assert "loss became" in trials.loc[10.0, "message"] and "at epoch" in trials.loc[10.0, "message"]
    assert math.isnan(trials.loc[10.0, "score"])
    assert trials.loc[0.01, "status"] == "completed"
    assert results.best_trial.hyperparameters["learning_rate"] == 0.01
    assert tw.load(tmp_path).trials.set_index("learning_rate").loc[10.0, "status"] == "failed"


@pytest.mark.slow
def test_too_many_failures_in_a_row_is_a_clear_stop_reason(tmp_path, quickstart):
    spec = nan_spec(quickstart).replace(
        **{
            "optimizer.learning_rate": Fixed(10.0),
            "model.units": choice(32, 64),
            "tuner.max_trials": 5,
            "tuner.max_consecutive_failed_trials": 2,
        }
    )
    search = Search(spec, tmp_path)
    events = collect(search)
    search.run()
    assert search.end_reason is EndReason.FAILED
    end = events[-1]
    assert isinstance(end, SearchEnded) and "2 trials failed in a row" in end.message
    assert "tuner.max_consecutive_failed_trials" in end.message
    assert "loss became" in end.message
    assert tw.load(tmp_path).trials["status"].tolist() == ["failed", "failed"]


@pytest.mark.slow
def test_a_failing_observer_does_not_stop_the_search(tmp_path, quickstart):
    search = Search(tiny(quickstart, trials=1, epochs=1), tmp_path)

    def broken(event):
        raise ValueError("observer bug")

    search.events.subscribe(broken)
    results = search.run()
    assert results.trials["status"].tolist() == ["completed"]
    assert search.events.errors and isinstance(search.events.errors[0], ValueError)


@pytest.mark.slow
def test_another_spec_in_the_same_folder_is_refused(tmp_path, quickstart):
    spec = tiny(quickstart, trials=2, epochs=1)
    Search(spec, tmp_path).run()
    other = spec.replace(**{"training.epochs": 2})
    with pytest.raises(tw.ProjectError, match=r"holds a search of another spec \(differs in training.epochs\)"):
        Search(other, tmp_path, workers=2).run()  # how it runs (workers) is not what makes it another search
    results = Search(other, tmp_path, overwrite=True).run()
    assert results.spec == other and len(results.trials) == 2


@pytest.mark.slow
def test_a_folder_with_other_files_is_refused(tmp_path, quickstart):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(tw.ProjectError, match=r"not empty and holds no tunewidgets search \(notes.txt\)"):
        Search(tiny(quickstart), tmp_path).run()
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_two_searches_in_one_folder_at_once_are_refused(tmp_path, quickstart):
    spec = tiny(quickstart, trials=2, epochs=20, samples=200)
    first = Search(spec, tmp_path)
    events = collect(first)
    first.start()
    _wait_for(lambda: any(isinstance(e, EpochEnded) for e in events))
    with pytest.raises(tw.ProjectError, match="another search is running in"):
        Search(spec, tmp_path).run()
    assert tw.load(tmp_path).status == "running"
    with pytest.raises(RuntimeError, match="already running"):
        first.start()
    first.stop()
    first.wait(60)
    assert tw.load(tmp_path).status == "stopped"


def test_bad_spec_never_starts(tmp_path):
    with pytest.raises(tw.SpecError, match="model.units: min 256 is above max 64"):
        Search(Spec().replace(**{"model.units": tw.Range(256, 64)}), tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_error_in_background_search_is_kept_and_published(tmp_path):
    spec = Spec().replace(**{"data.source": "dataframe", "data.target": "y"})
    search = Search(spec, tmp_path)  # no data passed
    events = collect(search)
    search.start()
    search.wait(60)
    assert isinstance(search.error, tw.DataError)
    assert isinstance(events[-1], SearchEnded) and events[-1].reason is EndReason.ERROR
    assert "needs the data passed in Python" in events[-1].message


@pytest.mark.slow
def test_dataframe_source(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    frame["label"] = np.where(frame.a + frame.b > 0, "up", "down")
    spec = tiny(Spec(), trials=1, epochs=2).replace(**{"data.source": "dataframe", "data.target": "label"})
    results = Search(spec, tmp_path, data=frame).run()
    assert results.dataset.class_names == ["down", "up"]
    assert results.trials["status"].tolist() == ["completed"]


@pytest.mark.slow
def test_tensorboard_logs_scalars_and_hparams(tmp_path, quickstart):
    Search(tiny(quickstart, trials=1, epochs=2), tmp_path, tensorboard=True).run()
    logs = list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
    assert logs, "no TensorBoard event files"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for f in logs:
        acc = EventAccumulator(str(f))
        acc.Reload()
        tags |= set(acc.Tags().get("tensors", [])) | set(acc.Tags().get("scalars", []))
    assert any("epoch_loss" in t for t in tags)
    assert any("_hparams_" in t for t in tags)


@pytest.mark.slow
def test_events_log_is_one_json_object_per_line(tmp_path, quickstart):
    Search(tiny(quickstart, trials=1, epochs=2), tmp_path).run()
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    kinds = [json.loads(line)["event"] for line in lines]
    assert kinds == ["search_started", "trial_started", "epoch_ended", "epoch_ended", "trial_ended", "search_ended"]


@pytest.mark.slow
def test_half_written_last_line_is_ignored_and_repaired(tmp_path, quickstart):
    spec = tiny(quickstart, trials=2, epochs=1)
    search = Search(spec, tmp_path)
    search.events.subscribe(lambda e: search.stop(), TrialEnded)
    search.run()
    before = tw.load(tmp_path).trials
    with open(tmp_path / "events.jsonl", "a") as f:
        f.write('{"event": "epoch_ended", "trial_id": "0')  # a crash mid-write
    assert tw.load(tmp_path).trials.equals(before)
    results = Search(spec, tmp_path).run()
    assert results.trials["status"].tolist() == ["completed", "completed"]
    for line in (tmp_path / "events.jsonl").read_text().splitlines():
        json.loads(line)


@pytest.mark.slow
def test_background_search_keeps_the_caller_responsive(tmp_path, quickstart):
    search = Search(tiny(quickstart, trials=2, epochs=5, samples=200), tmp_path)
    search.start()
    ticks = 0
    t0 = time.time()
    while search.running or ticks == 0:
        ticks += 1
        time.sleep(0.01)
        if time.time() - t0 > 120:
            break
    assert search.wait(1) is not None
    assert ticks > 10
    assert search._thread is not None and not search._thread.is_alive()  # the search ran on its own thread, now done
