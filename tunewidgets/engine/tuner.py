"""keras-tuner tuners wired to tunewidgets events. Imports Keras: load it lazily.

The bridge is keras-tuner's own: ``TunerCallback`` forwards each epoch to
``Tuner.on_epoch_end``, and ``BaseTuner`` calls ``on_trial_begin`` /
``on_trial_end``. Overriding those hooks (rather than passing a callback to
``search``, which keras-tuner deep-copies per trial) keeps one live connection to
the search's event bus.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import keras_tuner as kt
from keras_tuner.src import errors as kt_errors
from keras_tuner.src.engine import tuner_utils

from ..events import BoundaryUpdated, EpochEnded, EventBus, TrialEnded, TrialStarted, TrialStatus
from ..spec import Spec
from ..spec.budget import planned_trials, random_starts, search_space_size
from ..spec.size import max_parameters
from ..spec.space import epochs_per_trial, folds, runs_per_trial
from ..spec.validate import resolve_objective
from .checkpoint import DeferredBestEpoch
from .fused import FusedTrials
from .lean import bayesian_ready
from .oracles import REPORT, oracle_class, read_rule


class TrialContext(Protocol):
    """What the tuner hooks need from the process they train in (see ``tunewidgets.engine.worker.WorkerContext``)."""

    spec: Spec
    events: EventBus

    @property
    def stop_requested(self) -> bool: ...

    def should_retire(self) -> bool: ...

    def trial_stop_requested(self, trial_id: str) -> bool: ...

    def trial_started(self) -> None: ...


class StopRequested(kt_errors.FatalError):
    """Raised inside the search loop when the user asked to stop."""


class TooManyFailures(kt_errors.FatalError):
    """keras-tuner's limit of consecutive failed trials was reached."""


class Retire(kt_errors.FatalError):
    """This worker process has trained enough; a fresh one takes over (see ``tunewidgets.engine.worker``)."""


def short_message(text: str | None) -> str:
    """The last line of a traceback, without the exception's module path."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    match = re.match(r"^([\w.]+):\s*(.*)$", last)
    if match:
        cls = match.group(1).rsplit(".", 1)[-1]
        return match.group(2) if cls == "FailedTrialError" else f"{cls}: {match.group(2)}"
    return last


class _EventHooks:
    """Mixin over a keras-tuner Tuner: publishes events, honours stop requests."""

    _tw_search: TrialContext

    def _tw_init(self, search: TrialContext) -> None:
        self._tw_search = search
        self._tw_trials: dict[str, TrialRuns] = {}  # the trials training in this worker (several when fused)
        self._tw_polls = 0  # trial requests since the last trial began (IDLE answers in between)
        self._tw_pruned: set[str] = set()  # trials the oracle pruned
        self._tw_user_stopped: dict[str, int] = {}  # trials the user stopped, and after which epoch

    def pre_create_trial(self) -> None:
        if self._tw_search.stop_requested:
            raise StopRequested("stopped before the next trial")
        if self._tw_search.should_retire():
            raise Retire("this process retires; another takes over")
        # The oracle answers IDLE while it waits for other workers (Hyperband between rounds, grid search
        # filling in values); keras-tuner asks again at once. Back off instead of spinning on the chief.
        self._tw_polls += 1
        if self._tw_polls > 1:
            time.sleep(min(0.5, 0.02 * self._tw_polls))
        super().pre_create_trial()  # type: ignore[misc]

    def on_trial_begin(self, trial: Any) -> None:
        self._tw_polls = 0
        self._tw_search.trial_started()
        super().on_trial_begin(trial)  # type: ignore[misc]
        self._tw_trials[trial.trial_id] = TrialRuns(time.time())
        self._tw_search.events.publish(
            TrialStarted(trial.trial_id, dict(trial.hyperparameters.values), worker=self.tuner_id)  # type: ignore[attr-defined]
        )

    def _start_run(self, trial: Any) -> None:
        """The next run (fold) of a trial: its fold and batch order on the hypermodel, its weights' seed set."""
        runs = self._tw_trials[trial.trial_id]
        runs.execution += 1
        spec = self._tw_search.spec
        self.hypermodel.fold = runs.execution if folds(spec) else None  # type: ignore[attr-defined]
        import keras

        # initial weights, dropout: Python's, NumPy's and the backend's generators
        keras.utils.set_random_seed(trial_seed(spec.tuner.seed, trial.trial_id, runs.execution))
        self.hypermodel.fit_seed = batch_seed(spec.tuner.seed, runs.execution)  # type: ignore[attr-defined]

    def _build_and_fit_model(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        self._start_run(trial)
        kwargs["callbacks"] = [self._deferred(trial, c) for c in kwargs.get("callbacks", [])]
        return super()._build_and_fit_model(trial, *args, **kwargs)  # type: ignore[misc]

    def _deferred(self, trial: Any, callback: Any) -> Any:
        """keras-tuner's best-epoch checkpoint, written once per run instead of at every improvement."""
        return self._checkpoint(trial) if type(callback) is tuner_utils.SaveBestEpoch else callback

    def _checkpoint(self, trial: Any) -> DeferredBestEpoch:
        """A trial's best-epoch checkpoint: one across its runs, so the best of them is kept."""
        runs = self._tw_trials[trial.trial_id]
        if runs.checkpoint is None:
            path = self._get_checkpoint_fname(trial.trial_id)  # type: ignore[attr-defined]
            runs.checkpoint = DeferredBestEpoch(self.oracle.objective, path)  # type: ignore[attr-defined]
        return runs.checkpoint

    def on_epoch_end(self, trial: Any, model: Any, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(trial, model, epoch, logs=logs)  # type: ignore[misc]
        metrics = {k: float(v) for k, v in (logs or {}).items() if _is_number(v)}
        execution = self._tw_trials[trial.trial_id].execution
        events = self._tw_search.events
        events.publish(EpochEnded(trial.trial_id, epoch + 1, metrics, execution=execution))
        loss = metrics.get("loss")
        if loss is not None and not math.isfinite(loss):
            raise kt_errors.FailedTrialError(f"loss became {loss} at epoch {epoch + 1}")
        grid = self._tw_boundary()
        if grid is not None:  # two-input classification: the decision boundary, for the views
            values = grid.values(model)
            events.publish(
                BoundaryUpdated(trial.trial_id, epoch + 1, values, grid.x_range, grid.y_range, grid.shows, execution)
            )
        if self._tw_search.stop_requested:
            raise StopRequested(f"stopped after epoch {epoch + 1}")
        if self._tw_search.trial_stop_requested(trial.trial_id):
            self._tw_user_stopped[trial.trial_id] = epoch + 1
            model.stop_training = True  # the trial ends here, scored by its best epoch so far; the search goes on
            return
        self._report(trial, model, epoch + 1, metrics)

    _tw_grid: Any = None

    def _tw_boundary(self) -> Any:
        """The decision boundary's grid when the data has two inputs and classes (else None)."""
        if self._tw_grid is None:
            from ..model.boundary import BoundaryGrid, applies

            dataset = getattr(self.hypermodel, "dataset", None)  # type: ignore[attr-defined]
            self._tw_grid = BoundaryGrid(dataset) if dataset is not None and applies(dataset) else False
        return self._tw_grid or None

    def _report(self, trial: Any, model: Any, epoch: int, metrics: dict[str, float]) -> None:
        """Pruning: the epoch's objective goes to the oracle, which may answer that the trial stops here.

        With cross-validation the steps run through the folds (fold ``j``'s epoch ``e`` is step
        ``j * epochs + e``) and the value is the mean over the folds trained so far at that epoch.
        """
        spec = self._tw_search.spec
        name = self.oracle.objective.name  # type: ignore[attr-defined]
        k = folds(spec)
        runs = self._tw_trials[trial.trial_id]
        if spec.tuner.pruning == "none" or name not in metrics or (runs.execution != 0 and not k):
            return
        run = max(0, runs.execution)
        runs.curve.setdefault(run, {})[epoch] = metrics[name]
        earlier = [runs.curve[j] for j in range(run)]
        values = [c.get(epoch, c[max(c)]) for c in earlier if c] + [metrics[name]]
        step = run * epochs_per_trial(spec) + epoch
        report = {REPORT: sum(values) / len(values)}
        answer = self.oracle.update_trial(trial.trial_id, report, step=step)  # type: ignore[attr-defined]
        if answer.status == "STOPPED":
            self._tw_pruned.add(trial.trial_id)
            model.stop_training = True

    def _try_run_and_update_trial(self, trial: Any, *args: Any, **kwargs: Any) -> None:
        try:
            super()._try_run_and_update_trial(trial, *args, **kwargs)  # type: ignore[misc]
        except StopRequested as e:
            self._publish_end(trial, TrialStatus.STOPPED, str(e))
            raise
        except KeyboardInterrupt:
            self._publish_end(trial, TrialStatus.STOPPED, "interrupted")
            raise

    def on_trial_end(self, trial: Any) -> None:
        failure: Exception | None = None
        try:
            super().on_trial_end(trial)  # type: ignore[misc]
        except Exception as e:  # RuntimeError here; an RPC error carrying it in a worker of a chief
            if "consecutive failures" not in str(e):
                raise
            failure = e
        ended = self.oracle.get_trial(trial.trial_id)  # type: ignore[attr-defined]
        status = TrialStatus.COMPLETED if ended.status == "COMPLETED" else TrialStatus.FAILED
        message = short_message(ended.message) if status is TrialStatus.FAILED else ""
        if status is TrialStatus.COMPLETED and trial.trial_id in self._tw_user_stopped:
            status = TrialStatus.USER_STOPPED
            message = f"stopped by the user after epoch {self._tw_user_stopped[trial.trial_id]}"
        elif status is TrialStatus.COMPLETED and trial.trial_id in self._tw_pruned:
            status = TrialStatus.PRUNED
            trial_dir = os.path.join(self.project_dir, f"trial_{trial.trial_id}")  # type: ignore[attr-defined]
            message = read_rule(trial_dir) or "pruned"
        oversized = re.match(r"Oversized model: (\d+) parameters", message)
        if oversized:
            limit = max_parameters(self._tw_search.spec)
            message = f"the model has {int(oversized.group(1)):,} weights, more than the size limit ({limit:,})"
        if status is TrialStatus.FAILED and not message:
            message = "the objective was not a number"
        self._publish_end(ended, status, message)
        if failure is not None:
            text = str(failure)  # in a worker of a chief, the RPC error's text carries the oracle's message
            first = text[max(0, text.find("Number of consecutive failures")) :].splitlines()[0]
            raise TooManyFailures(f"{first} (last failure: {message})")

    def _publish_end(self, trial: Any, status: TrialStatus, message: str) -> None:
        runs = self._tw_trials.pop(trial.trial_id, None)
        started = runs.started if runs is not None else time.time()
        score = trial.score if status.has_score() else None
        best_step = trial.best_step if status.has_score() else None
        self._tw_search.events.publish(
            TrialEnded(
                trial.trial_id,
                status,
                None if score is None else float(score),
                None if best_step is None else int(best_step) + 1,
                time.time() - started,
                message,
            )
        )


@dataclass
class TrialRuns:
    """A trial training in this worker: when it began, its current run (fold), its best-epoch checkpoint
    (one across its runs) and its objective by run and epoch (for pruning)."""

    started: float
    execution: int = -1
    checkpoint: DeferredBestEpoch | None = None
    curve: dict[int, dict[int, float]] = field(default_factory=dict)


def batch_seed(search_seed: int | None, execution: int) -> int:
    """The order of the training rows in run ``execution`` of every trial of a search.

    One order for all the trials of a search (a function of its seed and the run only): trials are
    compared on the same batches, and trials trained together (``tuner.fuse``) share their batches
    without changing a trial's result. Without a search seed, a fresh order each time.
    """
    return trial_seed(search_seed, "batches", execution)


def trial_seed(search_seed: int | None, trial_id: str, execution: int) -> int:
    """The seed of one run of one trial: a function of the search's seed, the trial and the run only.

    So a trial starts from the same weights and sees the same batches whichever worker trains it, in
    whatever order, and again on resume. Without a search seed, every run gets a fresh one.
    """
    if search_seed is None:
        return int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
    digest = hashlib.blake2b(f"{search_seed}/{trial_id}/{execution}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


class _RunsUntilEnded:
    """Mixin over keras-tuner's ``Tuner``: its ``run_trial`` loop over the runs (folds), which ends when the
    trial was pruned or stopped by the user, so the folds left are not trained (Hyperband keeps its own)."""

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> list[Any]:
        original = kwargs.pop("callbacks", [])
        histories = []
        for execution in range(self.executions_per_trial):  # type: ignore[attr-defined]
            if trial.trial_id in self._tw_pruned or trial.trial_id in self._tw_user_stopped:  # type: ignore[attr-defined]
                break
            copied = dict(kwargs)
            callbacks = self._deepcopy_callbacks(original)  # type: ignore[attr-defined]
            self._configure_tensorboard_dir(callbacks, trial, execution)  # type: ignore[attr-defined]
            callbacks.append(tuner_utils.TunerCallback(self, trial))
            callbacks.append(self._checkpoint(trial))  # type: ignore[attr-defined]  # the best across every run
            copied["callbacks"] = callbacks
            histories.append(self._build_and_fit_model(trial, *args, **copied))  # type: ignore[attr-defined]
        return histories


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


_BASES = {"hyperband": kt.Hyperband, "tuner": kt.Tuner}  # the others: a plain Tuner given its oracle
_CLASSES: dict[str, type] = {}


def oracle_seed(seed: int | None) -> int | None:
    """keras-tuner's seed for a spec's: keras-tuner reads 0 as "no seed" (``seed or random``), so 0 maps
    to 2**31, which the spec does not allow."""
    return 2**31 if seed == 0 else seed


def tuner_class(algorithm: str) -> type:
    if algorithm not in _CLASSES:
        base = _BASES[algorithm]
        mixins = (FusedTrials, _EventHooks, _RunsUntilEnded) if base is kt.Tuner else (FusedTrials, _EventHooks)
        _CLASSES[algorithm] = type(f"TW{base.__name__}", (*mixins, base), {})
    return _CLASSES[algorithm]


def make_tuner(search: TrialContext, hypermodel: Any, task: str, directory: str, project_name: str) -> Any:
    """The keras-tuner tuner a spec asks for, with events going to ``search``."""
    spec = search.spec
    t = spec.tuner
    objective, direction = resolve_objective(spec, task)
    common: dict[str, Any] = dict(
        hypermodel=hypermodel,
        max_model_size=max_parameters(spec),  # a backstop: validation already refused a space that exceeds it
        executions_per_trial=runs_per_trial(spec),  # with folds: one run per fold, averaged epoch by epoch
        directory=directory,
        project_name=project_name,
        overwrite=False,
    )
    oracle_kwargs: dict[str, Any] = dict(
        objective=kt.Objective(objective, direction=direction),
        seed=oracle_seed(t.seed),
        max_consecutive_failed_trials=t.max_consecutive_failed_trials,
    )
    cls: Any
    if t.algorithm == "hyperband":
        cls = tuner_class("hyperband")
        kwargs = dict(common, **oracle_kwargs)
        kwargs.update(max_epochs=t.max_epochs, factor=t.factor, hyperband_iterations=t.hyperband_iterations)
    else:
        # random, Bayesian and grid search train exactly the planned trials: every combination of a space
        # smaller than max_trials, and no more; their oracle prunes hopeless trials when asked to
        oracle_kwargs["max_trials"] = planned_trials(spec)
        if t.algorithm == "bayesian":
            bayesian_ready()  # a worker imported keras-tuner without the oracle's scikit-learn and SciPy
        if t.algorithm in ("bayesian", "tpe"):
            oracle_kwargs["num_initial_points"] = random_starts(spec)
        oracle = oracle_class(t.algorithm)(**oracle_kwargs)
        last_step = epochs_per_trial(spec) * (folds(spec) or 1)
        oracle.tw_configure(t.pruning, t.pruning_min_epochs, t.pruning_factor, last_step)
        cls = tuner_class("tuner")
        kwargs = dict(common, oracle=oracle)
    tuner = cls.__new__(cls)
    tuner._tw_init(search)  # the hooks need the context before keras-tuner's constructor reloads a project
    cls.__init__(tuner, **kwargs)
    size = search_space_size(spec)
    if math.isfinite(size) and hasattr(tuner.oracle, "_max_collisions"):
        # keras-tuner's random sampling gives up after 20 draws of values already tried, which can end a
        # search of a small space before it tried every combination: draw until the last one is found
        tuner.oracle._max_collisions = int(min(100_000, max(20, 50 * size)))
    return tuner
