"""One worker's trial loop: the whole life of every trial it trains, in one object.

:class:`TrialLoop` takes trials from keras-tuner's oracle (up to ``fuse`` at a time, one tuner id per slot),
builds each one's model with the hypermodel, trains them together in groups that share a batch size and
epochs (:func:`tunewidgets.model.group.train_group`) or one at a time through the hypermodel's own ``fit``,
reports every epoch (events; the objective to the oracle for pruning), keeps each trial's best-epoch
checkpoint, and ends, fails or stops each trial. keras-tuner is used through its public API only:
``Oracle.create_trial`` / ``update_trial`` / ``end_trial`` / ``get_trial``, ``HyperModel.build`` / ``fit``,
``Objective``, ``Tuner.save``. Its parts talk through typed exceptions and fields, never through message text.
"""

from __future__ import annotations

import copy
import functools
import gc
import json
import math
import os
import time
import traceback
from typing import Any, Protocol

import keras
import keras_tuner as kt

from ...events import BoundaryUpdated, EpochEnded, EventBus, TrialEnded, TrialStarted, TrialStatus
from ...model.group import Member, train_group
from .checkpoint import BestEpoch
from .oracles import REPORT, read_rule
from .outcomes import Retire, StopRequested, TooManyFailures, TrialFailed
from .trials import (
    LoopSettings,
    TrialState,
    batch_seed,
    fit_shape,
    groups,
    hears_batches,
    is_number,
    slot_id,
    trial_metrics,
    trial_seed,
    with_trial_logs,
)

#: keras-tuner's trial statuses, the plain strings of its public ``Trial.status``.
RUNNING, IDLE, STOPPED, COMPLETED, FAILED = "RUNNING", "IDLE", "STOPPED", "COMPLETED", "FAILED"


class Control(Protocol):
    """What the worker process gives the loop: its event bus, and the user's stop and its own retire checks."""

    events: EventBus

    @property
    def stop_requested(self) -> bool: ...

    def should_retire(self) -> bool: ...

    def trial_stop_requested(self, trial_id: str) -> bool: ...

    def trial_started(self) -> None: ...


class TrialLoop:
    """Trains the trials keras-tuner's oracle hands this worker, until it has none left.

    Args:
        tuner: keras-tuner's ``Tuner`` for this project (it sets up, reloads and saves the oracle, and makes a
            client of it in a worker of a chief); the loop reads ``oracle``, ``tuner_id``, ``project_dir`` and
            calls ``save()``.
        hypermodel: builds each trial's model (``build(hp)``); with ``settings.grouped`` it also gives the
            training data (``training_data(batch_size)``), else its ``fit`` trains each trial.
        settings: how to train (:class:`LoopSettings`).
        control: the worker's event bus and stop checks (:class:`Control`).
        fit_args, fit_kwargs: what the hypermodel's ``fit`` is given besides the model and the callbacks.
        callbacks: the user's Keras callbacks, copied for each run of each trial.
        boundary: the decision boundary's grid for two-input classification (None otherwise).
    """

    def __init__(
        self,
        tuner: Any,
        hypermodel: Any,
        settings: LoopSettings,
        control: Control,
        *,
        fit_args: tuple[Any, ...] = (),
        fit_kwargs: dict[str, Any] | None = None,
        callbacks: list[Any] | None = None,
        boundary: Any = None,
    ):
        self.tuner = tuner
        self.oracle = tuner.oracle
        self.hypermodel = hypermodel
        self.settings = settings
        self.control = control
        self.fit_args = fit_args
        self.fit_kwargs = dict(fit_kwargs or {})
        self.callbacks = list(callbacks or [])
        self.boundary = boundary
        self.open: dict[str, TrialState] = {}  # begun, not ended
        self.failed_in_row: list[str] = []  # the messages of the trials that failed since one succeeded

    @property
    def tuner_id(self) -> str:
        return str(self.tuner.tuner_id)

    def trial_dir(self, trial_id: str) -> str:
        return os.path.join(self.tuner.project_dir, f"trial_{trial_id}")

    def checkpoint_path(self, trial_id: str) -> str:
        """keras-tuner's place for a trial's best-epoch weights (``tunewidgets.engine.folder.Project.checkpoint``)."""
        return os.path.join(self.trial_dir(trial_id), "checkpoint.weights.h5")

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        """Trains until the oracle has no trial left. Raises :class:`StopRequested` or :class:`Retire`."""
        more = True
        while more:
            trials, more = self._take(self.settings.fuse if self.settings.grouped else 1)
            for group in groups(trials, self.settings.epochs):
                self._train(group)
                self._check_failures()

    def _check_failures(self) -> None:
        limit = self.settings.max_failures
        if limit and len(self.failed_in_row) >= limit:
            raise TooManyFailures(
                f"{len(self.failed_in_row)} trials failed in a row, the limit (tuner.max_consecutive_failed_trials); "
                f"the last: {self.failed_in_row[-1]}"
            )

    def _check_control(self) -> None:
        if self.control.stop_requested:
            raise StopRequested("stopped before the next trial")
        if self.control.should_retire():
            raise Retire("this process retires; another takes over")

    def _take(self, k: int) -> tuple[list[Any], bool]:
        """Up to ``k`` trials from the oracle, and whether it may have more. The oracle answers IDLE while it
        waits for other workers (Hyperband between rounds): ask again, backing off, unless some were taken."""
        trials: list[Any] = []
        polls = 0
        while len(trials) < k:
            if not trials:
                self._check_control()
                if polls:
                    time.sleep(min(0.5, 0.02 * polls))
            trial = self.oracle.create_trial(slot_id(self.tuner_id, len(trials)))
            if trial.status == STOPPED:
                return trials, False
            if trial.status == IDLE:
                if trials:
                    return trials, True
                polls += 1
                continue
            trials.append(trial)
        return trials, True

    def _train(self, group: list[Any]) -> None:
        """Trains one group: each run (fold) of its trials together, then ends each trial as it ends."""
        batch_size, initial_epoch, epochs = fit_shape(group[0], self.settings.epochs)
        states = [self._begin(trial) for trial in group]
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
                self._publish_end(state, state.trial, TrialStatus.STOPPED, message)
            self.open.clear()
            raise

    # ------------------------------------------------------------------ one trial
    def _begin(self, trial: Any) -> TrialState:
        self.control.trial_started()
        state = TrialState(trial, time.time(), BestEpoch(self.settings.objective, self.checkpoint_path(trial.trial_id)))
        self.open[state.trial_id] = state
        state.values = values = dict(trial.hyperparameters.values)
        self.control.events.publish(TrialStarted(state.trial_id, values, worker=self.tuner_id))
        return state

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
        callbacks += [_Reporter(self, state), state.checkpoint]
        if self.settings.grouped:  # the hypermodel's fit adds its own when it trains
            callbacks += self.hypermodel.fit_callbacks()
        return Member(model, callbacks, batch_callbacks)

    def _build(self, state: TrialState) -> Any:
        hp = state.trial.hyperparameters
        model = self.hypermodel.build(hp)
        if not isinstance(model, keras.Model):
            raise TrialFailed(f"the hypermodel's build returned {type(model).__name__}, not a Keras model")
        if getattr(model, "optimizer", None) is None:
            raise TrialFailed("the hypermodel's build returned a model that is not compiled: call model.compile()")
        limit = self.settings.max_parameters
        if limit:
            size = sum(math.prod(w.shape) for w in model.trainable_weights)
            if size > limit:
                raise TrialFailed(f"the model has {size:,} weights, more than the size limit ({limit:,})")
        carried = hp.values.get("tuner/trial_id")
        if carried:  # Hyperband carries a trial on from an earlier one's best weights
            model.load_weights(self.checkpoint_path(str(carried)))
        os.makedirs(self.trial_dir(state.trial_id), exist_ok=True)
        with open(os.path.join(self.trial_dir(state.trial_id), "build_config.json"), "w") as f:
            json.dump(model.get_build_config(), f)
        return model

    def _fit_alone(self, state: TrialState, member: Member, epochs: int, initial_epoch: int, last: bool) -> None:
        """One run of one trial through the hypermodel's own ``fit``."""
        kwargs = dict(self.fit_kwargs, epochs=epochs, initial_epoch=initial_epoch, callbacks=member.callbacks)
        kwargs.setdefault("verbose", 0)
        try:
            member.history = self.hypermodel.fit(state.trial.hyperparameters, member.model, *self.fit_args, **kwargs)
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
        state.histories.append(member.history)
        if last_run or state.cut:
            self._complete(state)

    def _complete(self, state: TrialState) -> None:
        """Reports the trial's runs to the oracle and ends it."""
        try:
            metrics, step = trial_metrics(state.histories, self.settings.objective)
        except TrialFailed as e:
            self._fail(state, e)
            return
        self.oracle.update_trial(state.trial_id, metrics, step=step)
        state.trial.status = COMPLETED
        self._end(state)

    def _fail(self, state: TrialState, error: BaseException) -> None:
        state.trial.status = FAILED
        state.trial.message = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        plain = isinstance(error, (TrialFailed, kt.errors.FailedTrialError))
        state.failure = str(error) if plain else f"{type(error).__name__}: {error}"
        self._end(state)

    def _end(self, state: TrialState) -> None:
        """Ends a trial in the oracle, saves the tuner's state (what a resume reloads), and says how it ended."""
        self.open.pop(state.trial_id, None)
        self.oracle.end_trial(state.trial)
        self.tuner.save()
        ended = self.oracle.get_trial(state.trial_id)
        if ended.status != COMPLETED:
            message = state.failure or "the objective was not a number"
            self.failed_in_row.append(message)
            self._publish_end(state, ended, TrialStatus.FAILED, message)
            return
        self.failed_in_row.clear()
        if state.stopped_after is not None:
            self._publish_end(
                state, ended, TrialStatus.USER_STOPPED, f"stopped by the user after epoch {state.stopped_after}"
            )
        elif state.pruned:
            self._publish_end(state, ended, TrialStatus.PRUNED, read_rule(self.trial_dir(state.trial_id)) or "pruned")
        else:
            self._publish_end(state, ended, TrialStatus.COMPLETED, "")

    def _publish_end(self, state: TrialState, trial: Any, status: TrialStatus, message: str) -> None:
        score = trial.score if status.has_score() else None
        best_step = trial.best_step if status.has_score() else None
        values = dict(trial.hyperparameters.values)
        declared = {k: v for k, v in values.items() if k not in state.values}  # by a hypermodel's own fit
        self.control.events.publish(
            TrialEnded(
                state.trial_id,
                status,
                None if score is None else float(score),
                None if best_step is None else int(best_step) + 1,
                time.time() - state.started,
                message,
                declared=declared or None,
            )
        )

    # ------------------------------------------------------------------ each epoch
    def epoch_ended(self, state: TrialState, model: Any, epoch: int, logs: dict[str, Any]) -> None:
        """An epoch of a trial's run: published, checked (a loss that is not a number fails the trial), drawn
        (a decision boundary), then the user's stops and pruning."""
        metrics = {k: float(v) for k, v in logs.items() if is_number(v)}
        events = self.control.events
        events.publish(EpochEnded(state.trial_id, epoch + 1, metrics, execution=state.run))
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
        """Pruning: the epoch's objective goes to the oracle, which may answer that the trial stops here.

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
        answer = self.oracle.update_trial(state.trial_id, {REPORT: sum(values) / len(values)}, step=step)
        if answer.status == STOPPED:
            state.pruned = True
            model.stop_training = True


class _Reporter(keras.callbacks.Callback):
    """Hands each epoch of one trial's run to its loop."""

    def __init__(self, loop: TrialLoop, state: TrialState):
        super().__init__()
        self.loop = loop
        self.state = state

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.loop.epoch_ended(self.state, self.model, epoch, logs or {})


__all__ = ["Control", "LoopSettings", "TrialLoop", "TrialState"]
