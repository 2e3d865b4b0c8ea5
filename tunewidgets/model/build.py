"""The Keras model for one trial: its layers, its regularizer, its optimizer and schedule, its output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras

from ..errors import ProjectError
from ..spec.space import steps_per_epoch
from .head import output_head

if TYPE_CHECKING:
    from ..data import Dataset
    from ..spec import Spec


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
    units, activation, loss, metrics = output_head(dataset.task, dataset.n_classes)
    outputs = keras.layers.Dense(units, activation=activation, name="output")(x)
    model = keras.Model(inputs, outputs, name="tunewidgets_model")
    steps = steps_per_epoch(len(dataset.x_train), int(v["batch_size"]))
    model.compile(optimizer=make_optimizer(v, steps, epochs), loss=loss, metrics=metrics)
    return model


def trained_model(spec: Spec, dataset: Dataset, hyperparameters: dict[str, Any], checkpoint: Path) -> keras.Model:
    """A finished trial's model with its best epoch's weights, from its recorded hyperparameters."""
    from ..spec.space import epochs_per_trial
    from .space import values_from_hp

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


__all__ = ["build_model", "load_trial_weights", "make_optimizer", "output_head", "trained_model"]
