"""The Keras code shown to students builds the same model as the engine."""

from __future__ import annotations

import math

import pytest

from tunewidgets.data import prepare
from tunewidgets.model.build import build_model
from tunewidgets.model.codegen import model_code
from tunewidgets.spec import DataSpec

BASE = {
    "layers": 2,
    "units_per_layer": [32, 32],
    "activation": "relu",
    "batch_norm": False,
    "residual": False,
    "penalty": "none",
    "penalty_strength": None,
    "dropout": 0.0,
    "optimizer": "adam",
    "learning_rate": 0.01,
    "batch_size": 32,
}

CASES = {
    "plain": {},
    "funnel-residual-bn": {"units_per_layer": [64, 32, 16], "layers": 3, "residual": True, "batch_norm": True},
    "l1l2-dropout-sgd-step": {
        "penalty": "l1_l2",
        "penalty_strength": 0.001,
        "dropout": 0.2,
        "optimizer": "sgd",
        "momentum": 0.9,
        "nesterov": True,
        "lr_schedule": "step",
        "decay_rate": 0.5,
        "decay_epochs": 2,
    },
    "adamw-cosine-leaky": {
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "lr_schedule": "cosine",
        "activation": "leaky_relu",
    },
    "rmsprop-exponential-l2": {
        "optimizer": "rmsprop",
        "lr_schedule": "exponential",
        "decay_rate": 0.9,
        "penalty": "l2",
        "penalty_strength": 0.01,
    },
    "no-hidden-layers": {"layers": 0, "units_per_layer": []},
}


def describe(model):
    layers = [(type(layer).__name__, layer.count_params()) for layer in model.layers]
    opt = model.optimizer.get_config()
    opt.pop("name", None)
    return layers, model.count_params(), type(model.optimizer).__name__, opt, model.loss


@pytest.mark.parametrize("data", ["moons", "iris", "diabetes"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_code_builds_the_same_model(case, data):
    ds = prepare(DataSpec(name=data, samples=80))
    values = dict(BASE, **CASES[case])
    steps = math.ceil(len(ds.x_train) / values["batch_size"])
    code = model_code(values, ds.input_shape, ds.task, ds.n_classes, steps, epochs=5)
    namespace: dict = {}
    exec(compile(code, "<generated>", "exec"), namespace)  # our own generated code, in a test
    assert describe(namespace["model"]) == describe(build_model(values, ds, epochs=5))


@pytest.mark.parametrize("blocks,residual_units", [(1, 16), (2, 64)])
def test_generated_cnn_code(blocks, residual_units):
    ds = prepare(DataSpec(name="digits"))
    values = dict(
        BASE,
        conv_blocks=blocks,
        filters=8,
        kernel_size=3,
        residual=True,
        batch_norm=True,
        units_per_layer=[residual_units, residual_units],
    )
    code = model_code(values, ds.input_shape, ds.task, ds.n_classes, 10, epochs=3)
    namespace: dict = {}
    exec(compile(code, "<generated>", "exec"), namespace)
    assert describe(namespace["model"]) == describe(build_model(values, ds, epochs=3))
