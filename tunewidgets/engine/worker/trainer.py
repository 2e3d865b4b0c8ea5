"""Training one group of trials, wherever it runs: in a worker process of this machine or in a Dask task.

:class:`Trainer` builds each trial's model with the hypermodel, trains the group's runs together
(:func:`tunewidgets.model.group.train_group`) or each trial through the hypermodel's own ``fit``, hears every
epoch (events, the NaN check, the decision boundary, the user's stops, pruning) and keeps each trial's
best-epoch checkpoint. What it cannot decide alone goes to a :class:`Referee`: whether an epoch's objective
prunes the trial, and what happens once a trial completed, failed or was cut off. The referee is keras-tuner's
oracle in this process (:class:`tunewidgets.engine.worker.loop.OracleReferee`), or the search's machine for a
trial trained on a Dask worker (:mod:`tunewidgets.engine.worker.remote`). Imports Keras.
"""

from __future__ import annotations

import copy
import functools
import gc
import json
import math
import time
import traceback
from typing import Any, Protocol

import keras
import keras_tuner as kt

from ...events import BoundaryUpdated, EpochEnded, EventBus
from ...model.group import Member, train_group
from ..folder.tuner_files import TunerFolder
from .checkpoint import BestEpoch
from .outcomes import Retire, StopRequested, TrialFailed
from .trials import (
    LoopSettings,
    TrialState,
    as_history,
    batch_seed,
    fit_shape,
    hears_batches,
    is_number,
    trial_metrics,
    trial_seed,
    with_trial_logs,
)


class Control(Protocol):
    """What the process gives the trainer: its event bus, and the user's stop and its own retire checks."""

    events: EventBus

    @property
    def stop_requested(self) -> bool: ...

    def should_retire(self) -> bool: ...

    def trial_stop_requested(self, trial_id: str) -> bool: ...

    def trial_started(self) -> None: ...


class Referee(Protocol):
    """Who decides what the training of a trial cannot: pruning, and what a trial's end means for the search."""

    def prune(self, state: TrialState, value: float, step: int) -> bool:
        """An epoch's objective (``value`` at ``step``, for pruning); True: the trial stops after this epoch."""
        ...

    def complete(self, state: TrialState, metrics: dict[str, float], step: int) -> None:
        """Every run of the trial ended: ``metrics`` at the runs' best epochs, averaged; ``step`` the best epoch."""
        ...

    def fail(self, state: TrialState) -> None:
        """The trial failed (``state.failure`` says why, ``state.trace`` where); the search goes on."""
        ...

    def cut(self, state: TrialState, message: str) -> None:
        """The search stopped while the trial trained: it runs again on resume."""
        ...


class Trainer:
    """Trains groups of trials and hands each trial's end to its referee.

    Args:
        hypermodel: builds each trial's model (``build(hp)``); with ``settings.grouped`` it also gives the
            training data (``training_data(batch_size)``), else its ``fit`` trains each trial.
        settings: how to train (:class:`LoopSettings`).
        control: the event bus and stop checks (:class:`Control`).
        referee: pruning and the trials' ends (:class:`Referee`).
        folder: keras-tuner's project folder here (:class:`TunerFolder`): each trial's checkpoint and build config
            go to the trial's folder in it, and a trial Hyperband carries on reads its parent's checkpoint there.
        fit_args, fit_kwargs: what the hypermodel's ``fit`` is given besides the model and the callbacks.
        callbacks: the user's Keras callbacks, copied for each run of each trial.
        boundary: the decision boundary's grid for two-input classification (None otherwise).
    """

    def __init__(
        self,
        hypermodel: Any,
        settings: LoopSettings,
        control: Control,
        referee: Referee,
        folder: str,
        *,
        fit_args: tuple[Any, ...] = (),
        fit_kwargs: dict[str, Any] | None = None,
        callbacks: list[Any] | None = None,
        boundary: Any = None,
    ):
        self.hypermodel = hypermodel
        self.settings = settings
        self.control = control
        self.referee = referee
        self.files = TunerFolder(folder)
        self.fit_args = fit_args
        self.fit_kwargs = dict(fit_kwargs or {})
        self.callbacks = list(callbacks or [])
        self.boundary = boundary
        self.open: dict[str, TrialState] = {}  # begun, not ended

    def begin(self, trial: Any) -> TrialState:
        """A trial taken to train: its state, open until its referee hears how it ended."""
        self.control.trial_started()
        checkpoint = BestEpoch(self.settings.objective, str(self.files.checkpoint(str(trial.trial_id))))
        state = TrialState(trial, time.time(), checkpoint)
        state.values = dict(trial.hyperparameters.values)
        self.open[state.trial_id] = state
        return state

    def train(self, states: list[TrialState]) -> None:
        """Trains one group (same batch size and epochs): each run of its trials together, each trial ended as it
        ends. Raises :class:`StopRequested` (the open trials cut first) or :class:`Retire`."""
        batch_size, initial_epoch, epochs = fit_shape(states[0].trial, self.settings.epochs, self.settings.batch_size)
        try:
            for run in range(self.settings.runs):
                live = [s for s in states if s.trial_id in self.open]
                if not live:
                    break
                keras.backend.clear_session()  # once for the group: what keras-tuner does before each build
                gc.collect()
                members: dict[Member, TrialState] = {}
                for state in live:
                    member = self._member(state, run)
                    if member is not None:
                        members[member] = state
                last = run == self.settings.runs - 1
                if not members:
                    continue
                if self.settings.grouped:
                    try:
                        train_group(
                            list(members),
                            self.hypermodel.training_data(batch_size),
                            epochs=epochs,
                            initial_epoch=initial_epoch,
                            fatal=(StopRequested, Retire),
                            on_end=functools.partial(self._on_member_end, members, last),
                        )
                    except (StopRequested, Retire, KeyboardInterrupt):
                        raise
                    except Exception as e:  # noqa: BLE001 - the group's own step failed (data the models do not
                        # take): every trial still open in it fails with Keras' message; the search goes on
                        for state in members.values():
                            if state.trial_id in self.open:
                                self._fail(state, e)
                else:
                    for member, state in members.items():
                        self._fit_alone(state, member, epochs, initial_epoch, last)
        except (StopRequested, KeyboardInterrupt) as e:
            message = "interrupted" if isinstance(e, KeyboardInterrupt) else str(e)
            for state in list(self.open.values()):  # cut off: they run again on resume
                self.referee.cut(state, message)
            self.open.clear()
            raise

    # ------------------------------------------------------------------ one trial
    def _member(self, state: TrialState, run: int) -> Member | None:
        """A trial's model for run ``run`` (its seed, its fold, its callbacks), or None when it failed to build."""
        state.run = run
        spec_seed = self.settings.seed
        self.hypermodel.fold = run if self.settings.folds else None
        keras.utils.set_random_seed(trial_seed(spec_seed, state.trial_id, run))  # weights, dropout
        self.hypermodel.fit_seed = batch_seed(spec_seed, run)
        try:
            model = self._build(state)
        except (StopRequested, Retire):
            raise
        except Exception as e:  # noqa: BLE001 - a model that cannot be built fails its trial only
            self._fail(state, e)
            return None
        callbacks = [copy.deepcopy(c) for c in self.callbacks]
        if self.settings.tensorboard:
            callbacks = with_trial_logs(callbacks, state.trial, run)
        batch_callbacks = [c for c in callbacks if hears_batches(c)]
        assert state.checkpoint is not None  # begun here
        callbacks += [_Reporter(self, state), state.checkpoint]
        if self.settings.grouped:  # the hypermodel's fit adds its own when it trains
            callbacks += self.hypermodel.fit_callbacks()
        return Member(model, callbacks, batch_callbacks)

    def _build(self, state: TrialState) -> Any:
        hp = state.trial.hyperparameters
        model = self.hypermodel.build(hp)
        if not isinstance(model, keras.Model):
            raise TrialFailed(f"the hypermodel's build returned {type(model).__name__}, not a Keras model")
        if getattr(model, "optimizer", None) is None and self.settings.grouped:  # an own fit may train it itself
            raise TrialFailed("the hypermodel's build returned a model that is not compiled: call model.compile()")
        limit = self.settings.max_parameters
        if limit:
            size = sum(math.prod(w.shape) for w in model.trainable_weights)
            if size > limit:
                raise TrialFailed(f"the model has {size:,} weights, more than the size limit ({limit:,})")
        carried = hp.values.get("tuner/trial_id")
        if carried:  # Hyperband carries a trial on from an earlier one's best weights
            model.load_weights(str(self.files.checkpoint(str(carried))))
        return model

    def _keep_build_config(self, state: TrialState, model: Any) -> None:
        """How the trained model was built (its input shapes), as keras-tuner keeps it beside the checkpoint: a
        model with no ``keras.Input`` is built by its first batch, so it is read after training."""
        path = self.files.build_config(state.trial_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as f:
            json.dump(model.get_build_config(), f)

    def _fit_alone(self, state: TrialState, member: Member, epochs: int, initial_epoch: int, last: bool) -> None:
        """One run of one trial through the hypermodel's own ``fit``: ``Model.fit``, or a training loop of its own
        that calls the callbacks' ``on_epoch_end`` itself and returns its metrics (a History, a dict or the
        objective's value, as keras-tuner takes them)."""
        kwargs = dict(self.fit_kwargs, epochs=epochs, initial_epoch=initial_epoch, callbacks=member.callbacks)
        kwargs.setdefault("verbose", 0)
        for callback in member.callbacks:  # the reporter and the checkpoint, ready for a loop of its own
            if isinstance(callback, (_Reporter, BestEpoch)):
                callback.set_model(member.model)
        try:
            result = self.hypermodel.fit(state.trial.hyperparameters, member.model, *self.fit_args, **kwargs)
            member.history = as_history(result, self.settings.objective.name, state.heard)
            if state.checkpoint is not None:
                state.checkpoint.on_train_end()  # a loop of its own calls no on_train_end: its best epoch kept here
        except (StopRequested, Retire, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001 - a run that raises fails its trial only
            member.error = e
        self._member_ended(state, member, last)

    def _on_member_end(self, members: dict[Member, TrialState], last_run: bool, member: Member) -> None:
        self._member_ended(members[member], member, last_run)

    def _member_ended(self, state: TrialState, member: Member, last_run: bool) -> None:
        if state.trial_id not in self.open:
            return
        if member.error is not None:
            self._fail(state, member.error)
            return
        self._keep_build_config(state, member.model)
        state.histories.append(member.history)
        if last_run or state.cut:
            self._complete(state)

    def _complete(self, state: TrialState) -> None:
        try:
            metrics, step = trial_metrics(state.histories, self.settings.objective)
        except TrialFailed as e:
            self._fail(state, e)
            return
        self.open.pop(state.trial_id, None)
        self.referee.complete(state, metrics, step)

    def _fail(self, state: TrialState, error: BaseException) -> None:
        self.open.pop(state.trial_id, None)
        state.trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        plain = isinstance(error, (TrialFailed, kt.errors.FailedTrialError))
        state.failure = str(error) if plain else f"{type(error).__name__}: {error}"
        self.referee.fail(state)

    # ------------------------------------------------------------------ each epoch
    def epoch_ended(self, state: TrialState, model: Any, epoch: int, logs: dict[str, Any]) -> None:
        """An epoch of a trial's run: published, checked (a loss that is not a number fails the trial), drawn
        (a decision boundary), then the user's stops and pruning."""
        metrics = {k: float(v) for k, v in logs.items() if is_number(v)}
        events = self.control.events
        events.publish(EpochEnded(state.trial_id, epoch + 1, metrics, execution=state.run))
        if not state.heard:
            state.heard = True
            name = self.settings.objective.name
            if name not in metrics:  # any metric the model logs may be the objective: one it does not log is said
                logged = ", ".join(sorted(metrics)) or "nothing"
                raise TrialFailed(
                    f"the model logs no {name}, the objective (tuner.objective); it logs {logged}: name one of "
                    "those, or add the metric to model.compile(metrics=...)"
                )
        loss = metrics.get("loss")
        if loss is not None and not math.isfinite(loss):
            raise TrialFailed(f"loss became {loss} at epoch {epoch + 1}")
        if self.boundary is not None:
            grid = self.boundary
            values = grid.values(model)
            events.publish(
                BoundaryUpdated(state.trial_id, epoch + 1, values, grid.x_range, grid.y_range, grid.shows, state.run)
            )
        if self.control.stop_requested:
            raise StopRequested(f"stopped after epoch {epoch + 1}")
        if self.control.trial_stop_requested(state.trial_id):
            state.stopped_after = epoch + 1
            model.stop_training = True  # the trial ends here, scored by its best epoch so far; the search goes on
            return
        self._report(state, model, epoch + 1, metrics)

    def _report(self, state: TrialState, model: Any, epoch: int, metrics: dict[str, float]) -> None:
        """Pruning: the epoch's objective goes to the referee, which may answer that the trial stops here.

        With cross-validation the steps run through the folds (fold ``j``'s epoch ``e`` is step
        ``j * epochs + e``) and the value is the mean over the folds trained so far at that epoch.
        """
        name = self.settings.objective.name
        if not self.settings.pruning or name not in metrics or (state.run != 0 and not self.settings.folds):
            return
        run = max(0, state.run)
        state.curve.setdefault(run, {})[epoch] = metrics[name]
        earlier = [state.curve[j] for j in range(run)]
        values = [c.get(epoch, c[max(c)]) for c in earlier if c] + [metrics[name]]
        step = run * self.settings.epochs + epoch
        if self.referee.prune(state, sum(values) / len(values), step):
            state.pruned = True
            model.stop_training = True


class _Reporter(keras.callbacks.Callback):
    """Hands each epoch of one trial's run to its trainer."""

    def __init__(self, trainer: Trainer, state: TrialState):
        super().__init__()
        self.trainer = trainer
        self.state = state

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.trainer.epoch_ended(self.state, self.model, epoch, logs or {})


__all__ = ["Control", "Referee", "Trainer"]
