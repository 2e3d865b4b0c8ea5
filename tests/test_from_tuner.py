"""Your keras-tuner tuner as it is: ``tw.Search.from_tuner(tuner, <what tuner.search takes>)`` keeps the tuner's
oracle, objective, executions, tailored space, seed and folder; afterwards the tuner's own ``reload()`` reads the
search tunewidgets ran, and agrees with it. Small versions of the keras.io KerasTuner guides' programs."""

from __future__ import annotations

import sys

import cloudpickle
import keras
import keras_tuner as kt
import numpy as np
import pytest

import tunewidgets as tw

pytestmark = pytest.mark.slow

# the hypermodels below travel by value, as a notebook's do
cloudpickle.register_pickle_by_value(sys.modules[__name__])

RNG = np.random.default_rng(0)
X = RNG.normal(size=(120, 8)).astype("float32")
Y = (X[:, 0] + X[:, 1] - X[:, 2] > 0).astype("float32")
Y_REGRESSION = (X[:, 0] * 2 + X[:, 3]).astype("float32")


def build_model(hp):
    """keras.io's getting-started build function, small."""
    model = keras.Sequential([keras.Input((8,))])
    model.add(keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.25))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    learning_rate = hp.Float("lr", 1e-3, 1e-1, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    return model


def build_regression(hp):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(hp.Int("units", 4, 12, step=4), activation="relu")])
    model.add(keras.layers.Dense(1))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
        loss="mse",
        metrics=[keras.metrics.RootMeanSquaredError()],
    )
    return model


def tunewidgets_best(results):
    """The best trial's values as keras-tuner's HyperParameters hold them."""
    return dict(results.best_trial.hyperparameters)


def users_best(tuner_class, directory, project_name, build, **settings):
    """What the user's own tuner says after the search: a new tuner on the same folder, reloaded."""
    again = tuner_class(build, directory=str(directory), project_name=project_name, **settings)
    again.reload()
    return again, again.get_best_hyperparameters(1)[0].values


def test_the_getting_started_search_keeps_its_objective_executions_and_oracle(tmp_path):
    settings = dict(objective=kt.Objective("val_auc", "max"), max_trials=3, executions_per_trial=2, seed=5)
    tuner = kt.RandomSearch(build_model, directory=str(tmp_path), project_name="start", **settings)
    search = tw.Search.from_tuner(tuner, X[:96], Y[:96], epochs=2, validation_data=(X[96:], Y[96:]))
    assert search.directory == tmp_path / "start" / "tunewidgets"
    t = search.spec.tuner
    assert (t.algorithm, t.objective, t.direction, t.executions_per_trial, t.max_trials, t.seed) == (
        "random", "val_auc", "max", 2, 3, 5
    )  # fmt: skip
    results = search.run()
    assert results.trials["status"].tolist() == ["completed"] * 3
    assert (results.objective, results.direction) == ("val_auc", "max")
    for trial in results.record.ordered():
        assert {e for e, _ in trial.curves} == {0, 1}  # two executions, each with its curves
        assert "batch_size" not in trial.hyperparameters  # the program never declared one
    again, best = users_best(kt.RandomSearch, tmp_path, "start", build_model, **settings)
    assert best == tunewidgets_best(results)
    assert len(again.oracle.trials) == 3
    model = again.get_best_models(1)[0]  # its own loader reads the best epoch's weights tunewidgets kept
    assert model.count_params() == results.best_model().count_params()


def test_a_regression_with_a_custom_objective_and_its_direction(tmp_path):
    settings = dict(objective=kt.Objective("val_root_mean_squared_error", "min"), max_trials=3, seed=2)
    tuner = kt.RandomSearch(build_regression, directory=str(tmp_path), project_name="reg", **settings)
    results = tw.Search.from_tuner(tuner, X, Y_REGRESSION, epochs=2, validation_split=0.25).run()
    assert (results.objective, results.direction) == ("val_root_mean_squared_error", "min")
    assert results.trials["status"].tolist() == ["completed"] * 3
    _, best = users_best(kt.RandomSearch, tmp_path, "reg", build_regression, **settings)
    assert best == tunewidgets_best(results)


def build_without_input(hp):
    """keras.io's way: no keras.Input, so the model is built by its first batch."""
    model = keras.Sequential([keras.layers.Dense(hp.Int("units", 4, 12, step=4), activation="relu")])
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_a_model_built_by_its_first_batch_loads_back_in_both_loaders(tmp_path):
    settings = dict(objective="val_accuracy", max_trials=2, seed=3)
    tuner = kt.RandomSearch(build_without_input, directory=str(tmp_path), project_name="noinput", **settings)
    results = tw.Search.from_tuner(tuner, X, Y, epochs=2, validation_split=0.25, fuse=2).run()
    again, best = users_best(kt.RandomSearch, tmp_path, "noinput", build_without_input, **settings)
    assert best == tunewidgets_best(results)
    theirs, ours = again.get_best_models(1)[0], results.best_model()
    np.testing.assert_allclose(theirs.predict(X, verbose=0), ours.predict(X, verbose=0), rtol=1e-5)


def test_hyperband_runs_its_brackets(tmp_path):
    settings = dict(objective="val_accuracy", max_epochs=3, factor=3, seed=1)
    tuner = kt.Hyperband(build_model, directory=str(tmp_path), project_name="hb", **settings)
    search = tw.Search.from_tuner(tuner, X, Y, epochs=50, validation_split=0.2)  # Hyperband decides the epochs
    assert (search.spec.tuner.algorithm, search.spec.tuner.max_epochs, search.spec.tuner.factor) == ("hyperband", 3, 3)
    results = search.run()
    planned = tw.spec.budget.planned_trials(search.spec)
    assert results.trials["status"].tolist() == ["completed"] * planned
    assert (results.trials["initial_epoch"] > 0).any()  # carried on, round by round
    again, best = users_best(kt.Hyperband, tmp_path, "hb", build_model, **settings)
    assert best == tunewidgets_best(results)


def test_a_tailored_space_varies_only_what_it_names(tmp_path):
    hp = kt.HyperParameters()
    hp.Float("lr", 1e-3, 1e-2, sampling="log")
    settings = dict(objective="val_accuracy", max_trials=3, seed=3, hyperparameters=hp, tune_new_entries=False)
    tuner = kt.RandomSearch(build_model, directory=str(tmp_path), project_name="tailored", **settings)
    search = tw.Search.from_tuner(tuner, X, Y, epochs=2, validation_split=0.2)
    assert search.spec.hypermodel.tune_new_entries is False
    results = search.run()
    values = [t.hyperparameters for t in results.record.ordered()]
    assert len({v["lr"] for v in values}) == 3 and all(1e-3 <= v["lr"] <= 1e-2 for v in values)
    assert {v.get("units", 4) for v in values} == {4}  # the others keep their defaults, as keras-tuner does
    _, best = users_best(kt.RandomSearch, tmp_path, "tailored", build_model, **settings)
    assert best == tunewidgets_best(results)


class TunerWithItsOwnLoop(kt.RandomSearch):
    def run_trial(self, trial, *args, **kwargs):
        return {"val_accuracy": 0.5}


@pytest.mark.parametrize(
    ("make", "args", "kwargs", "words"),
    [
        (lambda d: TunerWithItsOwnLoop(build_model, max_trials=2, directory=d), (X, Y), {"validation_split": 0.2},
         ["tuner: TunerWithItsOwnLoop has its own run_trial", "tw.live()"]),
        (lambda d: kt.RandomSearch(build_model, max_trials=2, directory=d), (X, Y),
         {"epochs": 2, "validaton_split": 0.2},
         ["search: tuner.search passes its arguments to model.fit", "validaton_split"]),
        (lambda d: kt.RandomSearch(build_model, max_trials=2, directory=d), (X, Y), {"class_weight": {0: 1, 1: 2},
         "validation_split": 0.2}, ["class_weight: the trials do not take class_weight"]),
        (lambda d: kt.RandomSearch(build_model, max_trials=2, directory=d), (X, Y), {"epochs": 2},
         ["validation_split: every trial is scored on held-out rows"]),
        (lambda d: kt.RandomSearch(build_model, objective=["val_loss", "val_accuracy"], max_trials=2, directory=d),
         (X, Y), {"validation_split": 0.2}, ["tuner.objective: a list of objectives"]),
        (lambda d: "not a tuner", (X, Y), {}, ["tuner: expected a keras-tuner tuner", "got str"]),
    ],
    ids=["own-run-trial", "misspelt-argument", "class-weight", "no-validation", "several-objectives", "not-a-tuner"],
)  # fmt: skip
def test_what_cannot_be_carried_over_is_named(tmp_path, make, args, kwargs, words):
    with pytest.raises(tw.SpecError) as caught:
        tw.Search.from_tuner(make(str(tmp_path)), *args, **kwargs)
    for word in words:
        assert word in str(caught.value)


class OwnLoop(kt.HyperModel):
    """keras.io's "Tune hyperparameters in your custom training loop", small: an uncompiled model, its own loop,
    the callbacks called by hand, the best value returned."""

    def build(self, hp):
        inputs = keras.Input((8,))
        x = keras.layers.Dense(hp.Choice("units", [4, 8]), activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(1)(x))

    def fit(self, hp, model, x, y, validation_data, callbacks=None, **kwargs):
        import tensorflow as tf

        batch_size = hp.Int("batch_size", 16, 32, step=16, default=16)
        train = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
        optimizer = keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-1, sampling="log", default=1e-2))
        loss_fn = keras.losses.MeanSquaredError()
        for callback in callbacks:
            callback.set_model(model)
        best = float("inf")
        for epoch in range(2):
            for xb, yb in train:
                with tf.GradientTape() as tape:
                    loss = loss_fn(yb, model(xb))
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            val = float(loss_fn(validation_data[1], model(validation_data[0])))
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs={"my_metric": val})
            best = min(best, val)
        return best


def test_a_custom_training_loop_trains_through_its_own_fit_with_every_epoch_recorded(tmp_path):
    settings = dict(objective=kt.Objective("my_metric", "min"), max_trials=3, seed=4)
    tuner = kt.RandomSearch(hypermodel=OwnLoop(), directory=str(tmp_path), project_name="loop", **settings)
    results = tw.Search.from_tuner(
        tuner, x=X[:96], y=Y_REGRESSION[:96], validation_data=(X[96:], Y_REGRESSION[96:])
    ).run()
    assert results.trials["status"].tolist() == ["completed"] * 3
    for trial in results.record.ordered():
        assert [e for e, _ in trial.curves[(0, "my_metric")]] == [1, 2]  # each epoch, as its loop reported it
        assert trial.hyperparameters["batch_size"] in (16, 32)  # declared in its own fit
        assert trial.score == pytest.approx(min(v for _, v in trial.curves[(0, "my_metric")]))
    again, best = users_best(kt.RandomSearch, tmp_path, "loop", OwnLoop(), **settings)
    assert best == tunewidgets_best(results)


def test_live_records_a_custom_training_loop(tmp_path):
    callback = tw.live(show=False)
    tuner = kt.RandomSearch(
        hypermodel=OwnLoop(), objective=kt.Objective("my_metric", "min"), max_trials=2, seed=1,
        directory=str(tmp_path), project_name="live",
    )  # fmt: skip
    tuner.search(X[:96], Y_REGRESSION[:96], validation_data=(X[96:], Y_REGRESSION[96:]), callbacks=[callback])
    record = callback.record
    assert set(record.trials) == set(tuner.oracle.trials)
    for trial in record.trials.values():
        assert [e for e, _ in trial.curves[(0, "my_metric")]] == [1, 2]
    first = record.ordered()[0]
    assert first.status.value == "completed"  # ended when the next one began, as the oracle recorded it


class OwnFitBatch(kt.HyperModel):
    """A HyperModel that tunes its batch size in its own fit (keras.io's guide)."""

    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32]), **kwargs)


def test_a_hypermodel_with_its_own_fit_tunes_its_batch_size(tmp_path):
    tuner = kt.RandomSearch(OwnFitBatch(), objective="val_accuracy", max_trials=3, seed=6, directory=str(tmp_path),
                            project_name="fit")  # fmt: skip
    results = tw.Search.from_tuner(tuner, X, Y, epochs=2, validation_split=0.2).run()
    assert results.trials["status"].tolist() == ["completed"] * 3
    assert {t.hyperparameters["batch_size"] for t in results.record.ordered()} <= {16, 32}
    _, best = users_best(kt.RandomSearch, tmp_path, "fit", OwnFitBatch(), objective="val_accuracy", max_trials=3,
                         seed=6)  # fmt: skip
    assert best == tunewidgets_best(results)


def build_loop(hp):
    """Layers declared in a loop (keras.io's guide): units_1 and units_2 exist only when num_layers says so."""
    model = keras.Sequential([keras.Input((8,))])
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 4, 12, step=4), activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_the_dashboard_from_a_tuner_has_a_control_for_every_hyperparameter_and_runs_in_its_folder(tmp_path):
    tuner = kt.RandomSearch(build_loop, objective="val_accuracy", max_trials=4, seed=2, directory=str(tmp_path),
                            project_name="dash")  # fmt: skip
    dash = tw.Dashboard.from_tuner(tuner, X, Y, epochs=2, validation_split=0.2, fuse=2)
    form = dash.hyperparameters
    assert form.wait(120) and not form.failure
    assert list(form.controls) == ["num_layers", "units_0", "units_1", "units_2"]  # the loop's, all of them
    assert dash.spec.tuner.fuse == 2 and dash.spec.tuner.objective == "val_accuracy"
    dash.bar.run_button.click()
    results = dash.wait(300)
    assert results is not None and results.trials["status"].tolist() == ["completed"] * 4
    assert results.directory == tmp_path / "dash" / "tunewidgets"
    again = tw.load(tmp_path / "dash")  # the tuner's folder opens as the search tunewidgets ran there
    assert again.directory == results.directory and len(again.trials) == 4
    deep = [t for t in again.record.ordered() if t.hyperparameters["num_layers"] == 3]
    assert all("units_2" in t.hyperparameters for t in deep)
    _, best = users_best(kt.RandomSearch, tmp_path, "dash", build_loop, objective="val_accuracy", max_trials=4, seed=2)
    assert best == tunewidgets_best(results)
