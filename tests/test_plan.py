"""One plan of the network: the model, the code written for students and the size guard all follow it."""

from __future__ import annotations

import dataclasses
import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from tunewidgets.model.build import build_model, make_optimizer
from tunewidgets.model.codegen import model_code
from tunewidgets.model.hyperparameters import RecordedValues, declare
from tunewidgets.spec import Fixed, Range, Spec, choice, fields, plan
from tunewidgets.spec.datasets import builtin_shape
from tunewidgets.spec.size import OPTIMIZER_SLOTS, largest_model
from tunewidgets.spec.space import is_active, possible, steps_per_epoch

from .test_codegen import BASE, describe

ROWS = 40
EPOCHS = 3


def data(shape, task="multiclass", n_classes=3):
    """What build_model reads of a Dataset, for inputs of any shape."""
    classes = n_classes if task == "multiclass" else None
    return SimpleNamespace(
        input_shape=tuple(shape), task=task, n_classes=classes, x_train=np.zeros((ROWS, *shape), "float32")
    )


def planned(values, ds):
    steps = steps_per_epoch(ROWS, int(values["batch_size"]))
    return plan.network_plan(values, ds.input_shape, ds.task, ds.n_classes, steps, EPOCHS)


def generated(values, ds):
    steps = steps_per_epoch(ROWS, int(values["batch_size"]))
    namespace: dict = {}
    code = model_code(values, ds.input_shape, ds.task, ds.n_classes, steps, EPOCHS)
    exec(compile(code, "<generated>", "exec"), namespace)  # our own generated code, in a test
    return namespace["model"], code


def cnn(blocks, **extra):
    return dict(BASE, conv_blocks=blocks, filters=4, kernel_size=3, **extra)


NETWORKS = {
    "dense": (dict(BASE, units_per_layer=[8, 8]), (4,)),
    "no-hidden-layers": (dict(BASE, layers=0, units_per_layer=[]), (5,)),
    "funnel-residual": (dict(BASE, units_per_layer=plan.layer_widths("funnel", 16, 4), residual=True), (16,)),
    "funnel-to-one-residual-bn": (
        dict(BASE, units_per_layer=plan.layer_widths("funnel", 2, 4), residual=True, batch_norm=True),
        (3,),
    ),
    "free-residual": (dict(BASE, units_per_layer=plan.layer_widths("free", 8, 3, {1: 8, 2: 5}), residual=True), (8,)),
    "dense-on-images": (dict(BASE, units_per_layer=[6]), (4, 4, 2)),
    "cnn-1x1": (cnn(2, batch_norm=True), (1, 1, 2)),
    "cnn-3x3": (cnn(3, residual=True, units_per_layer=[4, 4]), (3, 3, 1)),
    "cnn-2x5": (cnn(2, activation="leaky_relu"), (2, 5, 3)),
    "cnn-8x8-bn-residual": (cnn(2, batch_norm=True, residual=True, units_per_layer=[128, 32]), (8, 8, 1)),
    "l1-dropout": (dict(BASE, penalty="l1", penalty_strength=0.01, dropout=0.25), (4,)),
    "l1_l2-cnn": (cnn(1, penalty="l1_l2", penalty_strength=0.001), (4, 4, 1)),
}


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_the_plan_counts_what_keras_builds_and_the_code_builds_the_same(network, task):
    values, shape = NETWORKS[network]
    ds = data(shape, task)
    p = planned(values, ds)
    model = build_model(values, ds, EPOCHS)
    assert model.count_params() == p.weights()
    assert [layer.name for layer in model.layers if layer.name.startswith("pool_")] == [
        f"pool_{i}" for i, conv in enumerate(p.convs) if conv.pool
    ]
    assert sum(layer.name.startswith("skip_") for layer in model.layers) == sum(d.skip == "projection" for d in p.dense)
    if p.flatten:
        assert model.get_layer("flatten").output.shape[-1] == p.flat_width
    code_model, _ = generated(values, ds)
    assert describe(code_model) == describe(model)


def test_the_pooling_and_skip_rules():
    p = planned(cnn(3), data((3, 3, 1)))
    assert [c.pool for c in p.convs] == [True, False, False]  # 3x3 -> 1x1, then nothing left to pool
    assert not any(c.pool for c in planned(cnn(2), data((1, 4, 1))).convs)
    p = planned(dict(BASE, units_per_layer=[4, 4, 2], residual=True), data((4,)))
    assert [d.skip for d in p.dense] == ["identity", "identity", "projection"]
    assert plan.layer_widths("funnel", 5, 4) == [5, 2, 1, 1]


SCHEDULES = {
    "constant": {},
    "exponential": {"decay_rate": 0.5},
    "step": {"decay_rate": 0.5, "decay_epochs": 2},
    "cosine": {},
}
OPTIMIZERS = {"sgd": {"momentum": 0.9, "nesterov": True}, "adamw": {"weight_decay": 0.01}}


@pytest.mark.parametrize("name,schedule", list(itertools.product(fields.OPTIMIZERS, fields.SCHEDULES)))
def test_each_optimizer_and_schedule(name, schedule):
    values = dict(BASE, optimizer=name, lr_schedule=schedule, **OPTIMIZERS.get(name, {}), **SCHEDULES[schedule])
    ds = data((3,))
    model = build_model(values, ds, EPOCHS)
    assert type(model.optimizer).__name__ == planned(values, ds).optimizer.keras_class
    code_model, code = generated(values, ds)
    assert describe(code_model) == describe(model)
    assert ("learning_rate = keras.optimizers.schedules" in code) == (schedule != "constant")
    opt = make_optimizer(values, steps_per_epoch(ROWS, int(values["batch_size"])), EPOCHS)
    assert {**opt.get_config(), "name": None} == {**model.optimizer.get_config(), "name": None}


@pytest.mark.parametrize("name", fields.OPTIMIZERS)
def test_the_optimizer_table_covers_the_spec_and_keeps_enough_copies(name):
    assert set(plan.OPTIMIZER_TABLE) == set(fields.OPTIMIZERS)
    assert set(plan.PENALTIES) | {"none"} == set(fields.PENALTIES)
    assert OPTIMIZER_SLOTS[name] == plan.OPTIMIZER_TABLE[name].slots
    model = build_model(dict(BASE, optimizer=name, units_per_layer=[5], **OPTIMIZERS.get(name, {})), data((3,)), 2)
    model.optimizer.build(model.trainable_variables)
    kernel = model.get_layer("dense_0").kernel
    copies = sum(tuple(v.shape) == tuple(kernel.shape) for v in model.optimizer.variables)
    assert 1 <= copies <= plan.OPTIMIZER_TABLE[name].slots


FIXED_SPECS = {
    "dense": {"data.name": "moons", "model.layers": Fixed(2), "model.units": Fixed(12)},
    "funnel-residual-bn": {
        "data.name": "iris",
        "model.layers": Fixed(3),
        "model.units": Fixed(8),
        "model.shape": Fixed("funnel"),
        "model.residual": Fixed(True),
        "model.batch_norm": Fixed(True),
    },
    "cnn": {
        "data.name": "digits",
        "model.architecture": "cnn",
        "model.conv_blocks": Fixed(2),
        "model.filters": Fixed(4),
        "model.kernel_size": Fixed(3),
        "model.layers": Fixed(1),
        "model.units": Fixed(16),
        "model.residual": Fixed(True),
    },
}


def one_point(name):
    """A spec whose network has one form, its build values, its inputs and a stand-in for its data."""
    spec = Spec().replace(**{"model.activation": Fixed("relu"), **FIXED_SPECS[name]})
    shape, outputs = builtin_shape(spec)
    task = {"moons": "binary", "iris": "multiclass", "digits": "multiclass"}[spec.data.name]
    return spec, declare(spec, RecordedValues({})), shape, outputs, data(shape, task, outputs)


@pytest.mark.parametrize("name", sorted(FIXED_SPECS))
def test_the_size_guard_counts_the_plan(name):
    spec, values, shape, outputs, ds = one_point(name)
    assert largest_model(spec, shape, outputs).weights == build_model(values, ds, EPOCHS).count_params()


SPACES = {
    "cnn": (
        {
            "data.name": "digits",
            "model.architecture": "cnn",
            "model.conv_blocks": Range(1, 3),
            "model.filters": choice(2, 4),
            "model.layers": Range(1, 2),
            "model.units": choice(16, 48),
            "model.shape": choice("constant", "funnel"),
            "model.residual": choice(False, True),
            "model.batch_norm": choice(False, True),
        },
        {
            "conv_blocks": [1, 2, 3],
            "filters": [2, 4],
            "layers": [1, 2],
            "units": [16, 48],
            "shape": ["constant", "funnel"],
            "residual": [False, True],
            "batch_norm": [False, True],
        },
    ),
    "free": (
        {"data.name": "moons", "model.layers": Range(1, 3), "model.units": choice(4, 8), "model.shape": Fixed("free")},
        {"layers": [1, 2, 3], "units": [4, 8], "units_1": [4, 8], "units_2": [4, 8]},
    ),
}


@pytest.mark.parametrize("name", sorted(SPACES))
def test_the_largest_model_is_the_largest_plan_of_the_space(name):
    changes, grid = SPACES[name]
    spec = Spec().replace(**changes)
    shape, outputs = builtin_shape(spec)
    task = "binary" if outputs == 1 else "multiclass"
    largest = 0
    for combo in itertools.product(*grid.values()):
        values = declare(spec, RecordedValues(dict(zip(grid, combo, strict=True))))
        largest = max(largest, plan.network_plan(values, shape, task, outputs, 1, 1).weights())
    assert largest_model(spec, shape, outputs).weights == largest


#: Spaces where a narrower layer weighs more (a skip connection between equal widths has no weights, one
#: between different widths a projection): every combination of their knobs' values is built.
SKIP_SPACES = {
    "free-a-narrower-width-wins": {
        "data.name": "moons",
        "model.layers": Fixed(3),
        "model.units": choice(112, 128),
        "model.shape": Fixed("free"),
        "model.residual": Fixed(True),
    },
    "free-many-widths-the-input-width-among-them": {
        "data.name": "iris",
        "model.layers": Range(0, 3),
        "model.units": Range(1, 7),
        "model.shape": Fixed("free"),
        "model.residual": choice(False, True),
    },
    "constant-or-funnel-the-input-width-among-many": {
        "data.name": "iris",
        "model.layers": Range(1, 4),
        "model.units": Range(1, 9),
        "model.shape": choice("constant", "funnel"),
        "model.residual": choice(True, False),
        "model.batch_norm": choice(False, True),
    },
    "constant-or-funnel-a-narrower-width-wins": {  # 16 inputs to 12 units: projected; to 16: added as they are
        "data.name": "classification",
        "data.features": 16,
        "model.layers": Range(1, 2),
        "model.units": choice(12, 16),
        "model.shape": choice("constant", "funnel"),
        "model.residual": Fixed(True),
    },
    "every-shape": {
        "data.name": "iris",
        "model.layers": Range(1, 3),
        "model.units": choice(2, 3, 4, 5),
        "model.shape": choice("constant", "funnel", "free"),
        "model.residual": Fixed(True),
        "model.batch_norm": choice(False, True),
    },
    "cnn-flat-width-equals-a-dense-width": {
        "data.name": "digits",
        "model.architecture": "cnn",
        "model.conv_blocks": Range(1, 3),
        "model.filters": choice(2, 4, 6),
        "model.kernel_size": choice(1, 3),
        "model.layers": Range(1, 2),
        "model.units": choice(16, 24, 32),
        "model.shape": choice("constant", "free"),
        "model.residual": Fixed(True),
    },
    "cnn-fewer-filters-win": {  # 30 filters: 120 inputs projected to 128 units; 32: 128 added as they are
        "data.name": "digits",
        "model.architecture": "cnn",
        "model.conv_blocks": Fixed(3),
        "model.filters": choice(30, 32),
        "model.kernel_size": Fixed(3),
        "model.layers": Fixed(1),
        "model.units": Fixed(128),
        "model.residual": Fixed(True),
    },
}
NETWORK_KNOBS = {
    "layers": "int",
    "units": "int",
    "shape": "str",
    "batch_norm": "bool",
    "residual": "bool",
    "conv_blocks": "int",
    "filters": "int",
    "kernel_size": "int",
}


def every_network(spec):
    """The weights of every network of the space: each combination of its knobs' values (and of each free
    layer's own width), declared as a trial declares it and planned."""
    shape, outputs = builtin_shape(spec)
    task = "binary" if outputs == 1 else "multiclass"
    knobs = {n: possible(getattr(spec.model, n), k) for n, k in NETWORK_KNOBS.items() if is_active(spec, "model", n)}
    for combo in itertools.product(*knobs.values()):
        values = dict(zip(knobs, combo, strict=True))
        later = int(values["layers"]) - 1 if values["shape"] == "free" else 0
        for own in itertools.product(knobs["units"], repeat=max(0, later)):
            recorded = {**values, **{f"units_{i}": u for i, u in enumerate(own, 1)}}
            built = declare(spec, RecordedValues(recorded))
            yield plan.network_plan(built, shape, task, outputs, 1, 1).weights()


@pytest.mark.parametrize("name", sorted(SKIP_SPACES))
def test_the_largest_model_counts_skip_connections_between_equal_widths(name):
    spec = Spec().replace(**SKIP_SPACES[name])
    shape, outputs = builtin_shape(spec)
    assert largest_model(spec, shape, outputs).weights == max(every_network(spec))


def heaviest_free_layers(width_in, widths, layers, batch_norm, residual, outputs):
    """The most weights of free-shaped hidden layers (then the output layer) on ``width_in`` inputs: a
    dynamic program over every width after every width, on arrays, with the plan's own rules."""
    a, b = np.array(widths, dtype=np.int64)[:, None], np.array(widths, dtype=np.int64)[None, :]

    def layer(inputs, units):
        same = plan.Dense(units, batch_norm, "relu", 0.0, plan.skip_connection(1, 1, residual)).weights(inputs)
        other = plan.Dense(units, batch_norm, "relu", 0.0, plan.skip_connection(1, 2, residual)).weights(inputs)
        return np.where(inputs == units, same, other)

    head = output_head(outputs)
    best, largest = layer(np.int64(width_in), b[0]), 0
    for _ in range(layers):
        largest = max(largest, int((best + head.weights(b[0])).max()))
        best = (best[:, None] + layer(a, b)).max(axis=0)
    return largest


def output_head(outputs):
    return plan.output_head("binary" if outputs == 1 else "multiclass", outputs)


@pytest.mark.parametrize(
    "data,units,layers", [("iris", Range(1, 48), 6), ("moons", Range(8, 1024), 8), ("wine", choice(13, 12, 6), 5)]
)
def test_the_largest_model_of_a_wide_free_space_with_skip_connections(data, units, layers):
    spec = Spec().replace(
        **{
            "data.name": data,
            "model.units": units,
            "model.layers": Range(1, layers),
            "model.shape": Fixed("free"),
            "model.residual": Fixed(True),
        }
    )
    shape, outputs = builtin_shape(spec)
    widths = possible(units, "int")
    expected = heaviest_free_layers(shape[0], widths, layers, False, True, outputs)
    assert largest_model(spec, shape, outputs).weights == expected
    widest = dict(BASE, units_per_layer=[max(widths)] * layers, residual=True)
    task, classes = ("multiclass", outputs) if outputs > 1 else ("regression", None)  # as largest_model's head
    assert expected > plan.network_plan(widest, shape, task, classes, 1, 1).weights()  # its skips weigh nothing


def test_the_size_guards_example_of_a_narrower_width_that_weighs_more():
    spec = Spec().replace(**SKIP_SPACES["free-a-narrower-width-wins"])
    assert largest_model(spec, (2,), 1).weights == 58_353  # 128, 112, 128 wide: the top's 128 throughout has 33,793


def one_more_layer(p):
    return dataclasses.replace(p, dense=(*p.dense, plan.Dense(7, False, "relu", 0.0, None)))


def no_pooling(p):
    return dataclasses.replace(p, convs=tuple(dataclasses.replace(c, pool=False) for c in p.convs))


@pytest.mark.parametrize(
    "name,knob",
    [("dense", one_more_layer), ("cnn", one_more_layer), ("cnn", no_pooling), ("funnel-residual-bn", no_pooling)],
)
def test_a_knob_added_in_the_plan_changes_the_model_the_code_and_the_size_together(monkeypatch, name, knob):
    spec, values, shape, outputs, ds = one_point(name)
    before = largest_model(spec, shape, outputs).weights
    original = plan.network_plan
    monkeypatch.setattr(plan, "network_plan", lambda *a, **k: knob(original(*a, **k)))
    expected = planned(values, ds)
    changed = expected.weights() != before
    assert changed == (knob is one_more_layer or name == "cnn")  # a network without convolutions has nothing to pool

    model = build_model(values, ds, EPOCHS)
    assert model.count_params() == expected.weights()
    assert [layer.units for layer in model.layers if layer.name.startswith("dense_")] == [
        d.units for d in expected.dense
    ]
    assert sum(layer.name.startswith("pool_") for layer in model.layers) == sum(c.pool for c in expected.convs)
    code_model, code = generated(values, ds)
    assert describe(code_model) == describe(model)
    assert code.count("keras.layers.Dense(7,") == (knob is one_more_layer)
    assert largest_model(spec, shape, outputs).weights == expected.weights()


def _plan_args(values, ds):
    return values, ds.input_shape, ds.task, ds.n_classes, steps_per_epoch(ROWS, int(values["batch_size"])), EPOCHS


def test_plans_compare_and_refuse_what_cannot_be_built():
    ds = data((4,))
    assert planned(dict(BASE), ds) == planned(dict(BASE), ds)
    assert planned(dict(BASE), ds) != planned(dict(BASE, units_per_layer=[32, 16]), ds)
    with pytest.raises(ValueError, match="images"):
        planned(cnn(1), ds)
    with pytest.raises(ValueError, match="schedule"):
        planned(dict(BASE, lr_schedule="linear"), ds)
