"""Fused trials: several models trained in one step function, each as if it trained alone."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from tunewidgets.data import prepare
from tunewidgets.model.build import build_model
from tunewidgets.model.group import Member, train_group, worth_retracing
from tunewidgets.model.hyperparameters import declare
from tunewidgets.model.pipeline import InputPipelines
from tunewidgets.spec import Fixed, Range, Spec

EPOCHS = 3
BATCH = 16
ORDER = 11  # the seed of the rows' order, shared by the group and the models trained alone


def values(spec: Spec, **knobs) -> dict:
    """The build values of one trial whose knobs are all fixed."""
    return declare(spec.replace(**{k: Fixed(v) for k, v in knobs.items()}), kt.HyperParameters())


DENSE = [
    # SGD with momentum, an L2 penalty and dropout
    dict(
        **{"optimizer.name": "sgd", "optimizer.momentum": 0.9, "optimizer.learning_rate": 0.05},
        **{"regularization.penalty": "l2", "regularization.dropout": 0.2, "model.units": 16},
    ),
    # Adam with a decaying learning rate and batch normalization
    dict(
        **{"optimizer.name": "adam", "optimizer.learning_rate": 0.01, "optimizer.schedule": "exponential"},
        **{"model.batch_norm": True, "model.layers": 2, "model.units": 8},
    ),
    # RMSprop on a residual network with another activation
    dict(
        **{"optimizer.name": "rmsprop", "optimizer.learning_rate": 0.005, "model.residual": True},
        **{"model.layers": 3, "model.units": 12, "model.activation": "tanh"},
    ),
]
CNN = [
    {"optimizer.name": "sgd", "optimizer.momentum": 0.8, "optimizer.learning_rate": 0.05, "model.conv_blocks": 1},
    {"optimizer.name": "adam", "optimizer.learning_rate": 0.005, "model.conv_blocks": 2, "model.batch_norm": True},
    {"optimizer.name": "rmsprop", "optimizer.learning_rate": 0.002, "model.conv_blocks": 1, "model.filters": 8},
]
CNN = [{"model.units": 16, "model.filters": 4, **t} for t in CNN]


def setup(kind: str):
    if kind == "dense":
        spec = Spec().replace(**{"data.name": "moons", "data.samples": 200})
        trials = DENSE
    else:
        spec = Spec().replace(
            **{
                "data.name": "digits",
                "model.architecture": "cnn",
                "model.layers": Fixed(1),
                "model.units": Fixed(16),
                "model.filters": Fixed(4),
            }
        )
        trials = CNN
    ds = prepare(spec.data)
    if kind == "cnn":  # a few hundred images keep the test to seconds
        ds.x_train, ds.y_train, ds.x_val, ds.y_val = ds.x_train[:320], ds.y_train[:320], ds.x_val[:96], ds.y_val[:96]
    base = {"training.batch_size": BATCH, "model.layers": 1, "model.units": 8}
    return spec, ds, [values(spec, **{**base, **t}) for t in trials]


def build(v, ds, seed):
    keras.utils.set_random_seed(seed)  # what the engine does before building a trial's model
    return build_model(v, ds, EPOCHS)


def alone(v, ds, seed):
    pipelines = InputPipelines(ds.x_train, ds.y_train, ds.x_val, ds.y_val)
    return build(v, ds, seed).fit(**pipelines.fit_kwargs(BATCH, ORDER), epochs=EPOCHS, verbose=0).history


def together(vs, ds, seeds):
    pipelines = InputPipelines(ds.x_train, ds.y_train, ds.x_val, ds.y_val)
    members = [Member(build(v, ds, s), []) for v, s in zip(vs, seeds, strict=True)]
    traces = train_group(members, pipelines.fit_kwargs(BATCH, ORDER), epochs=EPOCHS)
    return members, traces


@pytest.mark.parametrize("kind", ["dense", "cnn"])
def test_a_member_reaches_the_metrics_it_reaches_alone(kind):
    spec, ds, vs = setup(kind)
    seeds = [101, 202, 303]
    members, traces = together(vs, ds, seeds)
    assert traces == 1
    for member, v, seed in zip(members, vs, seeds, strict=True):
        solo = alone(v, ds, seed)
        fused = member.history.history
        assert sorted(fused) == sorted(solo)
        for name in solo:
            np.testing.assert_allclose(fused[name], solo[name], rtol=1e-4, atol=1e-5, err_msg=f"{kind} {name}")
    # the tolerance catches a member trained with another's settings: the three learn differently, by far
    # more than it allows (rtol 1e-4 of losses below 1 is under 1e-4)
    losses = [m.history.history["loss"][-1] for m in members]
    assert min(abs(a - b) for i, a in enumerate(losses) for b in losses[i + 1 :]) > 1e-3


class Raises(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise ValueError(f"broken at epoch {epoch + 1}")


class StopsAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            self.model.stop_training = True


def test_members_end_on_their_own_and_the_rest_train_on():
    spec, ds, vs = setup("dense")
    ended = []
    pipelines = InputPipelines(ds.x_train, ds.y_train, ds.x_val, ds.y_val)
    members = [
        Member(build(vs[0], ds, 1), [StopsAt(1)]),  # stops after its first epoch (early stopping, pruning)
        Member(build(vs[1], ds, 2), [Raises(2)]),  # its callbacks fail at epoch 2 (a loss that is not a number)
        Member(build(vs[2], ds, 3), []),
    ]
    train_group(members, pipelines.fit_kwargs(BATCH, ORDER), epochs=EPOCHS, on_end=ended.append)
    assert ended == members  # in the order they ended
    assert [len(m.history.history.get("loss", [])) for m in members] == [1, 1, 3]
    assert members[0].error is None and str(members[1].error) == "broken at epoch 2"
    # the member that trained on is unaffected by the others: as if it trained alone
    np.testing.assert_allclose(members[2].history.history["val_loss"], alone(vs[2], ds, 3)["val_loss"], rtol=1e-4)


def test_a_fatal_error_stops_the_whole_group():
    spec, ds, vs = setup("dense")

    class Fatal(Exception):
        pass

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise Fatal("stop")

    pipelines = InputPipelines(ds.x_train, ds.y_train, ds.x_val, ds.y_val)
    members = [Member(build(vs[0], ds, 1), []), Member(build(vs[1], ds, 2), [Stop()])]
    ended = []
    with pytest.raises(Fatal):
        train_group(members, pipelines.fit_kwargs(BATCH, ORDER), epochs=EPOCHS, fatal=(Fatal,), on_end=ended.append)
    assert ended == []


def test_ended_members_are_dropped_when_that_costs_less_than_carrying_them():
    # 1 of 5 ended, tracing 0.5 s for the five, 0.1 s an epoch for the five: 4 left cost 0.4 s to trace again
    assert not worth_retracing(5, 4, 0.5, 0.1, epochs_left=10)  # carrying it: 0.02 s x 10 = 0.2 s
    assert worth_retracing(5, 4, 0.5, 0.1, epochs_left=30)  # 0.6 s > 0.4 s
    assert worth_retracing(5, 1, 0.5, 0.1, epochs_left=2)  # four dead: 0.16 s > 0.1 s
    assert not worth_retracing(5, 5, 0.5, 0.1, epochs_left=100)


def test_a_long_group_drops_its_ended_members():
    spec, ds, vs = setup("dense")
    pipelines = InputPipelines(ds.x_train, ds.y_train, ds.x_val, ds.y_val)
    members = [Member(build(v, ds, i), [StopsAt(2)] if i else []) for i, v in enumerate(vs)]
    traces = train_group(members, pipelines.fit_kwargs(BATCH, ORDER), epochs=60)
    assert [len(m.history.history["loss"]) for m in members] == [60, 2, 2]
    assert traces == 2  # two of three ended at epoch 2 with 58 epochs to go: traced again for the one left


# ---------------------------------------------------------------------- searches with fused trials


def _scores(results):
    return {t.trial_id: (t.status, t.score, t.epochs) for t in results.record.ordered()}


@pytest.mark.slow
def test_a_fused_search_finds_what_one_trial_at_a_time_finds(tmp_path, quickstart, monkeypatch):
    from tunewidgets.engine import Search
    from tunewidgets.engine.worker.kt_tuner import MODEL_FIT_ENV
    from tunewidgets.events import EpochEnded, TrialEnded, TrialStarted

    from .conftest import collect, tiny

    spec = tiny(quickstart, trials=7, epochs=3, samples=120, **{"training.batch_size": Fixed(16)})
    monkeypatch.setenv(MODEL_FIT_ENV, "1")  # each trial with Model.fit, in keras-tuner's own loop
    one = Search(spec, tmp_path / "one").run()
    monkeypatch.delenv(MODEL_FIT_ENV)
    fused = Search(spec.replace(**{"tuner.fuse": 3}), tmp_path / "fused")
    events = collect(fused)
    results = fused.run()
    a, b = _scores(one), _scores(results)
    assert list(a) == list(b) and len(b) == 7
    for trial_id in a:
        assert a[trial_id][0] == b[trial_id][0] and a[trial_id][2] == b[trial_id][2] == 3
        assert b[trial_id][1] == pytest.approx(a[trial_id][1], abs=1e-6)
    # every trial has its own events: started, three epochs, ended; and several ran at once
    for trial_id in b:
        mine = [type(e).__name__ for e in events if getattr(e, "trial_id", None) == trial_id]
        assert mine == ["TrialStarted", "EpochEnded", "EpochEnded", "EpochEnded", "TrialEnded"]
    order = [(type(e).__name__, e.trial_id) for e in events if isinstance(e, (TrialStarted, TrialEnded))]
    assert order[:3] == [("TrialStarted", "0"), ("TrialStarted", "1"), ("TrialStarted", "2")]  # a group of 3
    assert order[6:9] == [("TrialStarted", "3"), ("TrialStarted", "4"), ("TrialStarted", "5")]
    assert [e.execution for e in events if isinstance(e, EpochEnded)] == [0] * 21
    # each trial's best-epoch weights were saved as its own model: loaded alone, it scores what was recorded
    ds = results.dataset
    for t in results.record.ordered():
        model = results.model(t.trial_id)
        accuracy = model.evaluate(ds.x_val, ds.y_val, verbose=0, return_dict=True)["accuracy"]
        assert accuracy == pytest.approx(t.score, abs=1e-6)


@pytest.mark.slow
def test_fused_trials_end_on_their_own_and_a_stopped_group_runs_again_on_resume(tmp_path, quickstart):
    from tunewidgets.engine import Search
    from tunewidgets.events import EndReason, EpochEnded, TrialStatus

    from .conftest import tiny
    from .keras_callbacks import SlowEpochs

    spec = tiny(quickstart, trials=9, epochs=6, samples=300, **{"training.batch_size": Fixed(16)}).replace(
        **{"tuner.fuse": 3, "tuner.pruning": "median", "tuner.pruning_min_epochs": 2, "model.units": Range(4, 32)}
    )
    first = Search(spec, tmp_path, callbacks=[SlowEpochs(0.1)])
    first.events.subscribe(lambda e: isinstance(e, EpochEnded) and e.trial_id == "3" and first.stop())
    first.run()
    assert first.end_reason is EndReason.STOPPED
    stopped = {t.trial_id: t for t in first.record.ordered()}
    assert all(stopped[i].status.has_score() for i in "012")  # the first group ended before the stop
    assert {stopped[i].status for i in "345"} == {TrialStatus.STOPPED}  # the second was cut off together
    assert all(stopped[i].epochs < 6 for i in "345")
    results = Search(spec, tmp_path).run()
    trials = results.record.ordered()
    assert len(trials) == 9 and all(t.status.has_score() for t in trials)
    pruned = [t for t in trials if t.status is TrialStatus.PRUNED]
    assert pruned, "no trial was pruned"
    assert all(2 <= t.epochs < 6 and "below the median" in t.message for t in pruned)
    # a pruned member ended on its own: others of its group trained on to the last epoch
    assert any(t.epochs == 6 for t in trials[3:])


@pytest.mark.slow
def test_hyperband_and_two_workers_with_fused_trials(tmp_path, quickstart):
    from tunewidgets.engine import Search
    from tunewidgets.events import EpochEnded, TrialStarted
    from tunewidgets.spec.budget import planned_epochs, planned_trials

    from .conftest import collect, tiny

    spec = tiny(quickstart, epochs=4, samples=120).replace(
        **{"tuner.algorithm": "hyperband", "tuner.max_epochs": 4, "tuner.fuse": 4}
    )
    search = Search(spec, tmp_path / "hb")
    events = collect(search)
    results = search.run()
    assert len(results.record.trials) == planned_trials(spec)
    assert sum(isinstance(e, EpochEnded) for e in events) == planned_epochs(spec)
    assert set(results.trials["status"]) == {"completed"}

    spec = tiny(quickstart, trials=8, epochs=2, samples=120).replace(**{"tuner.fuse": 3, "tuner.workers": 2})
    from .keras_callbacks import WaitForWorkers

    search = Search(spec, tmp_path / "two", callbacks=[WaitForWorkers(str(tmp_path / "two"))])  # both workers train
    events = collect(search)
    results = search.run()
    started = [e for e in events if isinstance(e, TrialStarted)]
    assert len({e.trial_id for e in started}) == len(started) == 8
    assert {e.worker for e in started} == {"tuner0", "tuner1"}
    assert results.trials["status"].tolist() == ["completed"] * 8


def test_trials_train_in_groups_on_tensorflow_unless_told_to_use_model_fit(monkeypatch):
    from tunewidgets.engine.worker.kt_tuner import MODEL_FIT_ENV, grouped
    from tunewidgets.model.spec_hypermodel import SpecHyperModel

    spec = Spec().replace(**{"data.name": "moons", "data.samples": 60})
    ds = prepare(spec.data)

    class OwnFit(SpecHyperModel):
        def fit(self, hp, model, *args, **kwargs):
            return super().fit(hp, model, *args, **kwargs)

    assert grouped(SpecHyperModel(spec, ds))
    assert not grouped(OwnFit(spec, ds))  # a fit of its own: trained through it, one trial at a time
    monkeypatch.setenv(MODEL_FIT_ENV, "1")
    assert not grouped(SpecHyperModel(spec, ds))


JAX_SCRIPT = """
import sys
import keras, keras_tuner as kt, numpy as np
assert keras.backend.backend() == "jax"
sys.path.insert(0, "tests")
import tunewidgets as tw
from test_fused import DENSE, setup, values
from tunewidgets.model.build import build_model
from tunewidgets.model.group import Member, train_group
from tunewidgets.model.pipeline import NumpyBatches

spec, ds, vs = setup("dense")
def build(v, seed):
    keras.utils.set_random_seed(seed)
    return build_model(v, ds, 3)
def data():
    return NumpyBatches(ds.x_train, ds.y_train, ds.x_val, ds.y_val).fit_kwargs(16, 11)
members = [Member(build(v, s), []) for v, s in zip(vs, (1, 2, 3))]
assert train_group(members, data(), epochs=3) == 1
for member, v, seed in zip(members, vs, (1, 2, 3)):
    kw = data()
    kw.pop("shuffle")
    kw["x"], kw["validation_data"] = iter(kw["x"]), iter(kw["validation_data"])
    solo = build(v, seed).fit(**kw, epochs=3, verbose=0).history
    for name in solo:
        np.testing.assert_allclose(member.history.history[name], solo[name], rtol=1e-4, atol=1e-5)
# a search of fused trials on JAX: every trial completes, each checkpoint scores what was recorded
quick = tw.Spec.from_file("examples/specs/quickstart.json").replace(**{
    "tuner.max_trials": 4, "training.epochs": 2, "data.samples": 120, "tuner.fuse": 2,
    "training.batch_size": tw.Fixed(16), "model.units": tw.Fixed(8)})
results = tw.Search(quick, sys.argv[1]).run()
assert results.trials["status"].tolist() == ["completed"] * 4, results.trials
for t in results.record.ordered():
    acc = results.model(t.trial_id).evaluate(results.dataset.x_val, results.dataset.y_val, verbose=0, return_dict=True)
    assert abs(acc["accuracy"] - t.score) < 1e-6, (acc, t.score)
print("jax groups ok")
"""


@pytest.mark.slow
def test_groups_train_on_jax_too(tmp_path):
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax groups ok" in result.stdout
