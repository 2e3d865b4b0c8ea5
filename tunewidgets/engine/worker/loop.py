"""One worker's trial loop: trials taken from keras-tuner's oracle, trained here, ended in the oracle.

:class:`TrialLoop` takes trials from keras-tuner's oracle (up to ``fuse`` at a time, one tuner id per slot),
groups those with the same batch size and epochs and trains each group with a
:class:`~tunewidgets.engine.worker.trainer.Trainer`; :class:`OracleReferee` is the oracle's side of every
trial's end (pruning answers, ``update_trial`` / ``end_trial``, the saved tuner, the ``TrialEnded`` event),
the same whether the trial trained in this process or on a Dask worker
(:mod:`tunewidgets.engine.worker.driver`). keras-tuner is used through its public API only:
``Oracle.create_trial`` / ``update_trial`` / ``end_trial`` / ``get_trial``, ``Objective``, ``Tuner.save``.
Its parts talk through typed exceptions and fields, never through message text.
"""

from __future__ import annotations

import time
from typing import Any

from keras_tuner.engine.trial import TrialStatus as KtTrialStatus

from ...events import TrialEnded, TrialStarted, TrialStatus
from ..folder.tuner_files import TunerFolder
from .oracles import REPORT, read_rule
from .outcomes import Retire, StopRequested, TooManyFailures
from .trainer import Control, Trainer
from .trials import LoopSettings, TrialState, groups, slot_id


class OracleReferee:
    """keras-tuner's oracle deciding a trial's fate: pruning answers, and each trial's end recorded and told.

    Args:
        tuner: keras-tuner's ``Tuner`` keeping the oracle (``oracle``, ``project_dir``, ``save()``).
        control: where the ends are published (``events``).
        max_failures: trials failed in a row that end the search (:meth:`check_failures`).
    """

    def __init__(self, tuner: Any, control: Control, max_failures: int | None):
        self.tuner = tuner
        self.oracle = tuner.oracle
        self.control = control
        self.max_failures = max_failures
        self.failed_in_row: list[str] = []  # the messages of the trials that failed since one succeeded

    def prune(self, state: TrialState, value: float, step: int) -> bool:
        answer = self.oracle.update_trial(state.trial_id, {REPORT: value}, step=step)
        return bool(answer.status == KtTrialStatus.STOPPED)

    def complete(self, state: TrialState, metrics: dict[str, float], step: int) -> None:
        self.oracle.update_trial(state.trial_id, metrics, step=step)
        state.trial.status = KtTrialStatus.COMPLETED
        self._end(state)

    def fail(self, state: TrialState) -> None:
        state.trial.status = KtTrialStatus.FAILED
        state.trial.message = state.trace or state.failure
        self._end(state)

    def cut(self, state: TrialState, message: str) -> None:
        self.publish_end(state, state.trial, TrialStatus.STOPPED, message)

    def check_failures(self) -> None:
        """Raises :class:`TooManyFailures` once ``max_failures`` trials failed in a row."""
        limit = self.max_failures
        if limit and len(self.failed_in_row) >= limit:
            raise TooManyFailures(
                f"{len(self.failed_in_row)} trials failed in a row, the limit (tuner.max_consecutive_failed_trials); "
                f"the last: {self.failed_in_row[-1]}"
            )

    def _end(self, state: TrialState) -> None:
        """Ends a trial in the oracle, saves the tuner's state (what a resume reloads), and says how it ended."""
        self.oracle.end_trial(state.trial)
        self.tuner.save()
        ended = self.oracle.get_trial(state.trial_id)
        if ended.status != KtTrialStatus.COMPLETED:
            message = state.failure or "the objective was not a number"
            self.failed_in_row.append(message)
            self.publish_end(state, ended, TrialStatus.FAILED, message)
            return
        self.failed_in_row.clear()
        if state.stopped_after is not None:
            self.publish_end(
                state, ended, TrialStatus.USER_STOPPED, f"stopped by the user after epoch {state.stopped_after}"
            )
        elif state.pruned:
            rule = read_rule(str(TunerFolder(self.tuner.project_dir).trial_dir(state.trial_id))) or "pruned"
            self.publish_end(state, ended, TrialStatus.PRUNED, rule)
        else:
            self.publish_end(state, ended, TrialStatus.COMPLETED, "")

    def publish_end(self, state: TrialState, trial: Any, status: TrialStatus, message: str) -> None:
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


class TrialLoop:
    """Trains the trials keras-tuner's oracle hands this worker, until it has none left.

    Args:
        tuner: keras-tuner's ``Tuner`` for this project (it sets up, reloads and saves the oracle, and makes a
            client of it in a worker of a chief); the loop reads ``oracle``, ``tuner_id``, ``project_dir`` and
            calls ``save()``.
        hypermodel, settings, fit_args, fit_kwargs, callbacks, boundary: how trials train
            (:class:`~tunewidgets.engine.worker.trainer.Trainer`).
        control: the worker's event bus and stop checks (:class:`Control`).
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
        self.settings = settings
        self.control = control
        self.referee = OracleReferee(tuner, control, settings.max_failures)
        self.trainer = Trainer(
            hypermodel,
            settings,
            control,
            self.referee,
            str(tuner.project_dir),
            fit_args=fit_args,
            fit_kwargs=fit_kwargs,
            callbacks=callbacks,
            boundary=boundary,
        )

    @property
    def tuner_id(self) -> str:
        return str(self.tuner.tuner_id)

    def run(self) -> None:
        """Trains until the oracle has no trial left. Raises :class:`StopRequested` or :class:`Retire`."""
        more = True
        while more:
            trials, more = self._take(self.settings.fuse if self.settings.grouped else 1)
            for group in groups(trials, self.settings.epochs, self.settings.batch_size):
                states = [self.trainer.begin(trial) for trial in group]
                for state in states:
                    self.control.events.publish(TrialStarted(state.trial_id, state.values, worker=self.tuner_id))
                self.trainer.train(states)
                self.referee.check_failures()

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
            if trial.status == KtTrialStatus.STOPPED:
                return trials, False
            if trial.status == KtTrialStatus.IDLE:
                if trials:
                    return trials, True
                polls += 1
                continue
            trials.append(trial)
        return trials, True


__all__ = ["Control", "LoopSettings", "OracleReferee", "TrialLoop", "TrialState"]
