"""Your keras-tuner tuner as it is: ``Search.from_tuner(tuner, x, y, epochs=..., ...)`` reads what the tuner says.

The arguments after the tuner are exactly what its ``tuner.search(...)`` takes, so bringing a program is a
one-line change. From the tuner: its oracle (random, Bayesian, Hyperband or grid, with their settings), the
objective and its direction, ``max_trials``, ``executions_per_trial``, a tailored space (``hyperparameters=``
with ``tune_new_entries`` / ``allow_new_entries``), the seed, ``max_consecutive_failed_trials`` and its folder
(``directory/project_name``: keras-tuner's files go there, as the tuner would write them, and tunewidgets'
beside them in ``tunewidgets/``, so that the tuner's own ``reload()``, ``get_best_hyperparameters()`` and
``get_best_models()`` work afterwards). From ``search``'s arguments: the arrays and their validation, the
epochs, the batch size, the callbacks. What the tuner cannot be asked to do here (its own ``run_trial``, an
oracle of its own, several objectives, ``fit`` arguments the trials do not take) is refused, naming it.

The user's program has imported keras-tuner already: this module reads the tuner's objects as they are and
imports nothing of Keras itself.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Issue, SpecError
from ..spec import Choice, Fixed, Range, Spec
from ..spec.hyper import HyperModelSpec
from ..spec.knobs import Knob
from .folder.project import LIVE_DIR, Project

#: keras-tuner's oracles, as the spec names their algorithms
ORACLES = {
    "RandomSearchOracle": "random",
    "BayesianOptimizationOracle": "bayesian",
    "HyperbandOracle": "hyperband",
    "GridSearchOracle": "grid",
}

#: ``fit`` arguments (what ``tuner.search`` passes on) that the trials take from ``from_tuner``
TAKEN = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split", "validation_data", "shuffle")
#: the other arguments of ``Model.fit``, with the values that mean "not used"
NOT_TAKEN = {
    "class_weight": None,
    "sample_weight": None,
    "initial_epoch": 0,
    "steps_per_epoch": None,
    "validation_steps": None,
    "validation_batch_size": None,
    "validation_freq": 1,
}


def _fit_signature(
    x: Any = None,
    y: Any = None,
    batch_size: Any = None,
    epochs: Any = 1,
    verbose: Any = "auto",
    callbacks: Any = None,
    validation_split: Any = 0.0,
    validation_data: Any = None,
    shuffle: Any = True,
    class_weight: Any = None,
    sample_weight: Any = None,
    initial_epoch: Any = 0,
    steps_per_epoch: Any = None,
    validation_steps: Any = None,
    validation_batch_size: Any = None,
    validation_freq: Any = 1,
) -> None:
    """``keras.Model.fit``'s parameters, in its order: what ``tuner.search(*args, **kwargs)`` accepts."""


@dataclass(frozen=True)
class FromTuner:
    """What a tuner and its ``search`` arguments become: the spec, the hypermodel, the data, the callbacks and
    the search's folder (``tunewidgets/`` in the tuner's project)."""

    spec: Spec
    hypermodel: Any
    data: Any
    callbacks: list[Any]
    folder: Path


def from_tuner(tuner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> FromTuner:
    """Reads a keras-tuner tuner and its ``search`` arguments. Raises :class:`SpecError` naming what cannot be
    carried over."""
    kt = sys.modules.get("keras_tuner")
    if kt is None or not isinstance(tuner, kt.Tuner):
        raise SpecError(
            Issue(
                "tuner",
                f"expected a keras-tuner tuner (keras_tuner.RandomSearch, BayesianOptimization, Hyperband, "
                f"GridSearch or Tuner), got {type(tuner).__name__}",
            )
        )
    _check_own_loop(tuner)
    fit = _bind(args, kwargs)
    oracle = tuner.oracle
    spec = Spec(name=str(tuner.project_name)).replace(**_tuner_settings(oracle, tuner), **_training(fit, oracle))
    spec = spec.replace(hypermodel=_hypermodel_spec(tuner, oracle))
    data = _data(fit)
    callbacks = list(fit.get("callbacks") or [])
    folder = Path(tuner.project_dir) / LIVE_DIR
    _check_folder(tuner, folder)
    return FromTuner(spec, _users_hypermodel(tuner.hypermodel), data, callbacks, folder)


#: ``from_tuner``'s own keywords: what tunewidgets adds, each a spec field or a ``Search`` argument
SPEC_OPTIONS = {"workers": "tuner.workers", "fuse": "tuner.fuse", "pruning": "tuner.pruning", "target": "tuner.target"}
SEARCH_OPTIONS = ("cluster", "tensorboard", "keep_warm", "recycle_mb")


def split_options(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``from_tuner``'s keywords as spec changes, ``Search`` arguments, and what ``tuner.search`` takes."""
    rest = dict(kwargs)
    changes = {SPEC_OPTIONS[k]: rest.pop(k) for k in list(rest) if k in SPEC_OPTIONS}
    if rest.pop("tpe", False):
        changes["tuner.algorithm"] = "tpe"
    options = {k: rest.pop(k) for k in list(rest) if k in SEARCH_OPTIONS}
    return changes, options, rest


def _check_own_loop(tuner: Any) -> None:
    """A tuner subclass with its own ``run_trial`` trains trials its own way: that is not run here."""
    for cls in type(tuner).__mro__:
        if "run_trial" in vars(cls):
            if cls.__module__.startswith("keras_tuner"):
                return
            raise SpecError(
                Issue(
                    "tuner",
                    f"{type(tuner).__name__} has its own run_trial, which tunewidgets cannot run (it trains each "
                    "trial itself); run it with keras-tuner as it is and watch it live with "
                    "tuner.search(..., callbacks=[tw.live()])",
                )
            )


def _bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``tuner.search``'s arguments by name, as ``Model.fit`` would take them."""
    try:
        bound = inspect.signature(_fit_signature).bind(*args, **kwargs)
    except TypeError as e:
        message = f"tuner.search passes its arguments to model.fit, which refuses them: {e}"
        raise SpecError(Issue("search", message)) from None
    fit = dict(bound.arguments)
    for name, unused in NOT_TAKEN.items():
        if name in fit and fit[name] is not unused and fit[name] != unused:
            raise SpecError(
                Issue(
                    name,
                    f"the trials do not take {name} from tuner.search: remove it, or run this search with "
                    "keras-tuner and watch it with tw.live()",
                )
            )
    if fit.get("shuffle", True) is not True:
        raise SpecError(Issue("shuffle", "the trials always shuffle the training rows (each epoch, seeded)"))
    if fit.get("x") is None or fit.get("y") is None:
        raise SpecError(Issue("x", "tuner.search needs your arrays: tuner.search(x, y, ...) with NumPy arrays"))
    return fit


def _tuner_settings(oracle: Any, tuner: Any) -> dict[str, Any]:
    name = type(oracle).__name__
    algorithm = next((ORACLES[c.__name__] for c in type(oracle).__mro__ if c.__name__ in ORACLES), None)
    if algorithm is None:
        raise SpecError(
            Issue(
                "tuner.oracle",
                f"{name} is not one of keras-tuner's oracles (random, Bayesian, Hyperband, grid), which tunewidgets "
                "rebuilds from their settings; run this search with keras-tuner and watch it with tw.live()",
            )
        )
    objective = oracle.objective
    if type(objective).__name__ == "MultiObjective" or not hasattr(objective, "direction"):
        raise SpecError(
            Issue(
                "tuner.objective",
                "a list of objectives (keras-tuner adds them up) is not carried over: give the tuner one "
                "objective, such as keras_tuner.Objective('val_loss', 'min')",
            )
        )
    out: dict[str, Any] = {
        "tuner.algorithm": algorithm,
        "tuner.objective": str(objective.name),
        "tuner.direction": str(objective.direction),
        "tuner.executions_per_trial": int(getattr(tuner, "executions_per_trial", 1) or 1),
        "tuner.seed": int(oracle.seed) if oracle.seed is not None else None,
    }
    failures = getattr(oracle, "max_consecutive_failed_trials", None)
    if failures:
        out["tuner.max_consecutive_failed_trials"] = int(failures)
    if algorithm == "hyperband":
        out.update(
            {
                "tuner.max_epochs": int(oracle.max_epochs),
                "tuner.factor": int(oracle.factor),
                "tuner.hyperband_iterations": int(oracle.hyperband_iterations),
            }
        )
    elif oracle.max_trials is not None:
        out["tuner.max_trials"] = int(oracle.max_trials)
    if algorithm == "bayesian":
        if oracle.num_initial_points is not None:  # None: tunewidgets' default, a third of the trials (keras-tuner's,
            out["tuner.initial_points"] = int(oracle.num_initial_points)  # three per hyperparameter, is often all)
        if (oracle.alpha, oracle.beta) != (1e-4, 2.6):
            raise SpecError(
                Issue(
                    "tuner.oracle",
                    f"BayesianOptimization's alpha and beta ({oracle.alpha:g}, {oracle.beta:g}) other than "
                    "keras-tuner's defaults (0.0001, 2.6) are not carried over",
                )
            )
    return out


def _training(fit: dict[str, Any], oracle: Any) -> dict[str, Any]:
    epochs = fit.get("epochs", 1)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise SpecError(Issue("epochs", f"expected a whole number of epochs, 1 or more, got {epochs!r}"))
    batch = fit.get("batch_size") or 32  # Keras' own default
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SpecError(Issue("batch_size", f"expected a whole number of rows, 1 or more, got {batch!r}"))
    out: dict[str, Any] = {"training.batch_size": Fixed(batch)}
    if type(oracle).__name__ != "HyperbandOracle":  # Hyperband decides each trial's epochs (its max_epochs)
        out["training.epochs"] = epochs
    return out


def _hypermodel_spec(tuner: Any, oracle: Any) -> HyperModelSpec:
    """The hypermodel's name, and the tuner's own space as overrides: a tailored one (``hyperparameters=``)
    searched as keras-tuner searches it."""
    overrides: dict[str, Knob] = {}
    for hp in oracle.hyperparameters.space:
        knob = _knob(hp)
        if knob is not None:
            overrides[hp.name] = knob
    name = getattr(_users_hypermodel(tuner.hypermodel), "__name__", None) or type(tuner.hypermodel).__name__
    return HyperModelSpec(
        str(name), tuple(overrides.items()), bool(oracle.tune_new_entries), bool(oracle.allow_new_entries)
    )


def _knob(hp: Any) -> Knob | None:
    """A keras-tuner hyperparameter as a spec's knob (None: one a knob does not describe, left to the build)."""
    kind = type(hp).__name__
    if kind == "Fixed":
        return Fixed(hp.value)
    if kind == "Boolean":
        return Choice((True, False))
    if kind == "Choice":
        return Choice(tuple(hp.values))
    if kind in ("Int", "Float"):
        step = hp.step if kind == "Int" or hp.step is not None else None
        return Range(hp.min_value, hp.max_value, step=step, log=hp.sampling == "log")
    return None


def _users_hypermodel(hypermodel: Any) -> Any:
    """The user's own: a build function keras-tuner wrapped, or their HyperModel."""
    if type(hypermodel).__name__ == "DefaultHyperModel" and callable(getattr(hypermodel, "build", None)):
        return hypermodel.build
    return hypermodel


def _data(fit: dict[str, Any]) -> Any:
    from ..data.arrays import Arrays

    split = fit.get("validation_split") or 0.0
    if fit.get("validation_data") is not None:
        validation = fit["validation_data"]
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise SpecError(Issue("validation_data", "expected (x_val, y_val)"))
        return Arrays(fit["x"], fit["y"], validation_data=tuple(validation))
    if not split:
        raise SpecError(
            Issue(
                "validation_split",
                "every trial is scored on held-out rows: pass validation_data=(x_val, y_val) or validation_split=0.2",
            )
        )
    return Arrays(fit["x"], fit["y"], validation_split=float(split))


def _check_folder(tuner: Any, folder: Path) -> None:
    """The tuner's project may hold this search (resumed), or nothing: not another search of keras-tuner's."""
    if tuner.oracle.trials and not Project(folder).spec.exists():
        raise SpecError(
            Issue(
                "tuner",
                f"{tuner.project_dir} holds {len(tuner.oracle.trials)} trials of a search keras-tuner ran itself: "
                "give the tuner overwrite=True (keras-tuner deletes them) or another project_name",
            )
        )


__all__ = ["FromTuner", "ORACLES", "from_tuner", "split_options"]
