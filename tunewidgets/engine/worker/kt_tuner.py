"""keras-tuner's side of a worker: the oracle a spec asks for, and keras-tuner's ``Tuner`` that keeps it.

keras-tuner's public ``Tuner`` constructor sets the oracle up in the project folder, reloads it on resume
and, in a worker of a chief, makes it a client of the chief's (``KERASTUNER_*`` variables); the trials
themselves are trained by :class:`~tunewidgets.engine.worker.loop.TrialLoop`, never by ``Tuner.search``.
Imports Keras: load it lazily.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import keras
import keras_tuner as kt

from ...model.group import BACKENDS
from ...spec import Fixed, Spec
from ...spec.budget import planned_trials, random_starts, search_space_size
from ...spec.size import max_parameters
from ...spec.space import epochs_per_trial, folds, runs_per_trial
from ...spec.validate import resolve_objective
from ..folder.project import Project
from . import private
from .lean import bayesian_ready
from .loop import LoopSettings
from .oracles import oracle_class

#: Set to 1, every trial trains through the hypermodel's ``fit`` (``Model.fit``), one at a time: the
#: benchmarks' baseline for the group loop, and a way around it should a model need Keras' own loop.
MODEL_FIT_ENV = "TUNEWIDGETS_MODEL_FIT"


def oracle_seed(seed: int | None) -> int | None:
    """keras-tuner's seed for a spec's: keras-tuner reads 0 as "no seed" (``seed or random``), so 0 maps
    to 2**31, which the spec does not allow."""
    return 2**31 if seed == 0 else seed


def make_oracle(spec: Spec, task: str, hyperparameters: Any = None) -> Any:
    """The keras-tuner oracle a spec asks for (random, Bayesian, grid and TPE prune when asked to).

    ``hyperparameters``: the user's overrides of their own hypermodel's (keras-tuner's "Tailor the search
    space": the others are searched as the hypermodel declares them)."""
    t = spec.tuner
    objective, direction = resolve_objective(spec, task)
    common: dict[str, Any] = dict(
        objective=kt.Objective(objective, direction=direction),
        seed=oracle_seed(t.seed),
        # failures in a row are counted by the trial loop (a typed end, not keras-tuner's RuntimeError text)
        max_consecutive_failed_trials=None,
    )
    hm = spec.hypermodel
    if hyperparameters is not None or (hm is not None and not (hm.tune_new_entries and hm.allow_new_entries)):
        tune, allow = (hm.tune_new_entries, hm.allow_new_entries) if hm is not None else (True, True)
        common.update(hyperparameters=hyperparameters, tune_new_entries=tune, allow_new_entries=allow)
    if t.algorithm == "hyperband":
        oracle = kt.oracles.HyperbandOracle(
            max_epochs=t.max_epochs, factor=t.factor, hyperband_iterations=t.hyperband_iterations, **common
        )
    else:
        # random, Bayesian and grid search train exactly the planned trials: every combination of a space
        # smaller than max_trials, and no more
        common["max_trials"] = planned_trials(spec)
        if t.algorithm == "bayesian":
            bayesian_ready()  # a worker imported keras-tuner without the oracle's scikit-learn and SciPy
        if t.algorithm in ("bayesian", "tpe"):
            common["num_initial_points"] = random_starts(spec)
        oracle = oracle_class(t.algorithm)(**common)
        last_step = epochs_per_trial(spec) * (folds(spec) or 1)
        oracle.tw_configure(t.pruning, t.pruning_min_epochs, t.pruning_factor, last_step)
    oracle.verbose = 0  # keras-tuner's display would print every trial into the worker's log
    size = search_space_size(spec)
    if math.isfinite(size):
        # keras-tuner's random sampling gives up after 20 draws of values already tried, which can end a
        # search of a small space before it tried every combination: draw until the last one is found
        private.set_max_collisions(oracle, int(min(100_000, max(20, 50 * size))))
    return oracle


def make_tuner(
    spec: Spec, hypermodel: Any, task: str, directory: str, project_name: str, hyperparameters: Any = None
) -> Any:
    """keras-tuner's ``Tuner`` holding the spec's oracle in ``directory/project_name`` (reloaded when there);
    its state files are written whole or not at all (a full disk leaves the last whole one)."""
    private.write_state_whole()
    return kt.Tuner(
        oracle=make_oracle(spec, task, hyperparameters),
        hypermodel=hypermodel,
        directory=directory,
        project_name=project_name,
        overwrite=False,
    )


def grouped(hypermodel: Any) -> bool:
    """Do trials train through the group loop (a group of one included: measured faster than ``Model.fit``)?

    On TensorFlow and JAX, for the spec's own model (a hypermodel with a ``fit`` of its own keeps it, one
    trial at a time), unless ``TUNEWIDGETS_MODEL_FIT=1``.
    """
    from ...model.spec_hypermodel import SpecHyperModel
    from ...model.user import UserHyperModel

    ours = isinstance(hypermodel, SpecHyperModel) and type(hypermodel).fit is SpecHyperModel.fit
    theirs = isinstance(hypermodel, UserHyperModel) and not hypermodel.own_fit  # keras-tuner's default fit
    return os.environ.get(MODEL_FIT_ENV, "") != "1" and keras.backend.backend() in BACKENDS and (ours or theirs)


def loop_settings(spec: Spec, task: str, *, grouped: bool, tensorboard: bool) -> LoopSettings:
    """How a worker's trial loop trains a spec's trials."""
    objective, direction = resolve_objective(spec, task)
    t = spec.tuner
    return LoopSettings(
        objective=kt.Objective(objective, direction=direction),
        epochs=epochs_per_trial(spec),
        runs=runs_per_trial(spec),
        folds=folds(spec) or 0,
        fuse=int(t.fuse),
        pruning=t.pruning != "none",
        seed=t.seed,
        max_parameters=max_parameters(spec),
        max_failures=t.max_consecutive_failed_trials,
        grouped=grouped,
        tensorboard=tensorboard,
        batch_size=int(spec.training.batch_size.value) if isinstance(spec.training.batch_size, Fixed) else 32,
    )


def load_inputs(project: Project, spec: Spec) -> tuple[Any, Any]:
    """What a worker trains on: the spec's prepared data set, or the user's arrays and own hypermodel."""
    if spec.hypermodel is None:
        from ...data import Dataset

        return Dataset.load(project.data_arrays, project.data_meta), None
    from ...data.arrays import UserData
    from ..folder.travel import loads

    return UserData.load(project.arrays), loads(project.hypermodel.read_bytes(), "the hypermodel")


def override_hyperparameters(project: Project, spec: Spec) -> Any:
    """keras-tuner's ``hyperparameters=`` for the user's overrides of their hypermodel's (None: none)."""
    hm = spec.hypermodel
    if hm is None or not hm.hyperparameters:
        return None
    from ...model.user import override_space
    from ...spec.hyper import override_configs

    space = json.loads(project.space.read_text(encoding="utf-8"))["space"]
    return override_space(override_configs(space, hm))


__all__ = [
    "MODEL_FIT_ENV",
    "load_inputs",
    "override_hyperparameters",
    "grouped",
    "loop_settings",
    "make_oracle",
    "make_tuner",
    "oracle_seed",
]
