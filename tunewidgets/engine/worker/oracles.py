"""Optuna inside keras-tuner's oracle: pruning hopeless trials (the median rule, ASHA) for any tuner but Hyperband.

The decisions live with the oracle, so they hold with parallel workers and workers on other
machines: every epoch a worker reports its trial's objective with keras-tuner's own
``Oracle.update_trial`` (over keras-tuner's gRPC protocol for a client); the oracle hands the value
to an Optuna study that mirrors its trials and asks Optuna's pruner; a trial to prune comes back
with the status ``STOPPED``, and its worker ends its training after that epoch. The rule that
stopped it is written beside the trial's keras-tuner files, where any worker sharing the folder
reads it. Optuna's pruners do the deciding (``MedianPruner``, ``SuccessiveHalvingPruner``); the
study is rebuilt from the oracle's trials after a restart, so nothing extra is kept.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from typing import Any, Literal, Protocol

import keras_tuner as kt
import optuna
from keras_tuner.engine.trial import TrialStatus as KtTrialStatus

from ...events import Direction
from . import private

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: A pruned trial's rule, in its keras-tuner trial folder.
RULE_FILE = "pruned.json"


def pruner(kind: str, min_epochs: int, factor: int) -> optuna.pruners.BasePruner:
    """Optuna's pruner for a spec's ``tuner.pruning`` (epochs are steps, counted from 1)."""
    if kind == "median":
        # n_startup_trials=1: once one trial has finished, others can be compared with it at each epoch
        return optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=min_epochs)
    if kind == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_epochs, reduction_factor=factor)
    return optuna.pruners.NopPruner()


def read_rule(trial_dir: str) -> str:
    """Why a trial was pruned, as its oracle wrote it ('' when it was not)."""
    try:
        with open(os.path.join(trial_dir, RULE_FILE), encoding="utf-8") as f:
            return str(json.load(f)["rule"])
    except (OSError, ValueError, KeyError):
        return ""


#: The metric name a worker reports an epoch's objective under, for pruning only: keras-tuner keeps its
#: own record of the trial (the final, averaged metrics) untouched.
REPORT = "tunewidgets/report"


class _Objective(Protocol):
    """What the mixin reads of keras-tuner's ``Objective``."""

    name: str
    direction: str


class _Trial(Protocol):
    """What the mixin reads and sets of keras-tuner's ``Trial``."""

    trial_id: str
    status: str
    score: float | None
    hyperparameters: Any


class PruningOracle:
    """Mixin over a keras-tuner oracle: a mirror Optuna study, and pruning decided as epochs are reported.

    A worker reports each epoch's objective as ``update_trial(trial_id, {REPORT: value}, step)``; steps
    count epochs from 1 through all the trial's runs (with cross-validation, run ``j``'s epoch ``e`` is
    step ``j * epochs + e`` and the value the mean over the folds trained so far). The reports are kept in
    the oracle's state, so the study is rebuilt exactly after a restart.
    """

    _tw_pruning = "none"
    _tw_min_epochs = 2
    _tw_factor = 3
    _tw_last_step = 0
    # what the mixin reads of the keras-tuner oracle it is mixed into (annotations only: nothing is set here)
    objective: _Objective
    trials: dict[str, _Trial]

    def tw_configure(self, kind: str, min_epochs: int, factor: int, last_step: int) -> None:
        self._tw_pruning, self._tw_min_epochs, self._tw_factor = kind, min_epochs, factor
        self._tw_last_step = last_step  # a trial at its last step has nothing left to save
        self._tw_study: optuna.Study | None = None
        self._tw_live: dict[str, optuna.Trial] = {}
        self._tw_curves: dict[str, dict[int, float]] = {}
        self._tw_pruned: set[str] = set()

    # ------------------------------------------------------------------ the mirror study
    def _direction(self) -> Literal["maximize", "minimize"]:
        return "maximize" if Direction(self.objective.direction) is Direction.MAX else "minimize"

    def _study(self) -> optuna.Study:
        """The Optuna study, built from the oracle's trials the first time (after a restart too)."""
        if self._tw_study is None:
            study = optuna.create_study(
                direction=self._direction(),
                sampler=self._tw_sampler(),
                pruner=pruner(self._tw_pruning, self._tw_min_epochs, self._tw_factor),
            )
            for trial in self.trials.values():
                if trial.status != KtTrialStatus.COMPLETED or trial.score is None:
                    continue
                pruned = trial.trial_id in self._tw_pruned
                params, distributions = self._tw_params(trial.hyperparameters.values)
                study.add_trial(
                    optuna.trial.create_trial(
                        state=optuna.trial.TrialState.PRUNED if pruned else optuna.trial.TrialState.COMPLETE,
                        value=None if pruned else float(trial.score),
                        intermediate_values=dict(self._tw_curves.get(trial.trial_id, {})),
                        params=params,
                        distributions=distributions,
                    )
                )
            self._tw_study = study
        return self._tw_study

    def _tw_sampler(self) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=0)  # never asked to sample: the study only prunes

    def _tw_params(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A trial's values as Optuna parameters with their distributions (none: the study only prunes)."""
        return {}, {}

    def _live(self, trial_id: str) -> optuna.Trial:
        live = self._tw_live.get(trial_id)
        if live is None:
            live = self._tw_live[trial_id] = self._study().ask()
        return live

    # ------------------------------------------------------------------ keras-tuner's calls
    @kt.synchronized
    def update_trial(self, trial_id: str, metrics: dict[str, Any], step: int = 0) -> Any:
        if REPORT not in metrics:  # keras-tuner's own update: the trial's final metrics
            return super().update_trial(trial_id, metrics, step)  # type: ignore[misc]
        trial = self.trials[trial_id]
        value, step = float(metrics[REPORT]), int(step)
        curve = self._tw_curves.setdefault(trial_id, {})
        if self._tw_pruning == "none" or trial_id in self._tw_pruned or step in curve or not math.isfinite(value):
            return trial
        curve[step] = value
        live = self._live(trial_id)
        live.report(value, step)
        if step < self._tw_last_step and live.should_prune():
            self._tw_pruned.add(trial_id)
            self._write_rule(trial_id, self._rule(trial_id, value, step))
            trial.status = KtTrialStatus.STOPPED  # the worker ends the trial after this epoch
        return trial

    @kt.synchronized
    def end_trial(self, trial: Any) -> None:
        super().end_trial(trial)  # type: ignore[misc]
        live = self._tw_live.pop(trial.trial_id, None)
        if live is None:
            return
        ended = self.trials[trial.trial_id]
        study = self._study()
        if trial.trial_id in self._tw_pruned:
            study.tell(live, state=optuna.trial.TrialState.PRUNED)
        elif ended.status == KtTrialStatus.COMPLETED and ended.score is not None:
            study.tell(live, float(ended.score))
        else:
            study.tell(live, state=optuna.trial.TrialState.FAIL)
            self._tw_curves.pop(trial.trial_id, None)  # a run tried again reports afresh

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()  # type: ignore[misc]
        state["tw_pruned"] = sorted(self._tw_pruned)
        state["tw_curves"] = {tid: {str(k): v for k, v in curve.items()} for tid, curve in self._tw_curves.items()}
        return dict(state)

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)  # type: ignore[misc]
        self._tw_pruned = set(state.get("tw_pruned", []))
        self._tw_curves = {
            tid: {int(k): float(v) for k, v in curve.items()} for tid, curve in state.get("tw_curves", {}).items()
        }
        self._tw_study = None  # rebuilt from the trials and their reports, the pruned ones marked

    # ------------------------------------------------------------------ the rule, in words
    def _rule(self, trial_id: str, value: float, step: int) -> str:
        name = self.objective.name
        if self._tw_pruning == "asha":
            return (
                f"its {name} at epoch {step} ({value:.4g}) was not among the best 1/{self._tw_factor} of the "
                f"trials that reached epoch {step} (asynchronous successive halving)"
            )
        finished = [
            self._tw_curves.get(t.trial_id, {}).get(step)
            for t in self.trials.values()
            if t.trial_id != trial_id and t.trial_id not in self._tw_pruned and t.status == KtTrialStatus.COMPLETED
        ]
        values = [v for v in finished if v is not None]
        so_far = [v for s, v in self._tw_curves.get(trial_id, {}).items() if s <= step] or [value]
        best = max(so_far) if self._direction() == "maximize" else min(so_far)
        median = statistics.median(values) if values else float("nan")
        side = "below" if self._direction() == "maximize" else "above"
        return (
            f"its best {name} so far ({best:.4g}) is {side} the median ({median:.4g}) "
            f"of {len(values)} finished trial{'s' if len(values) != 1 else ''} at epoch {step}"
        )

    def _write_rule(self, trial_id: str, rule: str) -> None:
        path = os.path.join(private.trial_dir(self, trial_id), RULE_FILE)
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"rule": rule}, f)
        os.replace(tmp, path)


def distribution(hp: Any) -> optuna.distributions.BaseDistribution | None:
    """Optuna's distribution for a keras-tuner hyperparameter (None for a fixed one)."""
    hps = kt.engine.hyperparameters
    if isinstance(hp, hps.Fixed):
        return None
    if isinstance(hp, hps.Boolean):
        return optuna.distributions.CategoricalDistribution([False, True])
    if isinstance(hp, hps.Choice):
        return optuna.distributions.CategoricalDistribution(list(hp.values))
    log = getattr(hp, "sampling", "linear") == "log"
    if isinstance(hp, hps.Int):
        int_step = 1 if log or not hp.step else int(hp.step)
        return optuna.distributions.IntDistribution(hp.min_value, hp.max_value, log=log, step=int_step)
    if isinstance(hp, hps.Float):
        float_step = None if log or not hp.step else float(hp.step)
        return optuna.distributions.FloatDistribution(hp.min_value, hp.max_value, log=log, step=float_step)
    raise TypeError(f"no Optuna distribution for {type(hp).__name__}")  # pragma: no cover


def _ask(live: optuna.Trial, name: str, dist: optuna.distributions.BaseDistribution) -> Any:
    """One value from Optuna, through its public ``suggest_*`` calls."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return live.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, optuna.distributions.IntDistribution):
        return live.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    assert isinstance(dist, optuna.distributions.FloatDistribution)
    return live.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


class TPEOracle(PruningOracle, kt.Oracle):
    """keras-tuner's oracle backed by Optuna's TPE sampler, over the spec's whole space.

    Conditional knobs (momentum only under SGD) are asked for only when their condition holds, as
    keras-tuner's scopes say, so TPE models each where it applies. With several workers, running
    trials count as bad ones until they report (Optuna's constant liar), so the workers do not crowd
    one region. The first ``num_initial_points`` trials are random. Resumable: the study is rebuilt
    from the trials on disk.
    """

    def __init__(self, *, num_initial_points: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.num_initial_points = num_initial_points

    def _tw_sampler(self) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(
            seed=int(self.seed) % 2**32, n_startup_trials=self.num_initial_points, constant_liar=True
        )

    def _tw_params(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        params, distributions = {}, {}
        for hp in self.hyperparameters.space:
            dist = distribution(hp)
            if dist is not None and hp.name in values:
                params[hp.name], distributions[hp.name] = values[hp.name], dist
        return params, distributions

    def _suggest(self, live: optuna.Trial) -> dict[str, Any]:
        hps = kt.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            dist = distribution(hp)
            hps.values[hp.name] = hp.value if dist is None else _ask(live, hp.name, dist)
        return dict(hps.values)

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        study = self._study()
        for _ in range(20):
            live = study.ask()
            values = self._suggest(live)
            if not private.duplicate(self, values):
                self._tw_live[trial_id] = live
                return {"status": KtTrialStatus.RUNNING, "values": values}
            study.tell(live, state=optuna.trial.TrialState.FAIL)  # already tried: TPE does not learn from it
        drawn = private.random_values(self)  # TPE keeps proposing tried values (a small space): a new one at random
        if drawn is None:
            return {"status": KtTrialStatus.STOPPED, "values": None}
        values = drawn
        study.enqueue_trial(self._tw_params(values)[0])
        live = study.ask()
        self._suggest(live)
        self._tw_live[trial_id] = live
        return {"status": KtTrialStatus.RUNNING, "values": values}

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["num_initial_points"] = self.num_initial_points
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.num_initial_points = state.get("num_initial_points", self.num_initial_points)


_BASES = {"random": "RandomSearchOracle", "bayesian": "BayesianOptimizationOracle", "grid": "GridSearchOracle"}
_CLASSES: dict[str, type] = {}


def oracle_class(algorithm: str) -> type:
    """keras-tuner's oracle for ``algorithm`` with pruning mixed in (Hyperband prunes in its own way)."""
    if algorithm == "tpe":
        return TPEOracle
    if algorithm not in _CLASSES:
        base = getattr(kt.oracles, _BASES[algorithm])  # looked up late: the Bayesian module may be reloaded
        _CLASSES[algorithm] = type(f"TW{base.__name__}", (PruningOracle, base), {})
    return _CLASSES[algorithm]


__all__ = ["REPORT", "RULE_FILE", "PruningOracle", "TPEOracle", "distribution", "oracle_class", "pruner", "read_rule"]
