"""Plain Keras code that builds a trial's model, for students to read and reuse.

The code writes out the trial's plan (:mod:`tunewidgets.spec.plan`), the one
:func:`tunewidgets.model.build.build_model` walks into layers, with the trial's values
written in; ``tests/test_codegen.py`` runs it and compares the model it builds with the
engine's.
"""

from __future__ import annotations

from typing import Any

from ..spec import plan
from ..spec.plan import NetworkPlan, Optimizer


def _activation(name: str) -> str:
    cls, args = plan.activation_layer(name)
    return f"keras.layers.{cls}({', '.join(repr(a) for a in args)})"


def _kwargs(kwargs: Any) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _optimizer(opt: Optimizer) -> list[str]:
    lines = []
    lr = repr(opt.learning_rate)
    if opt.schedule is not None:
        s = opt.schedule
        lines.append(
            f"learning_rate = keras.optimizers.schedules.{s.keras_class}({lr}, {_kwargs(s.kwargs)})  # {s.note}"
        )
        lr = "learning_rate"
    args = ", ".join([lr, _kwargs(opt.kwargs)]) if opt.kwargs else lr
    lines.append(f"optimizer = keras.optimizers.{opt.keras_class}({args})")
    return lines


def model_code(
    v: dict[str, Any], input_shape: tuple[int, ...], task: str, n_classes: int | None, steps_per_epoch: int, epochs: int
) -> str:
    """Python source that builds and compiles the model for build values ``v``."""
    return plan_code(plan.network_plan(v, input_shape, task, n_classes, steps_per_epoch, epochs))


def plan_code(p: NetworkPlan) -> str:
    """Python source that builds and compiles the model of a network plan."""
    lines = ["import keras", ""]
    reg = "None"
    if p.regularizer is not None:
        lines.append(f"regularizer = keras.regularizers.{p.regularizer.keras_class}({_kwargs(p.regularizer.kwargs)})")
        reg = "regularizer"
    lines.append(f"inputs = keras.Input(shape={p.input_shape!r})")
    lines.append("x = inputs")
    for conv in p.convs:
        lines.append(
            f"x = keras.layers.Conv2D({conv.filters}, {conv.kernel_size}, padding='same', kernel_regularizer={reg})(x)"
        )
        if conv.batch_norm:
            lines.append("x = keras.layers.BatchNormalization()(x)")
        lines.append(f"x = {_activation(conv.activation)}(x)")
        if conv.pool:
            lines.append("x = keras.layers.MaxPooling2D(2)(x)")
    if p.flatten:
        lines.append("x = keras.layers.Flatten()(x)")
    for layer in p.dense:
        lines.append(f"h = keras.layers.Dense({layer.units}, kernel_regularizer={reg})(x)")
        if layer.batch_norm:
            lines.append("h = keras.layers.BatchNormalization()(h)")
        lines.append(f"h = {_activation(layer.activation)}(h)")
        if layer.dropout:
            lines.append(f"h = keras.layers.Dropout({layer.dropout!r})(h)")
        if layer.skip == "identity":
            lines.append("h = keras.layers.Add()([x, h])  # skip connection")
        elif layer.skip == "projection":
            lines.append(
                f"h = keras.layers.Add()([keras.layers.Dense({layer.units}, use_bias=False)(x), h])"
                "  # skip connection, projected"
            )
        lines.append("x = h")
    head = p.head
    lines.append(f"outputs = keras.layers.Dense({head.units}, activation={head.activation!r})(x)")
    lines.append("model = keras.Model(inputs, outputs)")
    lines.append("")
    lines.extend(_optimizer(p.optimizer))
    lines.append(f"model.compile(optimizer=optimizer, loss={head.loss!r}, metrics={list(head.metrics)!r})")
    lines.append(
        f"# model.fit(x_train, y_train, batch_size={p.batch_size}, epochs={p.epochs}, validation_data=(x_val, y_val))"
    )
    return "\n".join(lines) + "\n"
