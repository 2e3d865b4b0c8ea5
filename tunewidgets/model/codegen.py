"""Plain Keras code that builds a trial's model, for students to read and reuse.

The code mirrors :func:`tunewidgets.model.build.build_model` line for line, with
the trial's values written in; ``tests/test_codegen.py`` runs it and compares
the model it builds with the engine's.
"""

from __future__ import annotations

import math
from typing import Any

from .head import output_head as head


def _reg(v: dict[str, Any]) -> str:
    penalty, s = v.get("penalty"), v.get("penalty_strength")
    if penalty == "l1":
        return f"keras.regularizers.L1({s!r})"
    if penalty == "l2":
        return f"keras.regularizers.L2({s!r})"
    if penalty == "l1_l2":
        return f"keras.regularizers.L1L2(l1={s!r}, l2={s!r})"
    return "None"


def _activation(name: str) -> str:
    return "keras.layers.LeakyReLU()" if name == "leaky_relu" else f"keras.layers.Activation({name!r})"


def _optimizer(v: dict[str, Any], steps_per_epoch: int, epochs: int) -> list[str]:
    lines = []
    lr = repr(float(v["learning_rate"]))
    schedule = v.get("lr_schedule") or "constant"
    if schedule == "exponential":
        lines.append(
            f"learning_rate = keras.optimizers.schedules.ExponentialDecay({lr}, "
            f"decay_steps={steps_per_epoch}, decay_rate={v['decay_rate']!r})  # decays every epoch"
        )
        lr = "learning_rate"
    elif schedule == "step":
        lines.append(
            f"learning_rate = keras.optimizers.schedules.ExponentialDecay({lr}, "
            f"decay_steps={steps_per_epoch * int(v['decay_epochs'])}, decay_rate={v['decay_rate']!r}, "
            f"staircase=True)  # every {int(v['decay_epochs'])} epochs"
        )
        lr = "learning_rate"
    elif schedule == "cosine":
        lines.append(
            f"learning_rate = keras.optimizers.schedules.CosineDecay({lr}, "
            f"decay_steps={max(1, steps_per_epoch * epochs)})  # to zero over training"
        )
        lr = "learning_rate"
    name = v["optimizer"]
    if name == "sgd":
        opt = (
            f"keras.optimizers.SGD({lr}, momentum={float(v.get('momentum') or 0.0)!r}, "
            f"nesterov={bool(v.get('nesterov'))!r})"
        )
    elif name == "adamw":
        opt = f"keras.optimizers.AdamW({lr}, weight_decay={float(v.get('weight_decay') or 0.0)!r})"
    else:
        cls = {"adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad"}[name]
        opt = f"keras.optimizers.{cls}({lr})"
    lines.append(f"optimizer = {opt}")
    return lines


def model_code(
    v: dict[str, Any], input_shape: tuple[int, ...], task: str, n_classes: int | None, steps_per_epoch: int, epochs: int
) -> str:
    """Python source that builds and compiles the model for build values ``v``."""
    reg = _reg(v)
    lines = ["import keras", ""]
    if reg != "None":
        lines.append(f"regularizer = {reg}")
        reg = "regularizer"
    lines.append(f"inputs = keras.Input(shape={tuple(input_shape)!r})")
    lines.append("x = inputs")
    spatial = list(input_shape[:2]) if len(input_shape) == 3 else None
    width = math.prod(input_shape)
    if v.get("conv_blocks"):
        for i in range(int(v["conv_blocks"])):
            filters = int(v["filters"]) * 2**i
            lines.append(
                f"x = keras.layers.Conv2D({filters}, {int(v['kernel_size'])}, padding='same', "
                f"kernel_regularizer={reg})(x)"
            )
            if v.get("batch_norm"):
                lines.append("x = keras.layers.BatchNormalization()(x)")
            lines.append(f"x = {_activation(v['activation'])}(x)")
            if spatial and spatial[0] >= 2 and spatial[1] >= 2:
                lines.append("x = keras.layers.MaxPooling2D(2)(x)")
                spatial = [spatial[0] // 2, spatial[1] // 2]
            width = spatial[0] * spatial[1] * filters if spatial else filters
    if len(input_shape) > 1:
        lines.append("x = keras.layers.Flatten()(x)")
    for units in v["units_per_layer"]:
        lines.append(f"h = keras.layers.Dense({units}, kernel_regularizer={reg})(x)")
        if v.get("batch_norm"):
            lines.append("h = keras.layers.BatchNormalization()(h)")
        lines.append(f"h = {_activation(v['activation'])}(h)")
        if v.get("dropout"):
            lines.append(f"h = keras.layers.Dropout({float(v['dropout'])!r})(h)")
        if v.get("residual"):
            if width == units:
                lines.append("h = keras.layers.Add()([x, h])  # skip connection")
            else:
                lines.append(
                    f"h = keras.layers.Add()([keras.layers.Dense({units}, use_bias=False)(x), h])"
                    "  # skip connection, projected"
                )
        lines.append("x = h")
        width = units
    out_units, activation, loss, metrics = head(task, n_classes)
    lines.append(f"outputs = keras.layers.Dense({out_units}, activation={activation!r})(x)")
    lines.append("model = keras.Model(inputs, outputs)")
    lines.append("")
    lines.extend(_optimizer(v, steps_per_epoch, epochs))
    lines.append(f"model.compile(optimizer=optimizer, loss={loss!r}, metrics={metrics!r})")
    lines.append(
        f"# model.fit(x_train, y_train, batch_size={int(v['batch_size'])}, epochs={epochs}, "
        "validation_data=(x_val, y_val))"
    )
    return "\n".join(lines) + "\n"
