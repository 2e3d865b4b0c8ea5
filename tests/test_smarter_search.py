"""A target score that ends the search, and stopping one trial while the search goes on (real searches)."""

from __future__ import annotations

import csv
import time

import pytest

import tunewidgets as tw
from tunewidgets.engine import Search
from tunewidgets.events import EndReason, EpochEnded, TrialStatus
from tunewidgets.spec import Spec

from .conftest import SPECS, collect, tiny
from .keras_callbacks import WaitForWorkers


@pytest.mark.slow
def test_the_target_ends_the_search_with_its_reason(tmp_path, quickstart):
    spec = tiny(quickstart, trials=6, epochs=3).replace(**{"tuner.target": 0.5})
    search = Search(spec, tmp_path)
    search.run()
    assert search.end_reason is EndReason.TARGET_REACHED
    results = tw.load(tmp_path)
    assert results.status == "target_reached"
    scored = [t for t in results.record.ordered() if t.status.has_score()]
    assert scored[-1].score >= 0.5 and all(t.score < 0.5 for t in scored[:-1])
    assert len(results.record.trials) < 6  # it did not train every planned trial
    assert results.record.ended.message.startswith(f"target reached: trial {scored[-1].number} scored ")
    # run again: nothing to train, and it says why
    again = Search(spec, tmp_path)
    events = collect(again)
    again.run()
    assert events[-1].message.startswith("nothing to train: this search already reached its target")


@pytest.mark.slow
def test_stop_trial_stops_one_trial_and_the_search_goes_on(tmp_path, quickstart):
    from .keras_callbacks import SlowEpochs

    spec = tiny(quickstart, trials=3, epochs=8)
    search = Search(spec, tmp_path, callbacks=[SlowEpochs(0.2)])
    events = collect(search)
    search.start()
    deadline = time.time() + 120
    while not any(isinstance(e, EpochEnded) and e.trial_id == "1" for e in events):
        assert time.time() < deadline
        time.sleep(0.02)
    assert search.stop_trial("1") is True
    assert search.stop_trial("7") is False  # no such trial is training
    results = search.wait(timeout=300)
    assert search.end_reason is EndReason.COMPLETED
    trials = {t.trial_id: t for t in results.record.ordered()}
    assert [t.status for t in trials.values()] == [
        TrialStatus.COMPLETED,
        TrialStatus.USER_STOPPED,
        TrialStatus.COMPLETED,
    ]
    stopped = trials["1"]
    assert 1 <= stopped.epochs < 8 and stopped.score is not None
    assert stopped.message == f"stopped by the user after epoch {stopped.epochs}"
    with open(tmp_path / "trials.csv", newline="") as f:
        rows = {r["trial_id"]: r for r in csv.DictReader(f)}
    assert rows["1"]["status"] == "user_stopped"


def test_target_and_stop_trial_in_the_plan_and_the_spec():
    spec = Spec.from_file(SPECS / "quickstart.json").replace(**{"tuner.target": 0.95})
    assert "It ends as soon as a trial reaches 0.95." in spec.describe()
    assert Spec.from_json(spec.to_json()) == spec


@pytest.mark.slow
def test_the_dashboard_stops_the_running_trial_it_offers(tmp_path):
    from tunewidgets.dashboard import Dashboard

    spec = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=2, epochs=400, samples=1000)
    dash = Dashboard(spec, base_dir=tmp_path)
    assert dash.bar.stop_trial_button.disabled  # nothing runs yet
    dash.bar.run_button.click()
    deadline = time.time() + 120
    while not (
        dash.bar.trial_choice.options and dash.search.record.trials.get("0") and dash.search.record.trials["0"].curves
    ):
        assert time.time() < deadline, dash.progress_view.status.value
        time.sleep(0.02)
    assert dash.bar.trial_choice.options == (("trial 1", "0"),) and not dash.bar.stop_trial_button.disabled
    dash.bar.stop_trial_button.click()
    assert dash.progress_view.status.value == "Stopping trial 1 after its current epoch..."
    results = dash.wait(300)
    assert results.trials["status"].tolist() == ["user_stopped", "completed"]
    assert results.trials["epochs"].tolist()[0] < 400
    assert dash.bar.stop_trial_button.disabled


def tpe_spec(quickstart, **changes):
    from tunewidgets.spec import Range, choice

    base = tiny(quickstart, trials=6, epochs=2).replace(
        **{
            "tuner.algorithm": "tpe",
            "optimizer.name": choice("sgd", "adam"),
            "optimizer.momentum": Range(0.0, 0.9),
        }
    )
    return base.replace(**changes)


@pytest.mark.slow
def test_tpe_searches_the_whole_space_conditional_knobs_included_and_resumes(tmp_path, quickstart):

    spec = tpe_spec(quickstart)
    assert tw.spec.budget.random_starts(spec) == 2
    first = Search(spec, tmp_path)
    first.events.subscribe(lambda e: isinstance(e, tw.events.TrialEnded) and e.trial_id == "2" and first.stop())
    first.run()
    assert first.end_reason is EndReason.STOPPED
    results = Search(spec, tmp_path).run()
    trials = results.record.ordered()
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] * 6
    for t in trials:  # momentum is a hyperparameter of SGD trials only
        values = t.tuned_values()
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
    assert len({tuple(sorted(t.tuned_values().items())) for t in trials}) == 6
    # the oracle on disk is TPE's, with its random starts
    import json

    state = json.loads((tmp_path / "keras_tuner" / "oracle.json").read_text())
    assert state["num_initial_points"] == 2


@pytest.mark.slow
def test_tpe_with_two_workers_never_trains_the_same_trial_twice(tmp_path, quickstart):
    spec = tpe_spec(quickstart, **{"tuner.workers": 2, "tuner.max_trials": 8})
    search = Search(spec, tmp_path, callbacks=[WaitForWorkers(str(tmp_path))])  # both workers train
    events = collect(search)
    results = search.run()
    started = [e for e in events if isinstance(e, tw.events.TrialStarted)]
    assert {e.worker for e in started} == {"tuner0", "tuner1"}
    assert len({e.trial_id for e in started}) == len(started) == 8
    assert len({tuple(sorted(e.hyperparameters.items())) for e in started}) == 8
    assert results.trials["status"].tolist() == ["completed"] * 8


@pytest.mark.slow
def test_tpe_with_asha_prunes_and_completes(tmp_path, quickstart):
    spec = tpe_spec(quickstart, **{"tuner.max_trials": 8, "training.epochs": 4, "tuner.pruning": "asha"})
    results = Search(spec, tmp_path).run()
    statuses = results.trials["status"].tolist()
    assert len(statuses) == 8 and set(statuses) <= {"completed", "pruned"}
    assert "pruned" in statuses  # ASHA ended at least one trial early


def test_the_tuner_tab_offers_pruning_tpe_and_the_target():
    from tunewidgets.dashboard import Dashboard

    dash = Dashboard(Spec.from_file(SPECS / "quickstart.json"))
    controls = dash.controls
    assert "tpe" in controls["tuner.algorithm"].input.options
    assert controls["tuner.pruning"].visible and not controls["tuner.pruning_factor"].visible
    controls["tuner.pruning"].set("asha")
    assert controls["tuner.pruning_factor"].visible and controls["tuner.pruning_min_epochs"].visible
    assert "pruning may end trials sooner" in dash.form.summary.value
    controls["tuner.algorithm"].set("tpe")
    assert controls["tuner.initial_points"].visible and "TPE" in dash.form.summary.value
    controls["tuner.target"].set(95.0)
    assert "is not an accuracy" in controls["tuner.target"].message and dash.bar.run_button.disabled
    controls["tuner.target"].set(0.9)
    assert not dash.bar.run_button.disabled and "reaches 0.9" in dash.form.summary.value
    assert dash.spec.tuner.pruning == "asha" and dash.spec.tuner.target == 0.9
    label = controls["tuner.pruning"].widget.children[0].children[0]  # the label carries the help on hover
    assert "saves the epochs of hopeless trials" in label.tooltip and "slow starter" in label.tooltip


@pytest.mark.slow
def test_k_folds_give_k_fitted_models_a_mean_and_its_spread(tmp_path):
    import numpy as np

    spec = Spec.from_file(SPECS / "quickstart.json").replace(
        **{"data.name": "iris", "tuner.max_trials": 2, "training.epochs": 3, "tuner.folds": 3}
    )
    assert "each on 3 cross-validation folds, 18 epochs in all" in spec.describe()
    search = Search(spec, tmp_path)
    events = collect(search)
    results = search.run()
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert len(epochs) == 18 and {e.execution for e in epochs} == {0, 1, 2}  # 3 models per trial
    for t in results.record.ordered():
        scores = t.fold_scores("val_accuracy")
        assert len(scores) == 3
        assert t.score == pytest.approx(np.mean(scores), abs=1e-6)  # the mean of the folds' best epochs
        assert t.spread("val_accuracy") == pytest.approx(np.std(scores), abs=1e-9)
    assert "spread" in results.trials.columns
    # every fold validates on other rows: all training and validation rows are validated on once
    from tunewidgets.data.prepare import fold_rows

    ds = results.dataset
    y = np.concatenate([ds.y_train, ds.y_val])
    validated = np.concatenate([val for _, val in fold_rows(y, 3, spec.data.seed, True)])
    assert sorted(validated) == list(range(len(y)))


def test_folds_that_cannot_work_are_refused():
    base = Spec.from_file(SPECS / "quickstart.json")
    assert [i.path for i in base.replace(**{"tuner.folds": 3, "tuner.executions_per_trial": 2}).validate()] == [
        "tuner.folds"
    ]
    assert [i.path for i in base.replace(**{"tuner.folds": 3, "tuner.algorithm": "hyperband"}).validate()] == [
        "tuner.folds"
    ]
    from tunewidgets.data import prepare
    from tunewidgets.data.prepare import fold_issues

    iris = base.replace(**{"data.name": "iris", "data.test_split": 0.9, "tuner.folds": 10})
    assert [str(i) for i in fold_issues(iris, prepare(iris.data))] == [
        "tuner.folds: 10 folds, but the rarest class has only 5 training rows; use at most 5 folds"
    ]
    assert fold_issues(iris.replace(**{"tuner.folds": 5}), prepare(iris.data)) == []
