"""What a trial is made of, apart from its loop: how the loop trains (``LoopSettings``), a trial in training
(``TrialState``), its seeds, what it shares with others in a group, the metrics
it reports when it ends, its TensorBoard folders. Imports Keras."""

from __future__ import annotations

import hashlib
import os
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import keras

from .checkpoint import BestEpoch
from .outcomes import TrialFailed


@dataclass(frozen=True)
class LoopSettings:
    """How the loop trains: from the spec (``tunewidgets.engine.worker.kt_tuner.loop_settings``)."""

    objective: Any  # keras_tuner.Objective
    epochs: int  # per trial (Hyperband sets each trial's own in its hyperparameters)
    runs: int = 1  # models per trial: cross-validation folds, or runs averaged
    folds: int = 0
    fuse: int = 1  # trials taken from the oracle at once and trained together
    pruning: bool = False  # report each epoch's objective to the oracle, which may stop the trial
    seed: int | None = None  # the search's seed: each run's weights and the batches' order
    max_parameters: int | None = None  # a trial whose model has more trainable weights fails
    max_failures: int | None = None  # trials failed in a row (in this worker) that end the search
    grouped: bool = True  # through the group loop; else each trial through the hypermodel's own fit
    tensorboard: bool = False  # TensorBoard callbacks get a folder per trial and run, and the HParams view
    batch_size: int = 32  # a trial's batch size when it is no hyperparameter (your own model, fixed in the spec)


@dataclass(eq=False)
class TrialState:
    """One trial training in this worker."""

    trial: Any  # keras-tuner's Trial
    started: float
    checkpoint: BestEpoch | None  # one across the trial's runs (None where it does not train: a Dask task's)
    run: int = -1
    histories: list[Any] = field(default_factory=list)
    curve: dict[int, dict[int, float]] = field(default_factory=dict)  # the objective by run and epoch (pruning)
    pruned: bool = False
    stopped_after: int | None = None  # the epoch after which the user stopped this trial
    failure: str = ""  # why it failed, in one line
    trace: str = ""  # where it failed: the traceback, for keras-tuner's trial message
    values: dict[str, Any] = field(default_factory=dict)  # its hyperparameters' values when it began
    heard: bool = False  # an epoch of it was heard (the first is checked for the objective)

    @property
    def trial_id(self) -> str:
        return str(self.trial.trial_id)

    @property
    def cut(self) -> bool:
        """Ended early (pruned, or stopped by the user): its runs left are not trained."""
        return self.pruned or self.stopped_after is not None


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def slot_id(tuner_id: str, slot: int) -> str:
    """The tuner id slot ``slot`` of a worker asks the oracle under (the oracle hands each id one trial)."""
    return tuner_id if slot == 0 else f"{tuner_id}.{slot}"


def fit_shape(trial: Any, epochs: int, batch_size: int = 32) -> tuple[int, int, int]:
    """What the members of a group share: batch size (``batch_size`` when it is no hyperparameter), initial epoch,
    epochs (Hyperband sets its own)."""
    values = trial.hyperparameters.values
    return (
        int(values.get("batch_size", batch_size)),
        int(values.get("tuner/initial_epoch", 0)),
        int(values.get("tuner/epochs", epochs)),
    )


def groups(trials: Iterable[Any], epochs: int, batch_size: int = 32) -> list[list[Any]]:
    """Trials that can train together (same batch size and epochs), in the order they came."""
    out: dict[tuple[int, int, int], list[Any]] = {}
    for trial in trials:
        out.setdefault(fit_shape(trial, epochs, batch_size), []).append(trial)
    return list(out.values())


def hears_batches(callback: Any) -> bool:
    """Does a user's callback do anything at batch ends (so the group hands it each step's results)?"""
    base = keras.callbacks.Callback
    return any(getattr(type(callback), name, None) is not getattr(base, name) for name in _BATCH_HOOKS)


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


def best_epoch(history: Any, objective: Any) -> tuple[dict[str, float], int] | None:
    """A run's best epoch by the objective: its metrics and its index (None when the objective is missing)."""
    logs = getattr(history, "history", None) or {}
    if objective.name not in logs:
        return None
    epochs = len(logs[objective.name])
    best = 0
    for epoch in range(epochs):
        value = logs[objective.name][epoch]
        if objective.better_than(value, logs[objective.name][best]):
            best = epoch
    return {name: float(values[best]) for name, values in logs.items() if len(values) == epochs}, best


def as_history(result: Any, objective: str, heard: bool) -> Any:
    """What a hypermodel's own ``fit`` returned, as a History: a History as is, a dict of metrics or a number
    (the objective's value) as one epoch, as keras-tuner takes them. Raises :class:`TrialFailed` when it returned
    nothing and reported no epoch either."""
    if hasattr(result, "history"):
        return result
    if isinstance(result, dict):
        return SimpleNamespace(history={str(k): [float(v)] for k, v in result.items() if is_number(v)})
    if is_number(result) and not isinstance(result, bool):
        return SimpleNamespace(history={objective: [float(result)]})
    raise TrialFailed(
        f"the hypermodel's fit returned {type(result).__name__}"
        + ("" if heard else " and reported no epoch")
        + f": return its History, a dict of metrics, or the value of {objective} (as keras-tuner takes them)"
    )


def trial_metrics(histories: list[Any], objective: Any) -> tuple[dict[str, float], int]:
    """What a trial reports to the oracle when it ends: each metric at each run's best epoch, averaged over
    the runs, and the mean best epoch (as keras-tuner scores a trial's executions).

    Raises:
        TrialFailed: a run reported no value of the objective.
    """
    bests = [best_epoch(h, objective) for h in histories]
    if not bests or any(b is None for b in bests):
        raise TrialFailed(f"the model reported no {objective.name} (the objective): check its metrics")
    found = [b for b in bests if b is not None]
    names = set.intersection(*(set(m) for m, _ in found))
    metrics = {name: float(statistics.mean(m[name] for m, _ in found)) for name in names}
    return metrics, int(statistics.mean(step for _, step in found))


def with_trial_logs(callbacks: list[Any], trial: Any, run: int) -> list[Any]:
    """TensorBoard callbacks write into a folder per trial and run, with the trial's hyperparameters beside
    (TensorBoard's HParams view)."""
    out = list(callbacks)
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.TensorBoard):
            from tensorboard.plugins.hparams import api as hparams_api

            callback.log_dir = os.path.join(str(callback.log_dir), str(trial.trial_id), f"execution{run}")
            values = {k: v for k, v in trial.hyperparameters.values.items() if isinstance(v, (bool, int, float, str))}
            out.append(hparams_api.KerasCallback(writer=callback.log_dir, hparams=values, trial_id=trial.trial_id))
    return out


def is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


__all__ = [
    "LoopSettings",
    "TrialState",
    "as_history",
    "batch_seed",
    "best_epoch",
    "fit_shape",
    "groups",
    "hears_batches",
    "is_number",
    "slot_id",
    "trial_metrics",
    "trial_seed",
    "with_trial_logs",
]
