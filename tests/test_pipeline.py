"""Input pipelines built once per worker: every epoch sees every row once, fits read them (real Keras training)."""

from __future__ import annotations

import math

import keras
import keras_tuner as kt
import numpy as np
import pytest

from tunewidgets.data import prepare
from tunewidgets.model import pipeline as _pipeline
from tunewidgets.model.pipeline import VALIDATION_ROWS, InputPipelines, validation_batch
from tunewidgets.model.spec_hypermodel import SpecHyperModel
from tunewidgets.spec import DataSpec, Fixed, Spec

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data pipelines: TensorFlow backend")


def rows(n: int) -> np.ndarray:
    """Row i holds the number i, so a batch tells which rows it contains."""
    return np.arange(n, dtype=np.float32).reshape(n, 1)


def test_each_training_epoch_is_every_row_once_in_a_new_order():
    x = rows(70)
    kwargs = InputPipelines(x, x[:, 0], rows(9), rows(9)[:, 0]).fit_kwargs(32)
    assert kwargs["steps_per_epoch"] == 3 and kwargs["validation_steps"] == 1 and kwargs["shuffle"] is False
    batches = iter(kwargs["x"])
    epochs = []
    for _ in range(3):
        seen = [next(batches) for _ in range(kwargs["steps_per_epoch"])]
        assert [len(b[0]) for b in seen] == [32, 32, 6]  # the last batch partial, as with arrays
        order = np.concatenate([b[0].numpy()[:, 0] for b in seen])
        assert np.array_equal(np.concatenate([b[1].numpy() for b in seen]), order)  # x and y stay paired
        assert sorted(order) == list(range(70))
        epochs.append(order.tolist())
    assert epochs[0] != epochs[1] != epochs[2]


def passes(kwargs, count=2):
    batches = iter(kwargs["validation_data"])
    return [[next(batches)[0].numpy()[:, 0].tolist() for _ in range(kwargs["validation_steps"])] for _ in range(count)]


def test_validation_is_one_pass_in_order_every_epoch(monkeypatch):
    v = rows(9)
    kwargs = InputPipelines(rows(4), rows(4)[:, 0], v, v[:, 0]).fit_kwargs(4)
    assert kwargs["validation_steps"] == 1  # few rows: one step, whatever the training batch
    assert passes(kwargs) == [[list(range(9))]] * 2
    monkeypatch.setattr(_pipeline, "VALIDATION_ROWS", 4)
    kwargs = InputPipelines(rows(4), rows(4)[:, 0], v, v[:, 0]).fit_kwargs(2)
    assert kwargs["validation_steps"] == 3
    assert passes(kwargs) == [[[0, 1, 2, 3], [4, 5, 6, 7], [8]]] * 2


def test_validation_batches_hold_up_to_validation_rows_or_the_training_batch():
    assert validation_batch(32, 200) == 200
    assert validation_batch(32, 5000) == VALIDATION_ROWS
    assert validation_batch(1024, 5000) == 1024
    assert validation_batch(64, 10) == 64


def test_pipelines_are_built_once_per_batch_size():
    p = InputPipelines(rows(10), rows(10)[:, 0], rows(4), rows(4)[:, 0])
    assert p.fit_kwargs(4)["x"] is p.fit_kwargs(4)["x"]
    assert p.fit_kwargs(4)["x"] is not p.fit_kwargs(8)["x"]


@pytest.fixture(scope="module")
def moons():
    return prepare(DataSpec(name="moons", samples=120))


def fit(spec, data, hp_batch, *args, **kwargs):
    hypermodel = SpecHyperModel(spec, data)
    hp = kt.HyperParameters()
    hypermodel.declare(hp)
    hp.values["batch_size"] = hp_batch
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, *args, epochs=2, verbose=0, **kwargs)
    return hypermodel, model, history


def test_the_search_data_goes_through_the_pipelines_with_the_steps_arrays_would_take(moons):
    spec = Spec().replace(**{"data.name": "moons", "data.samples": 120, "training.batch_size": Fixed(16)})
    hypermodel, model, history = fit(
        spec, moons, 16, moons.x_train, moons.y_train, validation_data=(moons.x_val, moons.y_val)
    )
    assert hypermodel._pipelines is not None
    assert int(model.optimizer.iterations.numpy()) == 2 * math.ceil(len(moons.x_train) / 16)
    assert len(history.history["val_loss"]) == 2 and all(np.isfinite(history.history["val_loss"]))
    # the validation pipeline holds exactly the validation rows: the same loss as evaluating the arrays
    val = hypermodel._pipelines.fit_kwargs(16)
    from_pipeline = model.evaluate(val["validation_data"], steps=val["validation_steps"], verbose=0)[0]
    assert from_pipeline == pytest.approx(model.evaluate(moons.x_val, moons.y_val, verbose=0)[0], rel=1e-5)


def test_other_arrays_are_fitted_as_given(moons):
    spec = Spec().replace(**{"data.name": "moons", "data.samples": 120, "training.batch_size": Fixed(16)})
    hypermodel, model, history = fit(
        spec, moons, 16, moons.x_train[:20], moons.y_train[:20], validation_data=(moons.x_val, moons.y_val)
    )
    assert hypermodel._pipelines is None
    assert int(model.optimizer.iterations.numpy()) == 2 * math.ceil(20 / 16)
