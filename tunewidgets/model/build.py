"""The Keras model for one trial: its plan (:mod:`tunewidgets.spec.plan`: layers, regularizer, optimizer and
schedule, output) walked into Keras layers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras

from ..errors import ProjectError
from ..spec import plan
from ..spec.plan import NetworkPlan, Optimizer, Regularizer
from ..spec.space import steps_per_epoch

if TYPE_CHECKING:
    from ..data import Dataset
    from ..spec import Spec


def _regularizer(reg: Regularizer | None) -> Any:
    return None if reg is None else getattr(keras.regularizers, reg.keras_class)(**reg.kwargs)


def _activation(name: str) -> Any:
    cls, args = plan.activation_layer(name)
    return getattr(keras.layers, cls)(*args)


def _optimizer(opt: Optimizer) -> keras.optimizers.Optimizer:
    lr: Any = opt.learning_rate
    if opt.schedule is not None:
        lr = getattr(keras.optimizers.schedules, opt.schedule.keras_class)(lr, **opt.schedule.kwargs)
    return getattr(keras.optimizers, opt.keras_class)(lr, **opt.kwargs)


def make_optimizer(values: dict[str, Any], steps_per_epoch: int, epochs: int) -> keras.optimizers.Optimizer:
    """A Keras optimizer (with its learning-rate schedule) from hyperparameter values."""
    return _optimizer(plan.optimizer_plan(values, steps_per_epoch, epochs))


def build_model(v: dict[str, Any], dataset: Dataset, epochs: int) -> keras.Model:
    """The compiled Keras model for one set of hyperparameter values."""
    steps = steps_per_epoch(len(dataset.x_train), int(v["batch_size"]))
    return plan_model(plan.network_plan(v, dataset.input_shape, dataset.task, dataset.n_classes, steps, epochs))


def plan_model(p: NetworkPlan) -> keras.Model:
    """The compiled Keras model of a network plan."""
    reg = _regularizer(p.regularizer)
    inputs = keras.Input(shape=p.input_shape, name="inputs")
    x = inputs
    for i, conv in enumerate(p.convs):
        x = keras.layers.Conv2D(
            conv.filters, conv.kernel_size, padding="same", kernel_regularizer=reg, name=f"conv_{i}"
        )(x)
        if conv.batch_norm:
            x = keras.layers.BatchNormalization(name=f"conv_bn_{i}")(x)
        x = _activation(conv.activation)(x)
        if conv.pool:
            x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    if p.flatten:
        x = keras.layers.Flatten(name="flatten")(x)
    for i, layer in enumerate(p.dense):
        h = keras.layers.Dense(layer.units, kernel_regularizer=reg, name=f"dense_{i}")(x)
        if layer.batch_norm:
            h = keras.layers.BatchNormalization(name=f"bn_{i}")(h)
        h = _activation(layer.activation)(h)
        if layer.dropout:
            h = keras.layers.Dropout(layer.dropout, name=f"dropout_{i}")(h)
        if layer.skip is not None:
            skip = (
                x if layer.skip == "identity" else keras.layers.Dense(layer.units, use_bias=False, name=f"skip_{i}")(x)
            )
            h = keras.layers.Add(name=f"add_{i}")([skip, h])
        x = h
    head = p.head
    outputs = keras.layers.Dense(head.units, activation=head.activation, name="output")(x)
    model = keras.Model(inputs, outputs, name="tunewidgets_model")
    model.compile(optimizer=_optimizer(p.optimizer), loss=head.loss, metrics=list(head.metrics))
    return model


def trained_model(spec: Spec, dataset: Dataset, hyperparameters: dict[str, Any], checkpoint: Path) -> keras.Model:
    """A finished trial's model with its best epoch's weights, from its recorded hyperparameters."""
    from ..spec.space import epochs_per_trial
    from .hyperparameters import values_from_hp

    if not Path(checkpoint).exists():
        raise FileNotFoundError(f"this trial has no saved weights ({checkpoint})")
    model = build_model(values_from_hp(spec, hyperparameters), dataset, epochs_per_trial(spec))
    model.optimizer.build(model.trainable_variables)  # the checkpoint holds optimizer state too
    load_trial_weights(model, checkpoint)
    return model


def load_trial_weights(model: keras.Model, checkpoint: Path | str) -> None:
    """A trial's best-epoch weights into its rebuilt model; a damaged file is named with what it is and what to
    do, not in h5py's words."""
    try:
        model.load_weights(str(checkpoint))
    except OSError as e:  # h5py: "Unable to synchronously open file (truncated file ...)", a bad signature
        said = str(e).split("(")[-1].rstrip(")") if "(" in str(e) else str(e)
        raise ProjectError(
            f"this trial's saved weights ({checkpoint}) are damaged and cannot be read ({said}); its score is "
            "kept, not its model: choose another trial, or train it again in a new search"
        ) from None


__all__ = ["build_model", "load_trial_weights", "make_optimizer", "plan_model", "trained_model"]
