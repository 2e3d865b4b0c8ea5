"""Your own model: a keras-tuner hypermodel (a build function, a HyperModel with its own fit) searched by
tunewidgets on your own arrays, with real tiny training; its space discovered as keras-tuner discovers it;
the spec's overrides reaching the trials; resume after a kill; every bad input answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import cloudpickle
import keras
import keras_tuner as kt
import numpy as np
import pytest

import tunewidgets as tw
from tunewidgets.data.arrays import Arrays
from tunewidgets.engine.own_model import discover_space, pack
from tunewidgets.events import TrialEnded, TrialStarted
from tunewidgets.spec.hyper import HyperModelSpec

from .conftest import collect

pytestmark = pytest.mark.slow

# the hypermodels below travel by value, as a notebook's do (a module's own functions would go by reference)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

RNG = np.random.default_rng(0)
X = RNG.normal(size=(96, 6)).astype("float32")
Y = (X[:, 0] + X[:, 1] > 0).astype("int64")


def build_model(hp):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(hp.Int("units", 8, 64, step=8), activation=hp.Choice("activation", ["relu", "tanh"])),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    learning_rate = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def build_conditional(hp):
    """keras-tuner's conditional scopes: the momentum only for SGD."""
    optimizer = hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        momentum = hp.Float("momentum", 0.0, 0.9, step=0.3)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu")])
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    opt = keras.optimizers.SGD(0.05, momentum=momentum) if optimizer == "sgd" else keras.optimizers.Adam(0.01)
    model.compile(optimizer=opt, loss="binary_crossentropy", metrics=["accuracy"])
    return model


class OwnFit(kt.HyperModel):
    """A HyperModel that tunes its batch size in its own fit, as keras-tuner's guide shows."""

    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32]), **kwargs)


def spec(**changes) -> tw.Spec:
    base = {"tuner.max_trials": 3, "training.epochs": 2, "tuner.objective": "val_accuracy", "tuner.seed": 1}
    return tw.Spec().replace(**{**base, **changes})


def data() -> Arrays:
    return Arrays(X[:80], Y[:80], test_data=(X[80:], Y[80:]))


def test_a_build_function_fused_three_at_a_time_and_its_best_model(tmp_path):
    search = tw.Search(
        spec(**{"tuner.fuse": 3, "tuner.max_trials": 3, "training.batch_size": 16}),
        tmp_path / "s",
        hypermodel=build_model,
        data=data(),
    )
    events = collect(search)
    results = search.run()
    assert results.trials["status"].tolist() == ["completed"] * 3
    order = [type(e).__name__ for e in events if isinstance(e, (TrialStarted, TrialEnded))]
    assert order[:3] == ["TrialStarted"] * 3  # one group of three, trained together
    for t in results.record.ordered():
        assert set(t.hyperparameters) >= {"units", "activation", "learning_rate"}
        assert "batch_size" not in t.hyperparameters  # fixed in the spec: not a hyperparameter added to the user's
        assert len(t.curves[(0, "val_accuracy")]) == 2
    # reloaded from disk: the best model rebuilt with the function kept in the folder scores what was recorded
    again = tw.load(tmp_path / "s")
    model = again.best_model()
    x_val, y_val = again.dataset.x_val, again.dataset.y_val
    score = model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    assert score == pytest.approx(again.best_score, abs=1e-6)
    assert "accuracy" in again.evaluate() and "def build_model(hp):" in again.model_code()
    saved = again.save_best_model(tmp_path / "best.keras")  # in a worker process, rebuilt with the kept function
    assert keras.saving.load_model(saved).count_params() == model.count_params()
    assert again.log_scaled >= {"learning_rate"}


def test_a_hypermodel_with_its_own_fit_is_trained_through_it(tmp_path):
    results = tw.Search(spec(), tmp_path / "s", hypermodel=OwnFit(), data=data()).run()
    assert results.trials["status"].tolist() == ["completed"] * 3
    for t in results.record.ordered():  # the batch size its own fit chose, recorded with the trial
        assert t.hyperparameters["batch_size"] in (16, 32)
        assert len(t.curves[(0, "val_accuracy")]) == 2


def test_tpe_with_asha_and_two_workers(tmp_path):
    s = spec(
        **{
            "tuner.algorithm": "tpe",
            "tuner.pruning": "asha",
            "tuner.max_trials": 4,
            "training.epochs": 3,
            "tuner.workers": 2,
            "tuner.pruning_min_epochs": 1,
        }
    )
    results = tw.Search(s, tmp_path / "s", hypermodel=build_model, data=data()).run()
    assert len(results.trials) == 4
    assert set(results.trials["status"]) <= {"completed", "pruned"}
    assert len({t.worker for t in results.record.ordered()}) == 2


def test_the_space_is_what_keras_tuner_finds_conditional_ones_included(tmp_path):
    found = discover_space(pack(build_conditional))
    tuner = kt.RandomSearch(
        build_conditional, objective="val_loss", max_trials=1, directory=tmp_path, project_name="kt"
    )
    assert found == tuner.oracle.get_space().get_config()["space"]
    assert [h["config"]["name"] for h in found] == ["optimizer", "momentum", "units"]
    assert found[1]["config"]["conditions"][0]["config"] == {"name": "optimizer", "values": ["sgd"]}


def test_narrowed_and_fixed_hyperparameters_reach_the_trials(tmp_path):
    overrides = {"units": tw.Range(8, 12, 4), "momentum": tw.Fixed(0.6)}
    s = spec(**{"tuner.max_trials": 4}).replace(
        hypermodel=HyperModelSpec("build_conditional", tuple(overrides.items()))
    )
    results = tw.Search(s, tmp_path / "s", hypermodel=build_conditional, data=data()).run()
    for t in results.record.ordered():
        assert t.hyperparameters["units"] in (8, 12)
        if t.hyperparameters["optimizer"] == "sgd":
            assert t.hyperparameters["momentum"] == 0.6
    # saved in the spec: the folder's spec.json keeps the overrides, and so does the shared text
    kept = tw.Spec.from_file(tmp_path / "s" / "spec.json")
    assert kept.hypermodel.overrides == overrides
    assert tw.Spec.from_text(kept.to_text()) == kept


def test_an_unknown_or_mistyped_override_is_named(tmp_path):
    s = spec().replace(hypermodel=HyperModelSpec("build_model", (("unit", tw.Range(8, 16)),)))
    with pytest.raises(
        tw.SpecError,
        match=r"hyperparameters.unit: build_model declares no hyperparameter 'unit' \(did you mean 'units'\?\)",
    ):
        tw.Search(s, tmp_path / "s", hypermodel=build_model, data=data()).run()
    s = spec().replace(hypermodel=HyperModelSpec("build_model", (("activation", tw.Range(1, 2)),)))
    with pytest.raises(tw.SpecError, match="activation is a Choice"):
        tw.Search(s, tmp_path / "t", hypermodel=build_model, data=data()).run()


KILLED = textwrap.dedent(
    """
    import sys, numpy as np, keras, keras_tuner as kt, tunewidgets as tw
    from tunewidgets.events import TrialEnded
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32"); y = (x[:, 0] > 0).astype("int64")

    def build_model(hp):
        units = hp.Int("units", 4, 32, step=4)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(units, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model

    class OwnFit(kt.HyperModel):
        def build(self, hp):
            return build_model(hp)

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32]), **kwargs)

    hypermodel = build_model if sys.argv[3] == "function" else OwnFit()
    spec = tw.Spec().replace(**{"tuner.max_trials": 4, "training.epochs": int(sys.argv[2]), "tuner.seed": 3,
                                "tuner.algorithm": "tpe", "tuner.pruning": "asha", "tuner.pruning_min_epochs": 5,
                                "tuner.fuse": 3, "tuner.workers": 2})
    search = tw.Search(spec, sys.argv[1], hypermodel=hypermodel, data=(x, y))
    search.events.subscribe(lambda e: print("ENDED", e.trial_id, flush=True), TrialEnded)
    search.run()
    print("DONE", flush=True)
    """
)


@pytest.mark.parametrize("kind", ["function", "class"])
def test_a_killed_search_of_a_notebook_hypermodel_resumes(tmp_path, kind):
    """TPE with ASHA, fused 3, two workers: a build function (trained together), a HyperModel with its own fit
    (one at a time); killed with everything it started, then the same script resumes it to its end."""
    script = tmp_path / "search.py"
    script.write_text(KILLED)
    folder = tmp_path / "s"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder), "40", kind],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        for line in proc.stdout:  # the first trial ended and its file is written: kill it all, mid-trial
            if line.startswith("ENDED"):
                deadline = time.monotonic() + 30
                while not list((folder / "trials").glob("*.json")) and time.monotonic() < deadline:
                    time.sleep(0.01)
                os.killpg(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(60)
    time.sleep(0.5)
    ended_before = len(list((folder / "trials").glob("*.json")))
    assert 1 <= ended_before < 4
    # the same script (its function defined in __main__, pickled by value) resumes and finishes
    argv = [sys.executable, str(script), str(folder), "40", kind]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert "DONE" in done.stdout, done.stderr[-2000:]
    results = tw.load(folder)
    assert results.status == "completed" and len(results.trials) == 4
    assert set(results.trials["status"]) <= {"completed", "pruned"}


def _changed():
    def build_model(hp):
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    return build_model


def test_a_changed_function_does_not_resume_and_says_what_changed(tmp_path):
    first = tw.Search(spec(), tmp_path / "s", hypermodel=build_model, data=data())
    first.events.subscribe(lambda _: first.stop(), TrialEnded)  # stopped after its first trial: resumable
    first.run()
    with pytest.raises(
        tw.ProjectError, match=r"build_model changed since it started \(was: .*now: model = .*keras.layers.Dense\(4\)"
    ):
        tw.Search(spec(), tmp_path / "s", hypermodel=_changed(), data=data()).run()


def test_the_kernel_imports_no_tensorflow_to_discover_and_search(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, tunewidgets as tw
        from tunewidgets.engine.own_model import discover_space, pack
        def build_model(hp):
            import keras
            units = hp.Int("units", 2, 8)
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            return model
        space = discover_space(pack(build_model))
        x = np.random.rand(40, 3).astype("float32"); y = x.sum(axis=1)
        tw.Search(tw.Spec().replace(**{{"tuner.max_trials": 1, "training.epochs": 1}}), {str(tmp_path / "s")!r},
                  hypermodel=build_model, data=(x, y)).run()
        print([h["config"]["name"] for h in space], "tensorflow" in sys.modules, "keras" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "['units'] False False", out.stderr[-2000:]


lock = threading.Lock()


def build_with_a_lock(hp):
    with lock:
        return build_model(hp)


def build_nothing(hp):
    hp.Int("units", 8, 16)
    return {"not": "a model"}


def build_uncompiled(hp):
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(hp.Int("units", 8, 16))])


def build_bad_default(hp):
    hp.Int("units", 8, 16, default=500)
    return build_model(hp)


def build_fails_above_32(hp):
    if hp.Int("units", 8, 64, step=8) > 32:
        raise ValueError(f"too many units: {hp.get('units')}")
    return build_model(hp)


@pytest.mark.parametrize(
    ("hypermodel", "words"),
    [
        (build_with_a_lock, "build_with_a_lock cannot be sent to the worker processes .*it refers to lock \\(lock\\)"),
        (build_nothing, "build_nothing returned dict, not a Keras model"),
        (build_uncompiled, "build_uncompiled returned a model that is not compiled: call model.compile"),
        (build_bad_default, "build_bad_default declares units with default 500, outside its range 8 to 16"),
    ],
)
def test_a_bad_build_function_is_named_with_what_is_wrong(tmp_path, hypermodel, words):
    with pytest.raises(tw.SpecError, match=f"hypermodel: {words}"):
        tw.Search(spec(), tmp_path / "s", hypermodel=hypermodel, data=data()).run()


def test_a_build_that_raises_fails_its_trial_and_the_search_goes_on(tmp_path):
    results = tw.Search(
        spec(**{"tuner.max_trials": 6, "tuner.max_consecutive_failed_trials": 6}),
        tmp_path / "s",
        hypermodel=build_fails_above_32,
        data=data(),
    ).run()
    statuses = dict(zip(results.trials["trial_id"], results.trials["status"], strict=True))
    for t in results.record.ordered():
        if t.hyperparameters["units"] > 32:
            assert statuses[t.trial_id] == "failed" and "too many units" in t.message
        else:
            assert statuses[t.trial_id] == "completed"


def test_data_that_does_not_fit_the_model_is_named_before_any_trial(tmp_path):
    wrong = Arrays(np.zeros((80, 5), "float32"), Y[:80])  # the model takes 6 inputs
    search = tw.Search(
        spec(**{"tuner.max_trials": 5, "tuner.max_consecutive_failed_trials": 2}),
        tmp_path / "s",
        hypermodel=build_model,
        data=wrong,
    )
    with pytest.raises(tw.SearchError) as raised:  # at the model's first build, before any trial trains
        search.run()
    said = str(raised.value)
    assert "x has rows of shape (5,), and build_model's model takes rows of shape (6,)" in said, said


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ((X[:80], Y[:70]), "x and y must have the same number of rows: x has 80, y has 70"),
        (Arrays(X, Y, validation_data=(X[:0], Y[:0])), "validation_data: is empty"),
        (Arrays(X[:3], Y[:3], validation_split=0.2), "validation_split: 0.2 of 3 rows leaves no row for validation"),
        ("x.csv", "expected your arrays, as \\(x, y\\)"),
    ],
)
def test_bad_arrays_are_named(tmp_path, data, words):
    with pytest.raises(tw.DataError, match=words):
        tw.Search(spec(), tmp_path / "s", hypermodel=build_model, data=data)


def test_several_inputs_as_a_dict_train_fused(tmp_path):
    def build_two(hp):
        a, b = keras.Input((4,), name="a"), keras.Input((2,), name="b")
        h = keras.layers.Dense(hp.Int("units", 4, 12, step=4), activation="relu")(keras.layers.Concatenate()([a, b]))
        model = keras.Model({"a": a, "b": b}, keras.layers.Dense(1, activation="sigmoid")(h))
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model

    x = {"a": X[:, :4], "b": X[:, 4:]}
    results = tw.Search(spec(**{"tuner.fuse": 2}), tmp_path / "s", hypermodel=build_two, data=(x, Y)).run()
    assert results.trials["status"].tolist() == ["completed"] * 3


# ---------------------------------------------------------------------------------------------- the dashboard


def test_the_dashboard_makes_a_control_per_hyperparameter_and_its_changes_reach_the_trials(tmp_path):
    dash = tw.Dashboard(hypermodel=build_conditional, data=data(), base_dir=tmp_path)
    form = dash.hyperparameters
    assert form.wait(120) and not form.failure
    assert list(dash.form.tabs.titles[:3]) == ["build_conditional", "Training", "Tuner"]
    training = dash.form.tabs.children[1].children
    assert any("adds no hyperparameter" in getattr(c, "value", "") for c in training)  # the batch size, said
    assert list(form.controls) == ["optimizer", "momentum", "units"]
    assert form.controls["momentum"].widget.layout.margin == "0 0 0 24px"  # under its parent, optimizer
    assert dash.spec.hypermodel.overrides == {}  # nothing changed yet: searched as build_conditional declares it
    units, momentum = form.controls["units"], form.controls["momentum"]
    assert dash.control("hypermodel.hyperparameters.units") is units  # reachable like every other control
    assert {p.split(".")[0] for p in dash.controls} == {"hypermodel", "training", "tuner"}  # only what it uses
    units.min.value, units.max.value = 16, 8  # a bad range is marked next to its control, and Run waits
    assert "min (16) is above max (8)" in units.message and dash.bar.run_button.disabled
    units.min.value, units.max.value = 8, 12
    momentum.mode.value = "fixed"
    momentum.fixed.value = 0.6
    dash.control("tuner.max_trials").set(4)
    dash.control("training.epochs").set(2)
    assert dash.spec.hypermodel.overrides == {"units": tw.Range(8, 12, 4), "momentum": tw.Fixed(0.6)}
    assert not dash.bar.run_button.disabled
    dash.run()
    results = dash.wait(300)
    assert results is not None and len(results.trials) == 4
    for t in results.record.ordered():
        assert t.hyperparameters["units"] in (8, 12)
        if t.hyperparameters["optimizer"] == "sgd":
            assert t.hyperparameters["momentum"] == 0.6
    assert "def build_conditional(hp):" in results.model_code()
    # the dashboard's own results are your model's too: Evaluate and Show code work from its panel
    assert type(dash.results) is type(results)
    assert set(dash.results_panel.evaluate()) >= {"loss", "accuracy"}
    assert "def build_conditional(hp):" in dash.results_panel.best_model_code()
    # reopened from its folder (after a kernel restart): the same controls, the overrides in place
    again = tw.Dashboard.open(results.directory, base_dir=tmp_path)
    assert again.hyperparameters.wait(120)
    assert again.spec.hypermodel.overrides == {"units": tw.Range(8, 12, 4), "momentum": tw.Fixed(0.6)}


def test_the_dashboard_names_a_build_that_fails_next_to_its_controls(tmp_path):
    dash = tw.Dashboard(hypermodel=build_nothing, data=data(), base_dir=tmp_path)
    assert dash.hyperparameters.wait(120)
    assert "build_nothing returned dict, not a Keras model" in dash.hyperparameters.status.value
    assert dash.bar.run_button.disabled and "build_nothing returned dict" in dash.form.problems.value


def test_the_dashboard_says_a_hypermodel_with_its_own_fit_trains_one_trial_at_a_time(tmp_path):
    dash = tw.Dashboard(hypermodel=OwnFit(), data=data(), base_dir=tmp_path)
    assert dash.hyperparameters.wait(120)
    assert "OwnFit has its own fit: its trials train through it, one at a time" in dash.form.summary.value


def test_a_function_from_the_users_own_module_travels_without_that_module(tmp_path):
    """A build function imported from a file beside the notebook (or a folder put on sys.path) goes by value:
    a process that cannot import that module still builds it."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "my_models.py").write_text(
        "import keras\n\n\ndef build_mine(hp):\n"
        "    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(hp.Int('units', 2, 4))])\n"
        "    model.compile(optimizer='adam', loss='mse')\n    return model\n"
    )
    sys.path.insert(0, str(folder))
    try:
        import my_models

        packed = pack(my_models.build_mine)
    finally:
        sys.path.remove(str(folder))
    script = "import cloudpickle, sys; f = cloudpickle.loads(sys.stdin.buffer.read()); print(f.__name__)"
    out = subprocess.run(
        [sys.executable, "-c", script], input=packed.pickled, capture_output=True, cwd=tmp_path, timeout=120
    )
    assert out.stdout.decode().strip() == "build_mine", out.stderr.decode()[-1000:]


def test_the_live_views_draw_the_hypermodels_log_scaled_numbers_on_log_axes(tmp_path):
    from tunewidgets.plots import LiveViews

    search = tw.Search(spec(**{"tuner.max_trials": 1}), tmp_path / "s", hypermodel=build_model, data=data())
    views = LiveViews(search)
    assert "learning_rate" not in views.log_names  # not known before the search has found the space
    search.events.subscribe(views.on_event)
    search.run()
    assert "learning_rate" in views.log_names and "units" not in views.log_names


def build_slowly(hp):
    import time

    time.sleep(1)  # a build that takes a while: the dashboard is shown before its hyperparameters are found
    return build_model(hp)


def test_finding_the_hyperparameters_is_said_as_what_happens_not_as_a_problem(tmp_path):
    dash = tw.Dashboard(hypermodel=build_slowly, data=data(), base_dir=tmp_path)
    assert dash.hyperparameters.discovering
    assert "Finding the hyperparameters of <code>build_slowly</code>" in dash.form.summary.value
    assert "problem" not in dash.form.summary.value and "hypermodel" not in dash.form.problems.value
    assert dash.bar.run_button.disabled  # Run waits for them
    assert dash.hyperparameters.wait(120)
    assert not dash.bar.run_button.disabled and "Finding" not in dash.form.summary.value
