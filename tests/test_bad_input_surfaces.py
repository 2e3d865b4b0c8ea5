"""Bad input on the surfaces of your own model, keras-tuner code and ``tw.live()``: refused before anything
runs (a search of your own model refuses at run(), once it has built the function and knows what it
declares), with a message that names the argument or file and what to do; none silently does something else.

Table-driven, as ``tests/test_bad_spec.py``: each row makes its input on the fly and names the error and the
words the user must read. No row trains a model; the ones that build the user's hypermodel build it once.
"""

from __future__ import annotations

import html
import os
import sys

import cloudpickle
import keras
import keras_tuner as kt
import numpy as np
import pytest

import tunewidgets as tw
from tunewidgets.engine.folder.project import Project
from tunewidgets.engine.ktproject import watched_events
from tunewidgets.engine.own_model import kept_hypermodel, user_data

cloudpickle.register_pickle_by_value(sys.modules[__name__])

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 5)).astype("float32")
Y = (X[:, 0] > 0).astype("float32")


def build_model(hp):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(hp.Int("units", 4, 16, step=4))])
    model.add(keras.layers.Dense(1, activation=hp.Choice("activation", ["sigmoid", "linear"])))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


class MyHyperModel(kt.HyperModel):
    def build(self, hp):
        return build_model(hp)


def search(tmp_path, *, overrides=None, hypermodel=build_model, data=(X, Y), callbacks=None):
    spec = tw.Spec().replace(**{"tuner.max_trials": 2, "training.epochs": 1})
    if overrides is not None:
        spec = spec.replace(**{"hypermodel.hyperparameters": overrides})
    return tw.Search(spec, tmp_path / "s", hypermodel=hypermodel, data=data, callbacks=callbacks)


# each row: (case, what the user does, the error, words the message must hold)
CASES = [
    (
        "override-above-the-declared-range",
        lambda p: search(p, overrides={"units": 1000}).run(),
        tw.SpecError,
        ("hypermodel.hyperparameters.units", "from 4 to 16", "1000 is outside it"),
    ),
    (
        "override-range-past-the-declared-one",
        lambda p: search(p, overrides={"units": tw.Range(2, 16, 2)}).run(),
        tw.SpecError,
        ("from 4 to 16", "2 is outside it"),
    ),
    (
        "override-a-choice-not-offered",
        lambda p: search(p, overrides={"activation": tw.Choice(("sigmoid", "relu"))}).run(),
        tw.SpecError,
        ("offers activation as sigmoid, linear", "relu is not one of them"),
    ),
    (
        "the-hypermodel-class-not-an-instance",
        lambda p: search(p, hypermodel=MyHyperModel),
        tw.SpecError,
        ("MyHyperModel is a class", "hypermodel=MyHyperModel()"),
    ),
    (
        "test-data-with-other-features",
        lambda p: search(p, data=tw.Arrays(X, Y, test_data=(X[:, :3], Y))),
        tw.DataError,
        ("test_data", "shape (3,)", "(5,)", "same columns"),
    ),
    (
        "validation-data-with-other-features",
        lambda p: search(p, data=tw.Arrays(X, Y, validation_data=(X[:, :4], Y))),
        tw.DataError,
        ("validation_data", "shape (4,)"),
    ),
    (
        "tw-live-not-called",
        lambda p: search(p, callbacks=[tw.live]),
        tw.SpecError,
        ("callbacks", "live is a function", "callbacks=[tw.live()]"),
    ),
    (
        "a-callback-class-not-an-instance",
        lambda p: search(p, callbacks=[keras.callbacks.EarlyStopping]),
        tw.SpecError,
        ("callbacks", "EarlyStopping is a class", "EarlyStopping(...)"),
    ),
    (
        "tw-live-given-something-else-as-tuner",
        lambda p: tw.live(tuner="not a tuner"),
        TypeError,
        ("tw.live(tuner=...)", "got str"),
    ),
    (
        "a-key-given-twice-in-a-spec",
        lambda p: tw.Spec.from_json('{"tuner": {"max_trials": 5, "max_trials": 5000}}'),
        tw.SpecError,
        ("'max_trials' twice", "5, then 5000"),
    ),
    (
        "a-setup-text-that-is-not-one",
        lambda p: tw.Spec.from_text("tw1.garbage!!"),
        tw.SpecError,
        ("damaged or cut short",),
    ),
]


@pytest.mark.parametrize(("case", "act", "error", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_what_to_do(tmp_path, case, act, error, words):
    with pytest.raises(error) as caught:
        act(tmp_path)
    for word in words:
        assert word in str(caught.value), (case, str(caught.value))


def test_keras_hears_what_to_write_when_tw_live_is_not_called():
    with pytest.raises(TypeError, match=r"call it, callbacks=\[tw.live\(\)\]"):
        tw.live.set_model(keras.Sequential())


def test_a_damaged_hypermodel_file_names_itself_and_what_to_do(tmp_path):
    project = Project(tmp_path / "s")
    user_data(project, tw.Arrays(X, Y, validation_split=0.25))
    pickled = cloudpickle.dumps(build_model)
    project.hypermodel.write_bytes(pickled[: len(pickled) // 2])  # cut short, as a full disk or a kill leaves it
    with pytest.raises(tw.ProjectError, match=r"hypermodel.pkl is damaged .*Pass your hypermodel again"):
        kept_hypermodel(project)


def test_the_dashboard_keeps_run_disabled_for_an_override_the_hypermodel_does_not_declare(tmp_path):
    spec = tw.Spec().replace(**{"hypermodel.hyperparameters": {"unit": 8}})
    dash = tw.Dashboard(spec, hypermodel=build_model, data=(X, Y), base_dir=tmp_path)
    assert dash.hyperparameters.wait(120)
    assert dash.bar.run_button.disabled
    said = html.unescape(dash.form.problems.value)
    assert "build_model declares no hyperparameter 'unit' (did you mean 'units'?)" in said


def test_the_dashboard_refuses_more_workers_than_the_machine_has(tmp_path):
    dash = tw.Dashboard(base_dir=tmp_path)
    dash.control("tuner.workers").set(64)
    assert dash.bar.run_button.disabled
    assert "64 workers" in dash.control("tuner.workers").message


def small_tuner(tmp_path, name):
    return kt.RandomSearch(build_model, objective="val_loss", max_trials=2, directory=str(tmp_path), project_name=name)


def test_live_in_a_fit_outside_any_search_says_so_once(recwarn):
    model = build_model(kt.HyperParameters())
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[tw.live(show=False)])
    said = [str(w.message) for w in recwarn if "outside one" in str(w.message)]
    assert len(said) == 1, said


def test_one_live_callback_given_to_two_searches_records_both(tmp_path):
    live = tw.live(show=False)
    for name in ("first", "second"):
        small_tuner(tmp_path, name).search(X, Y, epochs=1, validation_split=0.25, verbose=0, callbacks=[live])
    for name in ("first", "second"):
        trials = tw.load(tmp_path / name).record.completed()
        assert len(trials) == 2, name
        assert all(t.curves for t in trials), name  # every epoch recorded live, in that search's own folder
        assert watched_events(tmp_path / name).is_file(), name


def test_live_naming_another_tuner_says_it_records_nothing(tmp_path):
    first, second = small_tuner(tmp_path, "first"), small_tuner(tmp_path, "second")
    with pytest.warns(UserWarning, match=r"tw.live\(tuner=...\) names the tuner of .*first.*second.*leave tuner= out"):
        first.search(X, Y, epochs=1, validation_split=0.25, verbose=0, callbacks=[tw.live(first, show=False)])
        second.search(X, Y, epochs=1, validation_split=0.25, verbose=0, callbacks=[tw.live(first, show=False)])


HELPERS = """
import keras

def hidden_layer(hp):
    return keras.layers.Dense(hp.Int("units", 4, 8, step=4), activation="relu")

class CountEpochs(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        pass
"""

BUILDS = """
import keras
from hm_helpers import hidden_layer

def build_from_a_file(hp):
    model = keras.Sequential([keras.Input((5,)), hidden_layer(hp), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model
"""


@pytest.mark.slow
def test_the_users_own_modules_travel_with_the_hypermodel_and_the_callbacks(tmp_path, monkeypatch):
    """A build function in one file of the user's, a helper and a callback class in another, imported from a
    folder put on sys.path in this process only: the workers, which do not have that folder, still train."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "hm_helpers.py").write_text(HELPERS)
    (folder / "hm_builds.py").write_text(BUILDS)
    monkeypatch.syspath_prepend(str(folder))
    import hm_builds
    import hm_helpers

    try:
        spec = tw.Spec().replace(**{"tuner.max_trials": 2, "training.epochs": 1})
        results = tw.Search(
            spec, tmp_path / "s", hypermodel=hm_builds.build_from_a_file, data=(X, Y),
            callbacks=[hm_helpers.CountEpochs()], keep_warm=0,
        ).run()  # fmt: skip
        assert results.trials["status"].tolist() == ["completed"] * 2
    finally:
        for name in ("hm_builds", "hm_helpers"):
            sys.modules.pop(name, None)


def test_a_module_the_workers_cannot_import_is_named_with_what_to_do(tmp_path, monkeypatch):
    from tunewidgets.engine.folder.travel import MissingModule, loads

    (tmp_path / "gone_helpers.py").write_text("def helper():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import gone_helpers

    pickled = cloudpickle.dumps(gone_helpers.helper)  # by reference, as an installed package's function travels
    sys.modules.pop("gone_helpers")
    (tmp_path / "gone_helpers.py").unlink()
    with pytest.raises(MissingModule, match=r"could not import the module 'gone_helpers' that the callbacks need"):
        loads(pickled, "the callbacks")


def build_softmax(loss):
    def build(hp):
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss=loss)
        return model

    return build


# each row: (case, the model's build, x, y, words the first trial's message holds)
MISFITS = [
    ("x-of-another-width", build_model, X[:, :3], Y,
     "x has rows of shape (3,), and build_model's model takes rows of shape (5,)"),
    ("one-hot-y-for-sparse-loss", build_softmax("sparse_categorical_crossentropy"), X,
     np.eye(3)[RNG.integers(0, 3, 40)], "y is one-hot (rows of 3)"),
    ("class-numbers-for-one-hot-loss", build_softmax("categorical_crossentropy"), X, RNG.integers(0, 3, 40),
     "y holds class numbers"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("case", "build", "x", "y", "words"), MISFITS, ids=[m[0] for m in MISFITS])
def test_arrays_that_do_not_fit_the_model_are_named(tmp_path, case, build, x, y, words):
    spec = tw.Spec().replace(**{"tuner.max_trials": 3, "training.epochs": 1})
    search = tw.Search(spec, tmp_path / "s", hypermodel=build, data=(x, y), keep_warm=0)
    with pytest.raises(tw.SearchError) as raised:  # at the model's first build, before any trial
        search.run()
    assert words in str(raised.value), str(raised.value)
    assert "Error:" not in str(raised.value)  # said as is, not as an exception's name
    assert search.record.trials == {}


def test_text_labels_are_refused_with_what_to_give():
    with pytest.raises(tw.DataError, match=r"y: holds text labels \('cat', 'dog'\): give numbers"):
        tw.Arrays(X[:4], np.array(["cat", "dog", "cat", "dog"]), validation_split=0.5).splits()


EXITS = """
import os, sys
import tunewidgets as tw

def build_model(hp):
    hp.Int("units", 4, 8)
    os._exit(3)  # the build ends the worker's process, as a crashing extension would

try:
    tw.Dashboard(hypermodel=build_model, data=([[0.0]] * 8, [0.0] * 8)).hyperparameters.wait(120)
except Exception as e:
    print(type(e).__name__, e)
assert "keras_tuner" not in sys.modules  # found in a worker process, as in a fresh kernel
"""


@pytest.mark.slow
def test_a_discovery_whose_worker_dies_leaves_no_temporary_folder(tmp_path):
    import subprocess

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "TUNEWIDGETS_KEEP_WARM": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", EXITS], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [p.name for p in scratch.iterdir() if "tunewidgets-space" in p.name] == []


def test_a_misspelt_control_path_names_the_closest_not_every_field(tmp_path):
    dash = tw.Dashboard(base_dir=tmp_path)
    with pytest.raises(KeyError) as raised:
        dash.control("tuner.max_trails")
    said = str(raised.value)
    assert "did you mean 'tuner.max_trials'" in said and "data.source" not in said, said


def test_the_dashboard_marks_a_fraction_where_a_whole_number_belongs(tmp_path):
    dash = tw.Dashboard(base_dir=tmp_path)
    epochs = dash.control("training.epochs")
    epochs.input.value = 2.7  # as typed in the page
    assert dash.bar.run_button.disabled and "expected a whole number, got 2.7" in epochs.message
    epochs.input.value = 3
    assert not dash.bar.run_button.disabled and dash.spec.training.epochs == 3
