"""A keras-tuner HyperModel built from a spec: search space, model and fit.

The spec's knobs become keras-tuner hyperparameters: ``Fixed`` -> ``hp.Fixed``,
``Range`` -> ``hp.Int`` / ``hp.Float`` (``sampling="log"`` on a log scale),
``Choice`` -> ``hp.Choice`` (``hp.Boolean`` for true/false). A knob that only
matters for some values of another (momentum only for SGD) is declared inside
keras-tuner's ``conditional_scope``, so grid and Bayesian search see the real
space.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any

import keras
import keras_tuner as kt

from .data import Dataset
from .data import output_head as head
from .space import hp_name
from .spec.knobs import Choice, Fixed, Knob, Range
from .spec.model import Spec, field_info


def _possible(value: Any) -> tuple[Any, ...]:
    """Every value a knob (or plain setting) can take."""
    if isinstance(value, Range):
        if value.step is None and isinstance(value.min, float):
            return (value.min, value.max)
        step = value.step or 1
        return tuple(range(int(value.min), int(value.max) + 1, int(step))) if not value.log else value.values()
    if isinstance(value, (Fixed, Choice)):
        return value.values()
    return (value,)


class SpaceBuilder:
    """Declares a spec's knobs on a ``HyperParameters`` and reads their values."""

    def __init__(self, spec: Spec, hp: kt.HyperParameters):
        self.spec = spec
        self.hp = hp

    def _declare(self, name: str, k: Knob, kind: str) -> Any:
        hp = self.hp
        if isinstance(k, Fixed):
            return hp.Fixed(name, k.value)
        if isinstance(k, Range):
            sampling = "log" if k.log else "linear"
            if kind == "int":
                return hp.Int(
                    name, int(k.min), int(k.max), step=None if k.step is None else int(k.step), sampling=sampling
                )
            return hp.Float(name, float(k.min), float(k.max), step=k.step, sampling=sampling)
        if kind == "bool" and set(k.options) == {True, False}:
            return hp.Boolean(name, default=bool(k.options[0]))
        return hp.Choice(name, list(k.options), ordered=kind in ("int", "float"))

    def value(
        self, section: str, name: str, *, extra: list[tuple[str, list[Any]]] | None = None, as_name: str | None = None
    ) -> Any:
        """The value of ``section.name`` for this trial; ``None`` when it does not apply.

        ``extra`` adds conditions ``(hp name, values)`` beside the field's own.
        """
        info = field_info(section, name)
        sec = getattr(self.spec, section)
        conditions: list[tuple[str, list[Any]]] = []
        if info.active_when is not None:
            parent, active_values = info.active_when
            raw = getattr(sec, parent)
            parent_info = field_info(section, parent)
            if not parent_info.tunable:
                if raw not in active_values:
                    return None
            else:
                matching = [v for v in _possible(raw) if v in active_values]
                if not matching:
                    return None
                if isinstance(raw, Fixed):
                    pass  # always active: no scope needed
                else:
                    conditions.append((hp_name(section, parent), matching))
        conditions.extend(extra or [])
        with contextlib.ExitStack() as stack:
            for parent_hp, values in conditions:
                stack.enter_context(self.hp.conditional_scope(parent_hp, values))
            return self._declare(as_name or hp_name(section, name), getattr(sec, name), info.kind)


def _layer_units(space: SpaceBuilder, n_layers: int) -> list[int]:
    spec = space.spec
    units = space.value("model", "units")
    shape = space.value("model", "shape")
    layers_knob = spec.model.layers
    max_layers = max(_possible(layers_knob)) if not isinstance(layers_knob, Fixed) else layers_knob.value
    free_possible = "free" in _possible(spec.model.shape)
    per_layer: dict[int, Any] = {}
    if free_possible:
        for i in range(1, int(max_layers)):
            # keras-tuner scopes cannot nest two unrelated parents, so units_i hangs on
            # the layer count when that is tuned (unused unless the shape is free),
            # else on the shape.
            extra: list[tuple[str, list[Any]]] = []
            if not isinstance(layers_knob, Fixed):
                extra.append(("layers", [v for v in _possible(layers_knob) if v > i]))
            elif layers_knob.value <= i:
                continue
            elif not isinstance(spec.model.shape, Fixed):
                extra.append(("shape", ["free"]))
            per_layer[i] = space.value("model", "units", extra=extra, as_name=f"units_{i}")
    out = []
    for i in range(n_layers):
        if shape == "funnel":
            out.append(max(1, int(units) // (2**i)))
        elif shape == "free" and i > 0:
            out.append(int(per_layer[i]))
        else:
            out.append(int(units))
    return out


def _regularizer(kind: str, strength: float | None) -> Any:
    if kind == "l1":
        return keras.regularizers.L1(strength)
    if kind == "l2":
        return keras.regularizers.L2(strength)
    if kind == "l1_l2":
        return keras.regularizers.L1L2(l1=strength, l2=strength)
    return None


def _activation(name: str) -> Any:
    return keras.layers.LeakyReLU() if name == "leaky_relu" else keras.layers.Activation(name)


def make_optimizer(values: dict[str, Any], steps_per_epoch: int, epochs: int) -> keras.optimizers.Optimizer:
    """A Keras optimizer (with its learning-rate schedule) from hyperparameter values."""
    lr: Any = float(values["learning_rate"])
    schedule = values.get("lr_schedule") or "constant"
    if schedule == "exponential":
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr, decay_steps=steps_per_epoch, decay_rate=values["decay_rate"]
        )
    elif schedule == "step":
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr,
            decay_steps=steps_per_epoch * int(values["decay_epochs"]),
            decay_rate=values["decay_rate"],
            staircase=True,
        )
    elif schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, steps_per_epoch * epochs))
    name = values["optimizer"]
    if name == "sgd":
        return keras.optimizers.SGD(
            lr, momentum=float(values.get("momentum") or 0.0), nesterov=bool(values.get("nesterov"))
        )
    if name == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=float(values.get("weight_decay") or 0.0))
    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "adagrad": keras.optimizers.Adagrad}[
        name
    ](lr)


class SpecHyperModel(kt.HyperModel):
    """Builds and fits the network a spec describes, for keras-tuner."""

    def __init__(self, spec: Spec, dataset: Dataset):
        super().__init__(name=spec.name)
        self.spec = spec
        self.dataset = dataset
        self._pipelines: Any = None
        #: The order of the training rows in the next fit (set per trial by the tuner; None: random).
        self.fit_seed: int | None = None

    def declare(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """Declares every hyperparameter and returns this trial's active values."""
        s = SpaceBuilder(self.spec, hp)
        v: dict[str, Any] = {}
        m = self.spec.model
        if m.architecture == "cnn":
            for name in ("conv_blocks", "filters", "kernel_size"):
                v[name] = s.value("model", name)
        v["layers"] = s.value("model", "layers")
        v["units_per_layer"] = _layer_units(s, int(v["layers"]))
        for name in ("activation", "batch_norm", "residual"):
            v[name] = s.value("model", name)
        v["penalty"] = s.value("regularization", "penalty")
        v["penalty_strength"] = s.value("regularization", "strength")
        v["dropout"] = s.value("regularization", "dropout")
        for name in (
            "name",
            "learning_rate",
            "momentum",
            "nesterov",
            "weight_decay",
            "schedule",
            "decay_rate",
            "decay_epochs",
        ):
            v[hp_name("optimizer", name)] = s.value("optimizer", name)
        v["batch_size"] = s.value("training", "batch_size")
        return v

    def epochs(self) -> int:
        t = self.spec.tuner
        return t.max_epochs if t.algorithm == "hyperband" else self.spec.training.epochs

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        v = self.declare(hp)
        return build_model(v, self.dataset, self.epochs())

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        batch_size = int(hp.get("batch_size"))
        own = self._own_data(args, kwargs)
        if own and keras.backend.backend() == "tensorflow":
            # the data set's arrays: read them through pipelines built once for the whole search
            if self._pipelines is None:
                from ._pipeline import InputPipelines

                d = self.dataset
                self._pipelines = InputPipelines(d.x_train, d.y_train, d.x_val, d.y_val)
            args = ()
            seed = self.fit_seed if self.fit_seed is not None else int.from_bytes(os.urandom(7), "little")
            kwargs.update(self._pipelines.fit_kwargs(batch_size, seed))
        else:
            kwargs["batch_size"] = batch_size
            if own:
                from ._pipeline import validation_batch

                kwargs.setdefault("validation_batch_size", validation_batch(batch_size, len(self.dataset.x_val)))
        t = self.spec.training
        if t.early_stopping:
            from .spec.validate import resolve_objective

            objective, direction = resolve_objective(self.spec, self.dataset.task)
            callbacks = list(kwargs.get("callbacks") or [])
            callbacks.append(keras.callbacks.EarlyStopping(monitor=objective, mode=direction, patience=t.patience))
            kwargs["callbacks"] = callbacks
        return model.fit(*args, **kwargs)

    def _own_data(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Is this fit on the data set's own training and validation arrays (what the worker passes)?"""
        d = self.dataset
        validation = kwargs.get("validation_data")
        return (
            len(args) == 2
            and args[0] is d.x_train
            and args[1] is d.y_train
            and isinstance(validation, tuple)
            and len(validation) == 2
            and validation[0] is d.x_val
            and validation[1] is d.y_val
        )


def build_model(v: dict[str, Any], dataset: Dataset, epochs: int) -> keras.Model:
    """The compiled Keras model for one set of hyperparameter values."""
    reg = _regularizer(v["penalty"], v["penalty_strength"])
    inputs = keras.Input(shape=dataset.input_shape, name="inputs")
    x = inputs
    if v.get("conv_blocks"):
        for i in range(int(v["conv_blocks"])):
            x = keras.layers.Conv2D(
                int(v["filters"]) * 2**i,
                int(v["kernel_size"]),
                padding="same",
                kernel_regularizer=reg,
                name=f"conv_{i}",
            )(x)
            if v["batch_norm"]:
                x = keras.layers.BatchNormalization(name=f"conv_bn_{i}")(x)
            x = _activation(v["activation"])(x)
            if x.shape[1] >= 2 and x.shape[2] >= 2:
                x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(v["units_per_layer"]):
        h = keras.layers.Dense(units, kernel_regularizer=reg, name=f"dense_{i}")(x)
        if v["batch_norm"]:
            h = keras.layers.BatchNormalization(name=f"bn_{i}")(h)
        h = _activation(v["activation"])(h)
        if v["dropout"]:
            h = keras.layers.Dropout(float(v["dropout"]), name=f"dropout_{i}")(h)
        if v["residual"]:
            skip = x if x.shape[-1] == units else keras.layers.Dense(units, use_bias=False, name=f"skip_{i}")(x)
            h = keras.layers.Add(name=f"add_{i}")([skip, h])
        x = h
    units, activation, loss, metrics = head(dataset.task, dataset.n_classes)
    outputs = keras.layers.Dense(units, activation=activation, name="output")(x)
    model = keras.Model(inputs, outputs, name="tunewidgets_model")
    steps = max(1, math.ceil(len(dataset.x_train) / int(v["batch_size"])))
    model.compile(optimizer=make_optimizer(v, steps, epochs), loss=loss, metrics=metrics)
    return model


def values_from_hp(spec: Spec, dataset: Dataset, hp_values: dict[str, Any]) -> dict[str, Any]:
    """Build values for a finished trial's hyperparameters (as recorded in its results)."""
    hp = kt.HyperParameters()
    hp.values.update({k: val for k, val in hp_values.items() if not k.startswith("tuner/")})
    return SpecHyperModel(spec, dataset).declare(hp)
