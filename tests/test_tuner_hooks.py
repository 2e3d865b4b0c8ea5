"""keras-tuner wired to events, in this process, with a fit that replays a fixed history (no training).

The plumbing between keras-tuner and tunewidgets' events, as keras-tuner's own tests check theirs:
the model's ``fit`` hands its callbacks a history written in advance, so these tests are about what
the hooks publish and decide, not about learning.
"""

from __future__ import annotations

import math

import keras
import pytest

from tunewidgets.data import prepare
from tunewidgets.engine.tuner import StopRequested, batch_seed, make_tuner
from tunewidgets.events import BoundaryUpdated, EpochEnded, EventBus, TrialEnded, TrialStarted, TrialStatus
from tunewidgets.model.hypermodel import SpecHyperModel
from tunewidgets.spec import Choice, Fixed, Spec

HISTORY = [
    {"loss": 0.9, "accuracy": 0.50, "val_loss": 0.95, "val_accuracy": 0.55},
    {"loss": 0.7, "accuracy": 0.60, "val_loss": 0.80, "val_accuracy": 0.70},
    {"loss": 0.6, "accuracy": 0.70, "val_loss": 0.85, "val_accuracy": 0.65},
]


class Context:
    """What a worker gives the hooks: the spec, an event bus, stop and retire checks."""

    def __init__(self, spec: Spec, stop_after: int | None = None, stop_trial: tuple[str, int] | None = None):
        self.spec = spec
        self.events = EventBus()
        self.seen: list = []
        self.events.subscribe(self.seen.append)
        self.stop_after = stop_after
        self.stop_trial = stop_trial  # (trial id, after which epoch) the user stops that one trial

    @property
    def stop_requested(self) -> bool:
        epochs = sum(isinstance(e, EpochEnded) for e in self.seen)
        return self.stop_after is not None and epochs >= self.stop_after

    def should_retire(self) -> bool:
        return False

    def trial_stop_requested(self, trial_id: str) -> bool:
        if self.stop_trial is None or self.stop_trial[0] != trial_id:
            return False
        epochs = sum(isinstance(e, EpochEnded) and e.trial_id == trial_id for e in self.seen)
        return epochs >= self.stop_trial[1]

    def trial_started(self) -> None:
        pass


class Replay(SpecHyperModel):
    """Builds a one-layer model and 'fits' it by handing the callbacks a fixed history."""

    def __init__(self, spec, dataset, history):
        super().__init__(spec, dataset)
        self.history = history
        self.seeds: list[int | None] = []

    def build(self, hp):
        self.declare(hp)
        model = keras.Sequential([keras.Input(self.dataset.input_shape), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, callbacks=(), **kwargs):
        self.seeds.append(self.fit_seed)
        history = keras.callbacks.History()
        for callback in [*callbacks, history]:
            callback.set_model(model)
            callback.on_train_begin()
        for epoch, logs in enumerate(self.history):
            for callback in [*callbacks, history]:
                callback.on_epoch_end(epoch, dict(logs))
            if model.stop_training:
                break
        for callback in [*callbacks, history]:
            callback.on_train_end()
        return history


@pytest.fixture(scope="module")
def moons():
    return prepare(Spec().data.__class__(name="moons", samples=60))


def search(tmp_path, moons, *, history=HISTORY, trials=2, stop_after=None, stop_trial=None):
    spec = Spec().replace(
        **{
            "data.name": "moons",
            "tuner.max_trials": trials,
            "tuner.seed": 7,
            "training.epochs": len(history),
            "model.units": Choice((4, 8)),
            "model.layers": Fixed(1),
            "optimizer.learning_rate": Choice((0.01, 0.1)),
            "training.batch_size": Fixed(16),
        }
    )
    ctx = Context(spec, stop_after, stop_trial)
    hypermodel = Replay(spec, moons, history)
    tuner = make_tuner(ctx, hypermodel, moons.task, str(tmp_path), "kt")
    return ctx, hypermodel, tuner


def run(tuner, moons):
    tuner.search(moons.x_train, moons.y_train, validation_data=(moons.x_val, moons.y_val), epochs=3, verbose=0)


def test_every_epoch_and_the_trials_end_are_published_with_the_best_epoch(tmp_path, moons):
    ctx, _, tuner = search(tmp_path, moons)
    run(tuner, moons)
    kinds = [type(e).__name__ for e in ctx.seen if not isinstance(e, BoundaryUpdated)]
    assert kinds == ["TrialStarted", "EpochEnded", "EpochEnded", "EpochEnded", "TrialEnded"] * 2
    # moons has two inputs and two classes: each epoch's end also brings the model's decision boundary
    pairs = [
        (type(a).__name__, type(b).__name__)
        for a, b in zip(ctx.seen, ctx.seen[1:], strict=False)
        if isinstance(b, BoundaryUpdated)
    ]
    assert pairs == [("EpochEnded", "BoundaryUpdated")] * 6
    boundary = next(e for e in ctx.seen if isinstance(e, BoundaryUpdated))
    assert (boundary.epoch, boundary.shows, len(boundary.values), len(boundary.values[0])) == (1, "probability", 32, 32)
    assert all(0 <= v <= 1 for row in boundary.values for v in row)
    epochs = [e for e in ctx.seen if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs[:3]] == [1, 2, 3]
    assert epochs[1].metrics == HISTORY[1]
    ended = [e for e in ctx.seen if isinstance(e, TrialEnded)]
    assert [(e.status, e.score, e.best_epoch) for e in ended] == [(TrialStatus.COMPLETED, 0.70, 2)] * 2
    started = [e for e in ctx.seen if isinstance(e, TrialStarted)]
    assert {"units", "learning_rate"} <= set(started[0].hyperparameters)


def test_every_trial_reads_the_rows_in_the_order_of_the_search_seed(tmp_path, moons):
    ctx, hypermodel, tuner = search(tmp_path, moons)
    run(tuner, moons)
    # one order for all the trials of a run: trials compared on the same batches, and trials trained
    # together share theirs without changing a result (their weights are seeded by trial_seed)
    assert hypermodel.seeds == [batch_seed(7, 0)] * 2
    assert batch_seed(7, 0) != batch_seed(7, 1) and batch_seed(7, 0) != batch_seed(8, 0)


def test_a_loss_that_is_not_a_number_fails_the_trial_with_its_epoch(tmp_path, moons):
    broken = [HISTORY[0], {**HISTORY[1], "loss": math.nan}, HISTORY[2]]
    ctx, _, tuner = search(tmp_path, moons, history=broken, trials=1)
    run(tuner, moons)
    ended = next(e for e in ctx.seen if isinstance(e, TrialEnded))
    assert ended.status is TrialStatus.FAILED and ended.message == "loss became nan at epoch 2"
    assert sum(isinstance(e, EpochEnded) for e in ctx.seen) == 2


def test_a_stop_request_ends_the_trial_after_its_epoch(tmp_path, moons):
    ctx, _, tuner = search(tmp_path, moons, stop_after=2)
    with pytest.raises(StopRequested):
        run(tuner, moons)
    ended = [e for e in ctx.seen if isinstance(e, TrialEnded)]
    assert [(e.status, e.message) for e in ended] == [(TrialStatus.STOPPED, "stopped after epoch 2")]


def test_stopping_one_trial_keeps_its_best_epoch_and_the_search_goes_on(tmp_path, moons):
    ctx, _, tuner = search(tmp_path, moons, trials=2, stop_trial=("0", 2))
    run(tuner, moons)
    ended = [e for e in ctx.seen if isinstance(e, TrialEnded)]
    assert [(e.trial_id, e.status, e.score, e.best_epoch) for e in ended] == [
        ("0", TrialStatus.USER_STOPPED, 0.70, 2),
        ("1", TrialStatus.COMPLETED, 0.70, 2),
    ]
    assert ended[0].message == "stopped by the user after epoch 2"
    assert [e.epoch for e in ctx.seen if isinstance(e, EpochEnded) and e.trial_id == "0"] == [1, 2]
