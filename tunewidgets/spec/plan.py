"""One plan of the network: what a trial builds, computed once from its build values, without Keras.

:func:`network_plan` holds every rule of the network once: the output head a task needs, when a
convolution block pools (both spatial dims at least 2), when a skip connection needs a projection
(the widths differ), the optimizers' table (Keras class, copies per weight, which build values become
which keyword arguments) and the learning-rate schedules; :func:`layer_widths` holds the widths of a
constant, funnel or free network. Three readers walk the plan: the Keras model
(:func:`tunewidgets.model.build.build_model`), the code written for students
(:func:`tunewidgets.model.codegen.model_code`) and the size guard (:func:`tunewidgets.spec.size.largest_model`,
through :meth:`NetworkPlan.weights`). They call ``plan.network_plan`` through this module, so a test
that replaces it sees the three follow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .datasets import output_units


@dataclass(frozen=True)
class Regularizer:
    """A weight penalty on the kernel of every convolution and hidden dense layer."""

    kind: str  # a key of PENALTIES: "l1", "l2", "l1_l2"
    strength: float

    @property
    def keras_class(self) -> str:
        """Its class in ``keras.regularizers``."""
        return PENALTIES[self.kind][0]

    @property
    def kwargs(self) -> dict[str, float]:
        return dict.fromkeys(PENALTIES[self.kind][1], self.strength)


#: penalty -> (class in keras.regularizers, the keyword arguments that take the strength)
PENALTIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "l1": ("L1", ("l1",)),
    "l2": ("L2", ("l2",)),
    "l1_l2": ("L1L2", ("l1", "l2")),
}


@dataclass(frozen=True)
class Conv:
    """A convolution block: a same-padded ``Conv2D``, batch normalization, the activation, a 2x2 max pooling."""

    filters: int
    kernel_size: int
    batch_norm: bool
    activation: str
    pool: bool

    def weights(self, channels: int) -> int:
        """Its weights on inputs of ``channels`` channels: kernel, bias, batch normalization."""
        return self.kernel_size**2 * channels * self.filters + self.filters + _norm(self.batch_norm, self.filters)


@dataclass(frozen=True)
class Dense:
    """A hidden dense layer: ``Dense``, batch normalization, the activation, dropout, the skip connection."""

    units: int
    batch_norm: bool
    activation: str
    dropout: float  # 0: no dropout layer
    skip: str | None  # None, "identity" (the input added as is), "projection" (through Dense(units, use_bias=False))

    def weights(self, width_in: int) -> int:
        """Its weights on ``width_in`` inputs: kernel, bias, batch normalization and the skip's projection."""
        total = width_in * self.units + self.units + _norm(self.batch_norm, self.units)
        return total + (width_in * self.units if self.skip == "projection" else 0)  # the projection has no bias


def skip_connection(width_in: int, units: int, residual: bool) -> str | None:
    """The skip connection of a hidden dense layer: none, the input as is (same width), or a projection."""
    if not residual:
        return None
    return "identity" if width_in == units else "projection"


@dataclass(frozen=True)
class Head:
    """The output layer, its loss and metrics."""

    units: int
    activation: str | None
    loss: str
    metrics: tuple[str, ...]

    def weights(self, width_in: int) -> int:
        """Its weights on ``width_in`` inputs: kernel and bias."""
        return width_in * self.units + self.units


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: its class in ``keras.optimizers.schedules`` and its keyword arguments."""

    keras_class: str
    kwargs: Mapping[str, Any]
    note: str  # what it does, for the code's reader


@dataclass(frozen=True)
class Optimizer:
    """The optimizer: its class in ``keras.optimizers``, learning rate (or schedule) and keyword arguments."""

    name: str  # the spec's name: "adam"
    keras_class: str
    learning_rate: float
    schedule: Schedule | None
    kwargs: Mapping[str, Any]
    slots: int  # copies of every weight it keeps


@dataclass(frozen=True)
class OptimizerKind:
    """A row of the optimizers' table."""

    keras_class: str
    slots: int  # copies of every weight the optimizer keeps (Adam: the first and second moments)
    #: keyword argument -> (build value it is read from, how it is read, its value when the build values have none)
    arguments: Mapping[str, tuple[str, Callable[[Any], Any], Any]] = field(default_factory=dict)


#: The optimizers, by the spec's name (``optimizer.name``).
OPTIMIZER_TABLE: dict[str, OptimizerKind] = {
    "sgd": OptimizerKind("SGD", 1, {"momentum": ("momentum", float, 0.0), "nesterov": ("nesterov", bool, False)}),
    "adam": OptimizerKind("Adam", 2),
    "adamw": OptimizerKind("AdamW", 2, {"weight_decay": ("weight_decay", float, 0.0)}),
    "rmsprop": OptimizerKind("RMSprop", 2),
    "adagrad": OptimizerKind("Adagrad", 1),
}


@dataclass(frozen=True)
class NetworkPlan:
    """Everything a trial builds: the layers from the inputs to the output, the optimizer, the batches."""

    input_shape: tuple[int, ...]
    regularizer: Regularizer | None
    convs: tuple[Conv, ...]
    flatten: bool
    dense: tuple[Dense, ...]
    head: Head
    optimizer: Optimizer
    batch_size: int
    epochs: int

    @property
    def flat_width(self) -> int:
        """Inputs of the first dense layer."""
        return _flat_width(self.input_shape, self.convs)

    def conv_weights(self) -> int:
        """The weights of the convolution blocks."""
        total, channels = 0, self.input_shape[-1]
        for conv in self.convs:
            total, channels = total + conv.weights(channels), conv.filters
        return total

    def weights(self) -> int:
        """Every weight of the model, trainable or not: what Keras' ``count_params`` gives."""
        total, width = self.conv_weights(), self.flat_width
        for layer in self.dense:
            total, width = total + layer.weights(width), layer.units
        return total + self.head.weights(width)


def _norm(batch_norm: bool, width: int) -> int:
    return 4 * width if batch_norm else 0  # gamma, beta, moving mean, moving variance


def _spatial(input_shape: tuple[int, ...], convs: tuple[Conv, ...] | list[Conv]) -> tuple[int, int]:
    """Height and width after ``convs`` (same padding; each pooling halves them, rounded down)."""
    h, w = input_shape[0], input_shape[1]
    for conv in convs:
        if conv.pool:
            h, w = h // 2, w // 2
    return h, w


def _flat_width(input_shape: tuple[int, ...], convs: tuple[Conv, ...] | list[Conv]) -> int:
    if not convs:
        return math.prod(input_shape)
    h, w = _spatial(input_shape, convs)
    return h * w * convs[-1].filters


def output_head(task: str, n_classes: int | None) -> Head:
    """The output layer, loss and metrics a task needs."""
    units = output_units(task, n_classes)
    if task == "binary":
        return Head(units, "sigmoid", "binary_crossentropy", ("accuracy",))
    if task == "multiclass":
        return Head(units, "softmax", "sparse_categorical_crossentropy", ("accuracy",))
    return Head(units, None, "mse", ("mae",))


def activation_layer(name: str) -> tuple[str, tuple[str, ...]]:
    """The layer of an activation: its class in ``keras.layers`` and its arguments."""
    return ("LeakyReLU", ()) if name == "leaky_relu" else ("Activation", (name,))


def layer_widths(shape: str, units: int, n_layers: int, per_layer: Mapping[int, Any] | None = None) -> list[int]:
    """The hidden layers' widths: ``units`` each (constant), halving from ``units`` down to 1 (funnel), or
    ``units`` then ``per_layer[i]`` for layer ``i`` (free)."""
    widths = []
    for i in range(n_layers):
        if shape == "funnel":
            widths.append(max(1, int(units) // 2**i))
        elif shape == "free" and i > 0:
            widths.append(int((per_layer or {})[i]))
        else:
            widths.append(int(units))
    return widths


def _schedule(values: Mapping[str, Any], steps_per_epoch: int, epochs: int) -> Schedule | None:
    name = values.get("lr_schedule") or "constant"
    if name == "constant":
        return None
    if name == "exponential":
        return Schedule(
            "ExponentialDecay",
            {"decay_steps": steps_per_epoch, "decay_rate": values["decay_rate"]},
            "decays every epoch",
        )
    if name == "step":
        every = int(values["decay_epochs"])
        return Schedule(
            "ExponentialDecay",
            {"decay_steps": steps_per_epoch * every, "decay_rate": values["decay_rate"], "staircase": True},
            f"every {every} epochs",
        )
    if name == "cosine":
        return Schedule("CosineDecay", {"decay_steps": max(1, steps_per_epoch * epochs)}, "to zero over training")
    raise ValueError(f"unknown learning-rate schedule {name!r}")


def optimizer_plan(values: Mapping[str, Any], steps_per_epoch: int, epochs: int) -> Optimizer:
    """The optimizer and its learning-rate schedule for build values (``optimizer``, ``learning_rate``...)."""
    name = str(values["optimizer"])
    kind = OPTIMIZER_TABLE[name]
    kwargs = {key: read(values.get(source) or empty) for key, (source, read, empty) in kind.arguments.items()}
    return Optimizer(
        name,
        kind.keras_class,
        float(values["learning_rate"]),
        _schedule(values, steps_per_epoch, epochs),
        kwargs,
        kind.slots,
    )


def network_plan(
    values: Mapping[str, Any],
    input_shape: tuple[int, ...],
    task: str,
    n_classes: int | None,
    steps_per_epoch: int,
    epochs: int,
) -> NetworkPlan:
    """The plan of the network a trial's build values (:func:`tunewidgets.model.hyperparameters.declare`) describe."""
    v = values
    shape = tuple(int(d) for d in input_shape)
    activation, batch_norm = str(v["activation"]), bool(v.get("batch_norm"))
    penalty = v.get("penalty")
    regularizer = Regularizer(penalty, float(v["penalty_strength"])) if penalty in PENALTIES else None
    convs: list[Conv] = []
    blocks = int(v.get("conv_blocks") or 0)
    if blocks and len(shape) != 3:
        raise ValueError(f"convolution blocks need images (height, width, channels), not inputs of shape {shape}")
    for i in range(blocks):
        h, w = _spatial(shape, convs)
        convs.append(
            Conv(int(v["filters"]) * 2**i, int(v["kernel_size"]), batch_norm, activation, pool=h >= 2 and w >= 2)
        )
    dense: list[Dense] = []
    width = _flat_width(shape, convs)
    for units in (int(u) for u in v["units_per_layer"]):
        skip = skip_connection(width, units, bool(v.get("residual")))
        dense.append(Dense(units, batch_norm, activation, float(v.get("dropout") or 0.0), skip))
        width = units
    return NetworkPlan(
        input_shape=shape,
        regularizer=regularizer,
        convs=tuple(convs),
        flatten=len(shape) > 1,
        dense=tuple(dense),
        head=output_head(task, n_classes),
        optimizer=optimizer_plan(v, steps_per_epoch, epochs),
        batch_size=int(v["batch_size"]),
        epochs=int(epochs),
    )


__all__ = [
    "OPTIMIZER_TABLE",
    "PENALTIES",
    "Conv",
    "Dense",
    "Head",
    "NetworkPlan",
    "Optimizer",
    "OptimizerKind",
    "Regularizer",
    "Schedule",
    "activation_layer",
    "layer_widths",
    "network_plan",
    "optimizer_plan",
    "output_head",
    "skip_connection",
]
