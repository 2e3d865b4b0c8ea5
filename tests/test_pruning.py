"""Pruning hopeless trials with Optuna's pruners inside keras-tuner's oracle."""

from __future__ import annotations

import keras_tuner as kt
import pytest

import tunewidgets as tw
from tunewidgets.engine import Search
from tunewidgets.engine.worker.oracles import REPORT, oracle_class, read_rule
from tunewidgets.events import TrialStatus
from tunewidgets.spec import Spec

from .conftest import SPECS
from .keras_callbacks import WaitForWorkers

#: Five trials' val_accuracy at epochs 1, 2, 3, in the order they run.
CURVES = [
    [0.50, 0.60, 0.70],
    [0.60, 0.70, 0.80],
    [0.40, 0.45, 0.50],
    [0.55, 0.90, 0.95],
    [0.56, 0.60, 0.61],
]


def make_oracle(tmp_path, kind, factor=2):
    oracle = oracle_class("random")(objective=kt.Objective("val_accuracy", "max"), max_trials=20, seed=1)
    oracle.tw_configure(kind, 1, factor, last_step=99)
    oracle._set_project_dir(str(tmp_path), "kt")
    hp = kt.HyperParameters()
    hp.Float("learning_rate", 1e-3, 1e-1)
    oracle.update_space(hp)
    return oracle


def replay(oracle, curve):
    """One trial through the oracle, as a worker reports it: each epoch, then keras-tuner's end."""
    trial = oracle.create_trial("tuner0")
    stopped = None
    for epoch, value in enumerate(curve, 1):
        if oracle.update_trial(trial.trial_id, {REPORT: value}, step=epoch).status == "STOPPED":
            stopped = epoch
            break
    trained = curve[: stopped or len(curve)]
    best = max(trained)
    oracle.update_trial(trial.trial_id, {"val_accuracy": best}, step=trained.index(best))  # keras-tuner's own
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    return trial.trial_id, stopped


@pytest.mark.parametrize(
    "kind,expected",
    [
        ("median", [None, None, 1, None, 2]),
        ("asha", [None, None, 1, None, 2]),
        ("none", [None] * 5),
    ],
)
def test_a_fixed_history_shows_which_trials_are_pruned_and_when(tmp_path, kind, expected):
    oracle = make_oracle(tmp_path, kind)
    assert [replay(oracle, curve)[1] for curve in CURVES] == expected


def test_the_rule_says_what_stopped_the_trial(tmp_path):
    oracle = make_oracle(tmp_path / "m", "median")
    ids = [replay(oracle, curve)[0] for curve in CURVES]
    rule = read_rule(oracle._get_trial_dir(ids[2]))
    assert rule == "its best val_accuracy so far (0.4) is below the median (0.55) of 2 finished trials at epoch 1"
    assert read_rule(oracle._get_trial_dir(ids[4])) == (
        "its best val_accuracy so far (0.6) is below the median (0.7) of 3 finished trials at epoch 2"
    )
    assert read_rule(oracle._get_trial_dir(ids[0])) == ""
    asha = make_oracle(tmp_path / "a", "asha", factor=2)
    ids = [replay(asha, curve)[0] for curve in CURVES]
    assert read_rule(asha._get_trial_dir(ids[2])) == (
        "its val_accuracy at epoch 1 (0.4) was not among the best 1/2 of the trials that reached epoch 1 "
        "(asynchronous successive halving)"
    )


def test_a_reloaded_oracle_rebuilds_its_study_and_keeps_the_pruned_trials(tmp_path):
    first = make_oracle(tmp_path, "median")
    for curve in CURVES[:4]:
        replay(first, curve)
    first.save()
    again = make_oracle(tmp_path, "median")
    again.reload()
    assert again._tw_pruned == first._tw_pruned == {"02"}
    # the fifth trial is judged against the same finished trials as without the restart
    assert replay(again, CURVES[4])[1] == 2


def test_bad_pruning_settings_get_their_own_messages():
    base = Spec.from_file(SPECS / "quickstart.json")
    hyperband = base.replace(**{"tuner.algorithm": "hyperband", "tuner.pruning": "asha"})
    assert [i.path for i in hyperband.validate()] == ["tuner.pruning"]
    late = base.replace(**{"tuner.pruning": "median", "tuner.pruning_min_epochs": 10})
    assert [str(i) for i in late.validate()] == [
        "tuner.pruning_min_epochs: 10 epochs before pruning, but trials train 10: no trial could be stopped early; "
        "use fewer than 10"
    ]
    assert [str(i) for i in base.replace(**{"tuner.target": 95.0}).validate()] == [
        "tuner.target: 95 is not an accuracy: val_accuracy is between 0 and 1 (0.95 for 95%)"
    ]
    assert (
        "at most 100 epochs in all (pruning may end trials sooner)"
        in base.replace(**{"tuner.pruning": "asha"}).describe()
    )


@pytest.mark.slow
def test_a_search_with_pruning_records_pruned_trials_and_resume_keeps_them(tmp_path):
    spec = Spec.from_file(SPECS / "quickstart.json").replace(
        **{
            "tuner.max_trials": 8,
            "training.epochs": 6,
            "data.samples": 300,
            "tuner.pruning": "median",
            "tuner.pruning_min_epochs": 2,
        }
    )
    first = Search(spec, tmp_path)
    first.events.subscribe(lambda e: isinstance(e, tw.events.TrialEnded) and e.trial_id == "5" and first.stop())
    first.run()
    before = {t.trial_id: t for t in tw.load(tmp_path).record.ordered()}
    Search(spec, tmp_path).run()
    results = tw.load(tmp_path)
    trials = results.record.ordered()
    assert len(trials) == 8 and all(t.status.has_score() for t in trials)
    pruned = [t for t in trials if t.status is TrialStatus.PRUNED]
    assert pruned, "no trial was pruned"
    for t in pruned:
        assert t.epochs < 6 and "below the median" in t.message and t.score is not None
    # trials pruned before the stop are kept as they were, not trained again
    for trial_id, t in before.items():
        if t.status is TrialStatus.PRUNED:
            assert results.record.trials[trial_id].status is TrialStatus.PRUNED
            assert results.record.trials[trial_id].attempts == []
    # the best comes from completed or pruned trials
    assert results.best_score == max(t.score for t in trials)


def test_the_views_draw_pruned_trials_apart():
    from tunewidgets.engine.folder.record import SearchRecord
    from tunewidgets.events import EpochEnded, SearchStarted, TrialEnded, TrialStarted
    from tunewidgets.plots import _data, _figures

    record = SearchRecord()
    record.apply(SearchStarted("s", "val_accuracy", "max", "random", 3, 3, False))
    for trial_id, status, curve in [
        ("0", TrialStatus.COMPLETED, [0.5, 0.6, 0.7]),
        ("1", TrialStatus.PRUNED, [0.4]),
        ("2", TrialStatus.FAILED, [0.3]),
    ]:
        record.apply(TrialStarted(trial_id, {"units": 8}))
        for epoch, value in enumerate(curve, 1):
            record.apply(EpochEnded(trial_id, epoch, {"val_accuracy": value}))
        score = max(curve) if status.has_score() else None
        record.apply(TrialEnded(trial_id, status, score, len(curve) if score else None, 1.0, "rule"))
    curves = _data.curves_data(record)
    assert curves.pruned.trials() == ["1"] and curves.completed.trials() == ["0"] and curves.failed.trials() == ["2"]
    fig = _figures.curves_figure(curves)
    assert fig.data[-1].name == "pruned (stopped early)" and tuple(fig.data[-1].y) == (0.4,)
    best = _data.best_so_far_data(record)
    assert best.numbers == (1, 2) and best.running_best == (0.7, 0.7)
    assert best.pruned_numbers == (2,) and best.pruned_scores == (0.4,)
    assert tuple(_figures.best_so_far_figure(best).data[4].x) == (2,)
    assert record.counts()["pruned"] == 1 and record.best().trial_id == "0"


@pytest.mark.slow
def test_pruning_decisions_hold_with_two_workers(tmp_path):
    # the oracle lives in the chief; the other worker reports its epochs over keras-tuner's gRPC protocol
    spec = Spec.from_file(SPECS / "quickstart.json").replace(
        **{
            "tuner.max_trials": 10,
            "training.epochs": 6,
            "data.samples": 300,
            "tuner.pruning": "median",
            "tuner.pruning_min_epochs": 2,
            "tuner.workers": 2,
        }
    )
    search = Search(spec, tmp_path, callbacks=[WaitForWorkers(str(tmp_path))])  # both workers train
    started = []
    search.events.subscribe(started.append, tw.events.TrialStarted)
    results = search.run()
    trials = results.record.ordered()
    assert len(trials) == 10 and all(t.status.has_score() for t in trials)
    pruned = [t for t in trials if t.status is TrialStatus.PRUNED]
    assert pruned, "no trial was pruned"
    assert all(t.epochs < 6 and "below the median" in t.message for t in pruned)
    assert {e.worker for e in started} == {"tuner0", "tuner1"}


def test_a_pruning_decision_travels_over_keras_tuners_grpc_protocol(tmp_path, monkeypatch):
    from keras_tuner.src.distribute.oracle_client import OracleClient

    from tunewidgets.engine.worker.chief import ChiefServer

    oracle = make_oracle(tmp_path, "median")
    server = ChiefServer(oracle)
    try:
        monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
        monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(server.port))
        monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
        client = OracleClient(oracle)
        # a client worker reports the same five trials: the same trials are pruned, at the same epochs
        assert [replay(client, curve)[1] for curve in CURVES] == [None, None, 1, None, 2]
        assert oracle._tw_pruned == {"02", "04"}
    finally:
        server.stop()
