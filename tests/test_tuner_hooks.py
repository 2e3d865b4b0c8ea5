"""The worker's trial loop, in this process, on the path production runs: real tiny models trained through the
group loop (and the hypermodel's own ``fit``), with a callback that writes a fixed history into each epoch's logs.

What the loop publishes and decides is about the logs it hears, not about learning; the scripted logs make
every score and best epoch known in advance, as keras-tuner's own tests replay a history.
"""

from __future__ import annotations

import math

import keras
import pytest

from tunewidgets.data import prepare
from tunewidgets.engine.worker.kt_tuner import grouped, loop_settings, make_tuner
from tunewidgets.engine.worker.loop import TrialLoop
from tunewidgets.engine.worker.outcomes import StopRequested
from tunewidgets.engine.worker.trials import batch_seed
from tunewidgets.events import BoundaryUpdated, EpochEnded, EventBus, TrialEnded, TrialStarted, TrialStatus
from tunewidgets.model.boundary import BoundaryGrid
from tunewidgets.model.spec_hypermodel import SpecHyperModel
from tunewidgets.spec import Choice, Fixed, Spec

HISTORY = [
    {"loss": 0.9, "accuracy": 0.50, "val_loss": 0.95, "val_accuracy": 0.55},
    {"loss": 0.7, "accuracy": 0.60, "val_loss": 0.80, "val_accuracy": 0.70},
    {"loss": 0.6, "accuracy": 0.70, "val_loss": 0.85, "val_accuracy": 0.65},
]


class Context:
    """What a worker gives the loop: an event bus, stop and retire checks."""

    def __init__(self, stop_after: int | None = None, stop_trial: tuple[str, int] | None = None):
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


class Script(keras.callbacks.Callback):
    """Writes a fixed history into each epoch's logs, which every later callback of the run reads."""

    def __init__(self, history):
        super().__init__()
        self.history = history

    def on_epoch_end(self, epoch, logs=None):
        logs.clear()
        logs.update(self.history[epoch])


class Seeds(SpecHyperModel):
    """The spec's own hypermodel (so trials train through the group loop), noting each run's batch order."""

    def __init__(self, spec, dataset):
        super().__init__(spec, dataset)
        self.seeds: list[int | None] = []

    def training_data(self, batch_size):
        self.seeds.append(self.fit_seed)
        return super().training_data(batch_size)


@pytest.fixture(scope="module")
def moons():
    return prepare(Spec().data.__class__(name="moons", samples=60))


def search(tmp_path, moons, *, history=HISTORY, trials=2, stop_after=None, stop_trial=None, alone=False):
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
    ctx = Context(stop_after, stop_trial)
    hypermodel = Seeds(spec, moons)
    tuner = make_tuner(spec, hypermodel, moons.task, str(tmp_path), "kt")
    settings = loop_settings(spec, moons.task, grouped=grouped(hypermodel) and not alone, tensorboard=False)
    assert settings.grouped is not alone  # the group loop, unless the test asks for the hypermodel's own fit
    loop = TrialLoop(
        tuner,
        hypermodel,
        settings,
        ctx,
        fit_args=(moons.x_train, moons.y_train),
        fit_kwargs={"validation_data": (moons.x_val, moons.y_val)},
        callbacks=[Script(history)],
        boundary=BoundaryGrid(moons),
    )
    return ctx, hypermodel, loop


@pytest.mark.parametrize("alone", [False, True], ids=["group-loop", "hypermodel-fit"])
def test_every_epoch_and_the_trials_end_are_published_with_the_best_epoch(tmp_path, moons, alone):
    ctx, _, loop = search(tmp_path, moons, alone=alone)
    loop.run()
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
    ctx, hypermodel, loop = search(tmp_path, moons)
    loop.run()
    # one order for all the trials of a run: trials compared on the same batches, and trials trained
    # together share theirs without changing a result (their weights are seeded by trial_seed)
    assert hypermodel.seeds == [batch_seed(7, 0)] * 2
    assert batch_seed(7, 0) != batch_seed(7, 1) and batch_seed(7, 0) != batch_seed(8, 0)


def test_a_loss_that_is_not_a_number_fails_the_trial_with_its_epoch(tmp_path, moons):
    broken = [HISTORY[0], {**HISTORY[1], "loss": math.nan}, HISTORY[2]]
    ctx, _, loop = search(tmp_path, moons, history=broken, trials=1)
    loop.run()
    ended = next(e for e in ctx.seen if isinstance(e, TrialEnded))
    assert ended.status is TrialStatus.FAILED and ended.message == "loss became nan at epoch 2"
    assert sum(isinstance(e, EpochEnded) for e in ctx.seen) == 2


def test_a_stop_request_ends_the_trial_after_its_epoch(tmp_path, moons):
    ctx, _, loop = search(tmp_path, moons, stop_after=2)
    with pytest.raises(StopRequested):
        loop.run()
    ended = [e for e in ctx.seen if isinstance(e, TrialEnded)]
    assert [(e.status, e.message) for e in ended] == [(TrialStatus.STOPPED, "stopped after epoch 2")]


def test_stopping_one_trial_keeps_its_best_epoch_and_the_search_goes_on(tmp_path, moons):
    ctx, _, loop = search(tmp_path, moons, trials=2, stop_trial=("0", 2))
    loop.run()
    ended = [e for e in ctx.seen if isinstance(e, TrialEnded)]
    assert [(e.trial_id, e.status, e.score, e.best_epoch) for e in ended] == [
        ("0", TrialStatus.USER_STOPPED, 0.70, 2),
        ("1", TrialStatus.COMPLETED, 0.70, 2),
    ]
    assert ended[0].message == "stopped by the user after epoch 2"
    assert [e.epoch for e in ctx.seen if isinstance(e, EpochEnded) and e.trial_id == "0"] == [1, 2]
