"""Search space and model building from specs (builds real Keras models, no training)."""

from __future__ import annotations

import math

import keras
import keras_tuner as kt
import pytest

from tunewidgets.data import prepare
from tunewidgets.errors import SpecError
from tunewidgets.model.build import build_model, make_optimizer
from tunewidgets.model.spec_hypermodel import SpecHyperModel
from tunewidgets.spec import Choice, DataSpec, Fixed, Range, Spec, choice
from tunewidgets.spec.budget import hyperband_trials, planned_trials, search_space_size

from .test_codegen import BASE


@pytest.fixture(scope="module")
def moons():
    return prepare(DataSpec(name="moons", samples=100))


@pytest.fixture(scope="module")
def digits():
    return prepare(DataSpec(name="digits"))


def space_of(spec, ds):
    hp = kt.HyperParameters()
    SpecHyperModel(spec, ds).declare(hp)
    return hp


def test_knobs_map_to_keras_tuner_types(moons):
    spec = Spec().replace(
        **{
            "model.layers": Range(1, 3),
            "model.units": Range(8, 64, 8),
            "model.batch_norm": choice(False, True),
            "optimizer.learning_rate": Range(1e-4, 1e-1, log=True),
            "optimizer.name": Fixed("adam"),
            "training.batch_size": choice(16, 32),
        }
    )
    hp = space_of(spec, moons)
    kinds = {p.name: p for p in hp.space}
    assert isinstance(kinds["layers"], kt.engine.hyperparameters.Int)
    assert (kinds["units"].min_value, kinds["units"].max_value, kinds["units"].step) == (8, 64, 8)
    assert isinstance(kinds["learning_rate"], kt.engine.hyperparameters.Float)
    assert kinds["learning_rate"].sampling == "log"
    assert isinstance(kinds["batch_norm"], kt.engine.hyperparameters.Boolean)
    assert isinstance(kinds["optimizer"], kt.engine.hyperparameters.Fixed)
    assert list(kinds["batch_size"].values) == [16, 32]
    # adam is fixed: SGD's momentum is not part of the space at all
    assert "momentum" not in kinds


def test_momentum_is_conditional_on_sgd(moons):
    spec = Spec().replace(**{"optimizer.name": choice("sgd", "adam"), "optimizer.momentum": Range(0.0, 0.9)})
    hp = space_of(spec, moons)
    momentum = next(p for p in hp.space if p.name == "momentum")
    assert [(c.name, list(c.values)) for c in momentum.conditions] == [("optimizer", ["sgd"])]
    hp.values["optimizer"] = "adam"
    assert not hp.is_active("momentum")
    hp.values["optimizer"] = "sgd"
    assert hp.is_active("momentum")


def test_free_shape_declares_units_per_layer(moons):
    spec = Spec().replace(**{"model.layers": Range(1, 3), "model.shape": choice("constant", "free")})
    hp = space_of(spec, moons)
    names = [p.name for p in hp.space]
    assert "units_1" in names and "units_2" in names and "units_3" not in names
    units_2 = next(p for p in hp.space if p.name == "units_2")
    assert {c.name: list(c.values) for c in units_2.conditions} == {"layers": [3]}
    spec = spec.replace(**{"model.layers": Fixed(2)})
    units_1 = next(p for p in space_of(spec, moons).space if p.name == "units_1")
    assert {c.name: list(c.values) for c in units_1.conditions} == {"shape": ["free"]}


@pytest.mark.parametrize("shape,expected", [("constant", [64, 64, 64]), ("funnel", [64, 32, 16])])
def test_network_shape(moons, shape, expected):
    spec = Spec().replace(**{"model.layers": Fixed(3), "model.units": Fixed(64), "model.shape": Fixed(shape)})
    model = SpecHyperModel(spec, moons).build(space_of(spec, moons))
    dense = [layer.units for layer in model.layers if layer.name.startswith("dense_")]
    assert dense == expected


def test_regularization_dropout_residual_batchnorm(moons):
    spec = Spec().replace(
        **{
            "model.layers": Fixed(2),
            "model.units": Fixed(16),
            "model.residual": Fixed(True),
            "model.batch_norm": Fixed(True),
            "regularization.penalty": Fixed("l1_l2"),
            "regularization.strength": Fixed(0.01),
            "regularization.dropout": Fixed(0.3),
        }
    )
    model = SpecHyperModel(spec, moons).build(space_of(spec, moons))
    names = [layer.name for layer in model.layers]
    assert {"bn_0", "dropout_0", "add_0", "add_1", "skip_0"} <= set(names)
    dense = model.get_layer("dense_0")
    assert isinstance(dense.kernel_regularizer, keras.regularizers.L1L2)
    assert model.get_layer("dropout_1").rate == pytest.approx(0.3)


@pytest.mark.parametrize(
    "name,extra,cls",
    [
        ("sgd", {"momentum": 0.9, "nesterov": True}, keras.optimizers.SGD),
        ("adam", {}, keras.optimizers.Adam),
        ("adamw", {"weight_decay": 0.01}, keras.optimizers.AdamW),
        ("rmsprop", {}, keras.optimizers.RMSprop),
        ("adagrad", {}, keras.optimizers.Adagrad),
    ],
)
def test_optimizers(name, extra, cls):
    opt = make_optimizer({"optimizer": name, "learning_rate": 0.01, **extra}, steps_per_epoch=10, epochs=5)
    assert isinstance(opt, cls)
    if name == "sgd":
        assert opt.momentum == pytest.approx(0.9) and opt.nesterov


@pytest.mark.parametrize(
    "schedule,extra,lr_after_20_steps",
    [
        ("constant", {}, 0.1),
        ("exponential", {"decay_rate": 0.5}, 0.1 * 0.5**2),  # 10 steps per epoch: two decays
        ("step", {"decay_rate": 0.5, "decay_epochs": 3}, 0.1),  # staircase: none before epoch 3
        ("cosine", {}, 0.1 * 0.5 * (1 + math.cos(math.pi * 20 / 50))),
    ],
)
def test_learning_rate_schedules(schedule, extra, lr_after_20_steps):
    opt = make_optimizer(
        {"optimizer": "sgd", "learning_rate": 0.1, "lr_schedule": schedule, **extra}, steps_per_epoch=10, epochs=5
    )
    lr = opt.learning_rate if schedule == "constant" else opt._learning_rate(20)
    assert float(lr) == pytest.approx(lr_after_20_steps, rel=1e-5)


@pytest.mark.parametrize(
    "task_data,units,loss",
    [("moons", 1, "binary_crossentropy"), ("iris", 3, "sparse_categorical_crossentropy"), ("diabetes", 1, "mse")],
)
def test_output_head_follows_task(task_data, units, loss):
    ds = prepare(DataSpec(name=task_data, samples=60))
    spec = Spec().replace(**{"data.name": task_data, "tuner.objective": "val_loss"})
    model = SpecHyperModel(spec, ds).build(space_of(spec, ds))
    assert model.output_shape == (None, units)
    assert model.loss == loss


def test_cnn_on_digits(digits):
    spec = Spec.from_file("examples/specs/digits_cnn.json")
    hp = space_of(spec, digits)
    hp.values.update({"conv_blocks": 2, "filters": 8, "layers": 1})
    model = SpecHyperModel(spec, digits).build(hp)
    convs = [layer for layer in model.layers if layer.name.startswith("conv_")]
    assert [c.filters for c in convs] == [8, 16]
    assert model.input_shape == (None, 8, 8, 1) and model.output_shape == (None, 10)


def test_build_model_from_values_predicts(moons):
    values = dict(BASE, layers=1, units_per_layer=[4], batch_size=16)
    model = build_model(values, moons, epochs=2)
    assert model.predict(moons.x_test[:3], verbose=0).shape == (3, 1)


def test_space_size_matches_grid_enumeration(moons, tmp_path):
    spec = Spec.from_file("examples/specs/grid.json").replace(
        **{
            "optimizer.name": choice("sgd", "adam"),
            "optimizer.momentum": choice(0.0, 0.9),
            "tuner.max_trials": 1000,
        }
    )
    # 2 layers x 2 units x 2 lr x 2 batch x (sgd: 2 momentum + adam: 1) = 48
    assert search_space_size(spec) == 48
    assert planned_trials(spec) == 48
    oracle = kt.oracles.GridSearchOracle(objective="val_loss", max_trials=1000)
    hp = space_of(spec, moons)
    oracle.hyperparameters = hp.copy()
    oracle._set_project_dir(str(tmp_path), "grid")
    seen = set()
    for i in range(100):
        trial = oracle.create_trial(f"t{i}")
        if trial.status != "RUNNING":
            break
        seen.add(tuple(sorted(trial.hyperparameters.values.items())))
        trial.status = "COMPLETED"
        oracle.update_trial(trial.trial_id, {"val_loss": 1.0})
        oracle.end_trial(trial)
    assert len(seen) == 48


@pytest.mark.parametrize("max_epochs,factor,iterations", [(9, 3, 1), (10, 3, 1), (27, 3, 2), (8, 2, 1)])
def test_hyperband_plan_matches_keras_tuner(max_epochs, factor, iterations, tmp_path):
    oracle = kt.oracles.HyperbandOracle(
        objective="val_loss", max_epochs=max_epochs, factor=factor, hyperband_iterations=iterations, seed=1
    )
    hp = kt.HyperParameters()
    hp.Float("x", 0, 1)
    oracle.hyperparameters = hp
    oracle._set_project_dir(str(tmp_path), "hb")
    runs = []
    for _ in range(1000):
        trial = oracle.create_trial("t0")
        if trial.status == "STOPPED":
            break
        values = trial.hyperparameters.values
        runs.append((values["tuner/epochs"], values["tuner/initial_epoch"]))
        trial.status = "COMPLETED"
        oracle.update_trial(trial.trial_id, {"val_loss": values["x"]})
        oracle.end_trial(trial)
    assert sorted(runs) == sorted(hyperband_trials(max_epochs, factor, iterations))


def test_space_size_counts_conditionals_and_continuous():
    spec = Spec().replace(
        **{
            "model.layers": Fixed(1),
            "model.units": choice(8, 16),
            "model.activation": Fixed("relu"),
            "optimizer.learning_rate": Fixed(0.01),
            "training.batch_size": Fixed(32),
            "regularization.penalty": choice("none", "l2"),
            "regularization.strength": choice(0.1, 0.01, 0.001),
        }
    )
    assert search_space_size(spec) == 2 * (1 + 3)
    assert math.isinf(search_space_size(Spec()))
    assert search_space_size(spec.replace(**{"training.batch_size": Choice((16, 32, 64))})) == 3 * 2 * (1 + 3)


def test_your_own_models_section_is_replaced_field_by_field_as_the_docs_word_it():
    spec = Spec().replace(**{"hypermodel.hyperparameters": {"units": Range(8, 32, 8), "learning_rate": 0.01}})
    assert spec.hypermodel.overrides == {"units": Range(8, 32, 8), "learning_rate": Fixed(0.01)}
    spec = spec.replace(
        **{"hypermodel.hyperparameters.units": {"choices": [8, 16]}, "hypermodel.tune_new_entries": False}
    )
    assert spec.hypermodel.overrides["units"] == Choice((8, 16)) and spec.hypermodel.tune_new_entries is False
    assert Spec.from_json(spec.to_json()) == spec  # through its JSON form and back
    with pytest.raises(SpecError, match="hypermodel.typo: unknown field"):
        Spec().replace(**{"hypermodel.typo": 1})
    with pytest.raises(SpecError, match="hypermodel.tune_new_entries: expected true or false"):
        Spec().replace(**{"hypermodel.tune_new_entries": "no"})
