"""Fused trials in a worker: several trials taken from the oracle at once and trained together.

With ``tuner.fuse`` K > 1 a worker asks keras-tuner's oracle for up to K trials (one per slot: the
oracle hands each tuner id one trial at a time), groups those that train with the same batch size and
epochs, and trains each group as one computation (:func:`tunewidgets.model.group.train_group`). The
oracle sees K ordinary trials: each is begun, reported and ended exactly as keras-tuner's own loop
does it (``on_trial_begin``, ``update_trial`` with the best epoch of its runs, ``on_trial_end``), each
with its own seed, callbacks, best-epoch checkpoint and events, and each ends when it ends, while the
rest of its group trains on. Random, Bayesian, grid, TPE and Hyperband search work unchanged, with
parallel workers too. TensorFlow and JAX; on torch trials train one at a time.
"""

from __future__ import annotations

import functools
import gc
import os
import traceback
from collections.abc import Iterable
from typing import Any

import keras
from keras_tuner.src import errors as kt_errors
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.distribute import utils as dist_utils
from keras_tuner.src.engine import trial as trial_module
from keras_tuner.src.engine import tuner_utils
from keras_tuner.src.engine.tuner import maybe_compute_model_size

from ..events import TrialStatus
from ..model.group import BACKENDS, Member, train_group

#: Set to 1, trials train with ``Model.fit`` one at a time (keras-tuner's own loop), ``tuner.fuse`` aside.
MODEL_FIT_ENV = "TUNEWIDGETS_MODEL_FIT"
_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def slot_id(tuner_id: str, slot: int) -> str:
    """The tuner id slot ``slot`` of a worker asks the oracle under."""
    return tuner_id if slot == 0 else f"{tuner_id}.{slot}"


def hears_batches(callback: Any) -> bool:
    """Does a user's callback do anything at batch ends (so the group hands it each step's results)?"""
    base = keras.callbacks.Callback
    return any(getattr(type(callback), name, None) is not getattr(base, name) for name in _BATCH_HOOKS)


def fit_shape(trial: Any, epochs: int) -> tuple[int, int, int]:
    """What the members of a group share: batch size, initial epoch, epochs (Hyperband sets its own)."""
    values = trial.hyperparameters.values
    return (
        int(values["batch_size"]),
        int(values.get("tuner/initial_epoch", 0)),
        int(values.get("tuner/epochs", epochs)),
    )


def groups(trials: Iterable[Any], epochs: int) -> list[list[Any]]:
    """Trials that can train together (same batch size and epochs), in the order they came."""
    out: dict[tuple[int, int, int], list[Any]] = {}
    for trial in trials:
        out.setdefault(fit_shape(trial, epochs), []).append(trial)
    return list(out.values())


class FusedTrials:
    """Mixin over the hooked keras-tuner tuner (``tunewidgets.engine.tuner``): its search loop with
    ``tuner.fuse`` K > 1 takes up to K trials at a time and trains them in groups."""

    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        if not self._tw_in_groups(fit_args, fit_kwargs):
            super().search(*fit_args, **fit_kwargs)  # type: ignore[misc]
            return
        k = int(self._tw_search.spec.tuner.fuse)  # type: ignore[attr-defined]
        if "verbose" in fit_kwargs and not dist_utils.has_chief_oracle():  # as keras-tuner's own loop sets it
            self.oracle.verbose = fit_kwargs["verbose"]  # type: ignore[attr-defined]
        self.on_search_begin()  # type: ignore[attr-defined]
        more = True
        while more:
            trials, more = self._tw_take(k)
            for group in groups(trials, int(fit_kwargs["epochs"])):
                self._tw_train_group(group, fit_kwargs)
        self.on_search_end()  # type: ignore[attr-defined]

    def _tw_in_groups(self, fit_args: tuple[Any, ...], fit_kwargs: dict[str, Any]) -> bool:
        """Trials train through the group loop (a group of one included: measured faster than ``Model.fit``)
        on TensorFlow and JAX, when the spec's own model fits the data set's own arrays; a HyperModel with a
        ``fit`` of its own keeps it, one trial at a time. ``TUNEWIDGETS_MODEL_FIT=1`` trains every trial
        with ``Model.fit`` in keras-tuner's own loop instead (a baseline for the benchmarks, and a way
        around the group loop should a model need Keras' own)."""
        from ..model.hypermodel import SpecHyperModel

        hypermodel = self.hypermodel  # type: ignore[attr-defined]
        return (
            os.environ.get(MODEL_FIT_ENV, "") != "1"
            and keras.backend.backend() in BACKENDS
            and isinstance(hypermodel, SpecHyperModel)
            and type(hypermodel).fit is SpecHyperModel.fit
            and hypermodel.own_data(fit_args, fit_kwargs)
        )

    def _tw_take(self, k: int) -> tuple[list[Any], bool]:
        """Up to ``k`` trials from the oracle, and whether it may have more."""
        trials: list[Any] = []
        while len(trials) < k:
            if not trials:
                self.pre_create_trial()  # type: ignore[attr-defined]  # stop, retire, back off between IDLE answers
            trial = self.oracle.create_trial(slot_id(self.tuner_id, len(trials)))  # type: ignore[attr-defined]
            if trial.status == trial_module.TrialStatus.STOPPED:
                return trials, False
            if trial.status == trial_module.TrialStatus.IDLE:
                if trials:  # the oracle waits for results (Hyperband's rounds): train what there is
                    return trials, True
                continue
            self._tw_polls = 0
            trials.append(trial)
        return trials, True

    # ------------------------------------------------------------------ one group
    def _tw_train_group(self, group: list[Any], fit_kwargs: dict[str, Any]) -> None:
        for trial in group:
            self.on_trial_begin(trial)  # type: ignore[attr-defined]
        batch_size, initial_epoch, epochs = fit_shape(group[0], int(fit_kwargs["epochs"]))
        self._tw_histories: dict[str, list[Any]] = {t.trial_id: [] for t in group}
        self._tw_open = {t.trial_id: t for t in group}  # begun, not ended
        try:
            for execution in range(self.executions_per_trial):  # type: ignore[attr-defined]
                live = [t for t in group if t.trial_id in self._tw_open]
                if not live:
                    break
                keras.backend.clear_session()  # once for the group, where keras-tuner clears before each build
                gc.collect()
                members: dict[Member, Any] = {}
                for trial in live:
                    member = self._tw_member(trial, execution, fit_kwargs)
                    if member is not None:
                        members[member] = trial
                if not members:
                    continue
                data = self.hypermodel.training_data(batch_size)  # type: ignore[attr-defined]
                last = execution == self.executions_per_trial - 1  # type: ignore[attr-defined]
                train_group(
                    list(members),
                    data,
                    epochs=epochs,
                    initial_epoch=initial_epoch,
                    fatal=(kt_errors.FatalError,),
                    on_end=functools.partial(self._tw_member_ended, members, last),
                )
        except (kt_errors.FatalError, KeyboardInterrupt) as e:
            message = "interrupted" if isinstance(e, KeyboardInterrupt) else str(e)
            for trial in list(self._tw_open.values()):  # the rest of the group: cut off, run again on resume
                self._publish_end(trial, TrialStatus.STOPPED, message)  # type: ignore[attr-defined]
            self._tw_open = {}
            raise

    def _tw_member(self, trial: Any, execution: int, fit_kwargs: dict[str, Any]) -> Member | None:
        """A trial's model for this run (its seed, its callbacks), or None when it could not be built."""
        self._start_run(trial)  # type: ignore[attr-defined]  # its weights' seed, the fold, the batch order
        try:
            model = self._build_hypermodel(trial.hyperparameters)  # type: ignore[attr-defined]
            size = maybe_compute_model_size(model)
            if self.max_model_size and size > self.max_model_size:  # type: ignore[attr-defined]
                raise kt_errors.FailedTrialError(f"Oversized model: {size} parameters. Skip model.")
            kt_utils.save_json(self._get_build_config_fname(trial.trial_id), model.get_build_config())  # type: ignore[attr-defined]
        except kt_errors.FatalError:
            raise
        except Exception as e:  # noqa: BLE001 - as keras-tuner records a trial that fails to build
            self._tw_fail(trial, e)
            return None
        callbacks = self._deepcopy_callbacks(fit_kwargs.get("callbacks", []))  # type: ignore[attr-defined]
        self._configure_tensorboard_dir(callbacks, trial, execution)  # type: ignore[attr-defined]
        batch_callbacks = [c for c in callbacks if hears_batches(c)]
        callbacks.append(tuner_utils.TunerCallback(self, trial))
        callbacks.append(self._checkpoint(trial))  # type: ignore[attr-defined]  # one across the trial's runs
        callbacks.extend(self.hypermodel.fit_callbacks())  # type: ignore[attr-defined]
        return Member(model, callbacks, batch_callbacks)

    def _tw_member_ended(self, members: dict[Member, Any], last_run: bool, member: Member) -> None:
        trial = members[member]
        if member.error is not None:
            self._tw_fail(trial, member.error)
            return
        self._tw_histories[trial.trial_id].append(member.history)
        cut = trial.trial_id in self._tw_pruned or trial.trial_id in self._tw_user_stopped  # type: ignore[attr-defined]
        if last_run or cut:
            self._tw_complete(trial)

    def _tw_complete(self, trial: Any) -> None:
        """Reports a trial's runs to the oracle and ends it, as keras-tuner's loop does."""
        results = self._tw_histories.pop(trial.trial_id)
        objective = self.oracle.objective  # type: ignore[attr-defined]
        try:
            tuner_utils.validate_trial_results(results, objective, "HyperModel.fit()")
            self.oracle.update_trial(  # type: ignore[attr-defined]
                trial.trial_id,
                tuner_utils.convert_to_metrics_dict(results, objective),
                step=tuner_utils.get_best_step(results, objective),
            )
            trial.status = trial_module.TrialStatus.COMPLETED
        except kt_errors.FatalError:
            raise
        except Exception as e:  # noqa: BLE001 - as keras-tuner records a trial whose results are unusable
            self._tw_fail(trial, e)
            return
        self._tw_end(trial)

    def _tw_fail(self, trial: Any, error: BaseException) -> None:
        failed = isinstance(error, kt_errors.FailedTrialError)
        trial.status = trial_module.TrialStatus.FAILED if failed else trial_module.TrialStatus.INVALID
        trial.message = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self._tw_end(trial)

    def _tw_end(self, trial: Any) -> None:
        self._tw_open.pop(trial.trial_id, None)
        self.on_trial_end(trial)  # type: ignore[attr-defined]


__all__ = ["MODEL_FIT_ENV", "FusedTrials", "fit_shape", "groups", "hears_batches", "slot_id"]
