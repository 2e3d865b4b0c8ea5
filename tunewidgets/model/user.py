"""The user's own hypermodel, as the trial loop trains it (worker processes; imports Keras and keras-tuner).

:class:`UserHyperModel` wraps a ``build_model(hp)`` function or a ``keras_tuner.HyperModel``:

* its ``build`` is the user's, checked (a compiled Keras model), with the spec's batch size declared
  beside the user's hyperparameters unless the user's own ``fit`` chooses it;
* with keras-tuner's default ``fit`` the trials train through the group loop, on the user's arrays read
  through pipelines built once (:mod:`tunewidgets.model.pipeline`); a ``HyperModel`` with a ``fit`` of its
  own is trained through it, one trial at a time.

:func:`discover` builds the hypermodel the way keras-tuner's ``Tuner`` does when a search starts (once, then
once more per conditional scope not yet active), and returns the space as keras-tuner's JSON configs.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import keras
import keras_tuner as kt

from ..data.arrays import leaves
from ..errors import Issue, SpecError
from ..spec import Fixed, Spec
from ..spec.hyper import default_issues
from ..spec.validate import resolve_objective
from .build import load_trial_weights
from .hyperparameters import SpaceBuilder

BATCH_SIZE = "batch_size"


def user_hypermodel(user: Any) -> Any:
    """keras-tuner's form of what the user gave: a ``HyperModel`` as is, a function wrapped."""
    if isinstance(user, kt.HyperModel):
        return user
    if callable(user):
        return _FunctionHyperModel(user)
    raise SpecError(
        Issue(
            "hypermodel", f"expected a build_model(hp) function or a keras_tuner.HyperModel, got {type(user).__name__}"
        )
    )


class _FunctionHyperModel(kt.HyperModel):
    """A ``build_model(hp)`` function as a hypermodel (keras-tuner's own wrapper, named after the function)."""

    def __init__(self, build: Any):
        super().__init__(name=getattr(build, "__name__", "build_model"))
        self._build = build

    def build(self, hp: Any) -> Any:
        return self._build(hp)


def own_fit(user: Any) -> bool:
    """Does the user's hypermodel train its models with a ``fit`` of its own?"""
    return isinstance(user, kt.HyperModel) and type(user).fit is not kt.HyperModel.fit


class BuildProblem(ValueError):
    """What the user's build does wrong (not what it raises itself): said as is, naming the build."""


def build_failure(error: Exception) -> str:
    """How a failed discovery build is said: what the build does wrong as is; what it raised, as a failed trial
    says it."""
    return str(error) if isinstance(error, BuildProblem) else f"it raised {type(error).__name__}: {error}"


def checked_model(model: Any, name: str, *, compiled: bool = True) -> Any:
    """The model a build returned, or a clear error naming the build. A HyperModel whose own ``fit`` trains
    (a custom training loop, keras.io's guide) may return it uncompiled (``compiled=False``)."""
    if not isinstance(model, keras.Model):
        raise BuildProblem(f"{name} returned {type(model).__name__}, not a Keras model: return the model it builds")
    if compiled and getattr(model, "optimizer", None) is None:
        raise BuildProblem(f"{name} returned a model that is not compiled: call model.compile(...) before returning it")
    return model


def _loss_name(model: Any) -> str:
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        return loss
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or ""
    return str(name)


class ArraysMisfit(ValueError):
    """The user's arrays cannot train the model (checked at its first build, when keras-tuner's ``Tuner`` starts:
    the search ends before any trial, with this said as is)."""


def arrays_misfit(model: Any, x: Any, y: Any, name: str) -> str:
    """What keeps the user's arrays from training ``model``, said with the array's name ("" when they fit): the
    inputs' shapes against the model's ``keras.Input``s, and the labels against its loss."""
    inputs = getattr(model, "inputs", None) if getattr(model, "built", False) else None
    xs = leaves(x, "x")
    if inputs and len(inputs) == len(xs) and not isinstance(x, dict):
        for (label, array), tensor in zip(xs, inputs, strict=True):
            wanted, given = tuple(tensor.shape[1:]), tuple(array.shape[1:])
            if len(wanted) != len(given) or any(w is not None and w != g for w, g in zip(wanted, given, strict=True)):
                shown = tuple("any" if w is None else w for w in wanted)
                return (
                    f"{label} has rows of shape {given}, and {name}'s model takes rows of shape {shown}: give arrays "
                    "of that shape, or change the model's keras.Input"
                )
    loss = _loss_name(model).lower()
    if not hasattr(y, "ndim") or not hasattr(y, "dtype"):
        return ""
    width = y.shape[-1] if y.ndim > 1 else 1
    if "sparse_categorical" in loss and y.ndim > 1 and width > 1:
        return (
            f"y is one-hot (rows of {width}), and {name}'s loss, {loss}, takes class numbers: use the loss "
            "categorical_crossentropy, or give y.argmax(axis=1)"
        )
    if loss.startswith("categorical_crossentropy") and width == 1 and getattr(y.dtype, "kind", "") in "iu":
        return (
            f"y holds class numbers, and {name}'s loss, {loss}, takes one-hot rows: use the loss "
            "sparse_categorical_crossentropy, or give keras.utils.to_categorical(y)"
        )
    return ""


class UserHyperModel(kt.HyperModel):
    """The user's hypermodel, trained on the user's arrays as a spec's training section says."""

    def __init__(self, user: Any, spec: Spec, data: Any):
        self.user = user_hypermodel(user)
        super().__init__(name=self.user.name)
        self.spec = spec
        self.data = data
        self.own_fit = own_fit(self.user)
        self._pipelines: Any = None
        #: The order of the training rows in the next fit (set per trial by the loop; None: random).
        self.fit_seed: int | None = None
        #: Folds are not offered for the user's own arrays (their validation set is the user's).
        self.fold: int | None = None

    def declare_hyperparameters(self, hp: Any) -> None:
        self.user.declare_hyperparameters(hp)

    def build(self, hp: Any) -> Any:
        model = checked_model(self.user.build(hp), self.user.name, compiled=not self.own_fit)
        # said with the array's name, before Keras meets it mid-fit in its own words (an own fit may feed its model
        # something else than the arrays as given: not checked)
        problem = "" if self.own_fit else arrays_misfit(model, self.data.x_train, self.data.y_train, self.user.name)
        if problem:
            raise ArraysMisfit(problem)
        if not self.own_fit and BATCH_SIZE not in hp and self.tuned_batch_size:  # tuned in the spec's Training
            SpaceBuilder(self.spec, hp).value("training", "batch_size")
        return model

    @property
    def tuned_batch_size(self) -> bool:
        """The spec's batch size is a range or choices: searched beside the user's own hyperparameters (fixed, it
        is simply what every trial trains with, and no hyperparameter is added to the user's)."""
        return not isinstance(self.spec.training.batch_size, Fixed)

    def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), *self.fit_callbacks()]
        if self.own_fit:
            return self.user.fit(hp, model, *args, **kwargs)
        fixed = getattr(self.spec.training.batch_size, "value", 32)
        kwargs.setdefault("batch_size", int(hp.get(BATCH_SIZE) if BATCH_SIZE in hp else fixed))
        return model.fit(*args, **kwargs)

    def training_data(self, batch_size: int) -> dict[str, Any]:
        """What the group loop reads: the user's arrays through pipelines built once (NumPy batches on JAX)."""
        from .pipeline import InputPipelines, NumpyBatches

        if self._pipelines is None:
            kind = InputPipelines if keras.backend.backend() == "tensorflow" else NumpyBatches
            d = self.data
            self._pipelines = kind(d.x_train, d.y_train, d.x_val, d.y_val)
        seed = self.fit_seed if self.fit_seed is not None else int.from_bytes(os.urandom(7), "little")
        return self._pipelines.fit_kwargs(batch_size, seed)

    def fit_callbacks(self) -> list[Any]:
        """Early stopping when the spec asks for it."""
        t = self.spec.training
        if not t.early_stopping:
            return []
        objective, direction = resolve_objective(self.spec, "custom")
        return [keras.callbacks.EarlyStopping(monitor=objective, mode=direction, patience=t.patience)]


class _Checked(kt.HyperModel):
    """The user's hypermodel, its builds checked, for :func:`discover`."""

    def __init__(self, user: Any):
        super().__init__(name=user.name)
        self.user = user

    def declare_hyperparameters(self, hp: Any) -> None:
        self.user.declare_hyperparameters(hp)

    def build(self, hp: Any) -> Any:
        return checked_model(self.user.build(hp), self.user.name, compiled=not own_fit(self.user))


def discover(user: Any, *, own_process: bool = True, scratch: str | None = None) -> list[dict[str, Any]]:
    """The hypermodel's hyperparameters, as keras-tuner's ``Tuner`` finds them when a search starts
    (conditional ones included, with their conditions): keras-tuner's JSON config of each.

    ``own_process=False``: it runs in the user's process, whose Keras session is left as it is (no
    ``clear_session`` between builds). keras-tuner's scratch files go to a temporary folder inside ``scratch``
    (the caller's own temporary folder: a worker killed mid-build leaves nothing elsewhere). Raises
    ``ValueError`` when a build does not return a compiled model or a default is outside its range; whatever
    the user's build raises propagates.
    """
    hypermodel = _Checked(user_hypermodel(user))
    with tempfile.TemporaryDirectory(prefix=".tunewidgets-space-", dir=scratch, ignore_cleanup_errors=True) as folder:
        oracle = kt.oracles.RandomSearchOracle(objective="val_loss", max_trials=1)
        tuner = kt.Tuner(oracle=oracle, hypermodel=hypermodel, directory=folder, project_name="space", overwrite=True)
        found = tuner.oracle.get_space()
    problems = default_issues(list(found.get_config()["space"]), hypermodel.name)
    if problems:
        raise BuildProblem("; ".join(problems))
    _explore(hypermodel, found, clear=own_process)
    return list(found.get_config()["space"])


#: Builds :func:`_explore` may make beyond keras-tuner's own, and the seconds it may take.
EXPLORE_BUILDS, EXPLORE_SECONDS = 40, 30.0


def _explore(hypermodel: Any, space: Any, *, clear: bool = True) -> None:
    """Hyperparameters declared only for other values than the defaults (``for i in range(hp.Int("layers", 1,
    3)): hp.Int(f"units_{i}", ...)``, a branch for another choice): each integer at its largest value, each
    choice and flag at each of its values, one at a time, again for what those reveal. Adds what they declare
    to ``space``; a build that fails for such a value is passed over (the search will meet it as a trial)."""
    import time

    deadline, builds = time.monotonic() + EXPLORE_SECONDS, 0
    tried: set[tuple[str, Any]] = set()
    changed = True
    while changed and builds < EXPLORE_BUILDS and time.monotonic() < deadline:
        changed = False
        for p in list(space.space):
            for value in _other_values(p):
                if (p.name, value) in tried or builds >= EXPLORE_BUILDS or time.monotonic() > deadline:
                    continue
                tried.add((p.name, value))
                hp = kt.HyperParameters()
                hp.values[p.name] = value
                builds += 1
                try:
                    hypermodel.build(hp)
                except Exception:  # noqa: BLE001 - a value the build refuses is the search's to meet
                    continue
                known = {q.name for q in space.space}
                new = [q for q in hp.space if q.name not in known]
                if new:
                    space.merge(new)
                    changed = True
                if clear:
                    keras.backend.clear_session()


def _other_values(p: Any) -> list[Any]:
    kind = type(p).__name__
    if kind == "Int":
        return [p.max_value] if p.max_value != p.default else []
    if kind == "Choice":
        return [v for v in p.values if v != p.default]
    if kind == "Boolean":
        return [not p.default]
    return []


def override_space(configs: list[dict[str, Any]]) -> Any:
    """keras-tuner's ``HyperParameters`` holding the user's overrides (``hyperparameters=`` of an oracle)."""
    hp = kt.HyperParameters.from_config({"space": configs, "values": {}})
    for p in hp.space:  # each override's first value, as keras-tuner's own declaration would give it
        if not p.conditions:
            hp.values[p.name] = p.default
    return hp


def rebuilt(user: Any, values: Any, checkpoint: Any, build_config: Any = None) -> Any:
    """A trial's model: built by the user's hypermodel from the trial's values (a dict, or keras-tuner's
    ``HyperParameters``), its best epoch's weights loaded; ``build_config``: the file that says how training
    built a model with no ``keras.Input`` (its input shapes), when there is one."""
    hp = values
    if not isinstance(values, kt.HyperParameters):
        hp = kt.HyperParameters()
        hp.values.update(values)  # the build declares its hyperparameters again and reads these values
    hypermodel = user_hypermodel(user)
    model = checked_model(hypermodel.build(hp), hypermodel.name, compiled=not own_fit(hypermodel))
    if not model.built and build_config is not None and os.path.isfile(build_config):  # no keras.Input: as trained
        with open(build_config, encoding="utf-8") as f:
            built = json.load(f)
        if built:
            model.build_from_config(built)
    optimizer = getattr(model, "optimizer", None)  # a custom training loop's model is not compiled
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)  # the checkpoint may hold its state too
    load_trial_weights(model, checkpoint)
    return model


__all__ = [
    "BATCH_SIZE",
    "UserHyperModel",
    "checked_model",
    "discover",
    "override_space",
    "own_fit",
    "rebuilt",
    "user_hypermodel",
]
