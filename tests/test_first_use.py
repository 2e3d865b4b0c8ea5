"""What a first user trips on: repeatable results, honest budgets, the size guard, resume, plain messages."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
import stat
import subprocess
import sys

import numpy as np
import pytest

import tunewidgets as tw
from tunewidgets.cli import Progress, main
from tunewidgets.engine import Search
from tunewidgets.events import EpochEnded, TrialEnded, TrialStarted, TrialStatus
from tunewidgets.spec import Choice, Fixed, Range, Spec, budget, choice, size, space

from .conftest import SPECS, collect, tiny
from .test_cli import cli


def csv_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------- results that repeat


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_the_quickstart_twice_with_its_seed_gives_the_same_scores(tmp_path, quickstart, workers):
    spec = quickstart.replace(**{"tuner.max_trials": 4, "training.epochs": 3, "tuner.workers": workers})
    tables = []
    for run in ("first", "second"):
        Search(spec, tmp_path / run).run()
        tables.append(
            [(r["trial_id"], r["score"], r["learning_rate"]) for r in csv_rows(tmp_path / run / "trials.csv")]
        )
    assert len(tables[0]) == 4
    assert tables[0] == tables[1]  # the same hyperparameters and the same scores, to the last digit


def test_a_trials_seed_depends_on_the_search_seed_the_trial_and_the_run_only():
    from tunewidgets.engine.worker.kt_tuner import oracle_seed
    from tunewidgets.engine.worker.trials import trial_seed

    assert trial_seed(42, "03", 0) == trial_seed(42, "03", 0)
    assert len({trial_seed(42, "03", 0), trial_seed(42, "04", 0), trial_seed(42, "03", 1), trial_seed(7, "03", 0)}) == 4
    assert trial_seed(None, "03", 0) != trial_seed(None, "03", 0)  # no search seed: a fresh one each run
    assert oracle_seed(0) not in (0, None) and oracle_seed(5) == 5  # keras-tuner reads 0 as "no seed"


def test_the_row_order_of_a_fit_is_a_function_of_its_seed():
    pytest.importorskip("tensorflow")
    from tunewidgets.model.pipeline import InputPipelines

    x = np.arange(50, dtype=np.float32).reshape(50, 1)
    pipelines = InputPipelines(x, x[:, 0], x[:5], x[:5, 0])

    def first_pass(seed):
        kwargs = pipelines.fit_kwargs(16, seed)
        batches = iter(kwargs["x"])
        return np.concatenate([next(batches)[1].numpy() for _ in range(kwargs["steps_per_epoch"])]).tolist()

    a, b, a_again = first_pass(1), first_pass(2), first_pass(1)
    assert a == a_again and a != b
    assert sorted(a) == list(range(50))


# ---------------------------------------------------------------------- the size guard


def test_a_space_too_large_for_the_machine_is_refused_with_the_figures(monkeypatch):
    monkeypatch.setattr("tunewidgets._memory.total_mb", lambda: 2048.0)  # a Binder
    assert size.default_max_parameters() == 33_000_000
    huge = Spec().replace(**{"model.layers": Fixed(10), "model.units": Fixed(8192)})
    issues = huge.validate()
    assert [i.path for i in issues] == ["model.units"]
    assert issues[0].message.startswith("the largest model of this search has 604,233,729 weights (about 9.7 GB")
    assert "7.3 GB of checkpoint per trial), more than the limit for this machine (33,000,000)" in issues[0].message
    # the spec's own limit overrides the default
    assert huge.replace(**{"training.max_parameters": 10**9}).validate() == []


@pytest.mark.parametrize(
    "changes",
    [
        {"model.layers": Fixed(3), "model.units": Fixed(64), "model.batch_norm": choice(False, True)},
        {"model.layers": Range(1, 4), "model.units": Range(8, 40, 8), "model.shape": choice("funnel", "free")},
        {"model.layers": Fixed(2), "model.units": Fixed(16), "model.residual": Fixed(True), "data.name": "iris"},
        {"model.layers": Fixed(0), "data.name": "wine"},
        {
            "data.name": "digits",
            "model.architecture": "cnn",
            "model.conv_blocks": Range(1, 3),
            "model.filters": choice(8, 16),
            "model.kernel_size": Fixed(5),
            "model.batch_norm": Fixed(True),
            "model.layers": Fixed(1),
            "model.units": Fixed(32),
        },
    ],
)
def test_the_largest_model_estimate_is_what_keras_builds(changes):
    from tunewidgets.data import prepare
    from tunewidgets.model.build import build_model
    from tunewidgets.model.spec_hypermodel import SpecHyperModel
    from tunewidgets.spec.datasets import builtin_shape

    spec = Spec().replace(**changes)
    ds = prepare(spec.data)
    shape, outputs = builtin_shape(spec)
    assert shape == ds.input_shape
    hypermodel = SpecHyperModel(spec, ds)
    import keras_tuner as kt

    space_ = kt.HyperParameters()
    hypermodel.declare(space_)
    options = []  # every extreme point of the network's form: each choice, the ends of its ranges
    shape_knobs = {"layers", "units", "shape", "batch_norm", "residual", "conv_blocks", "filters", "kernel_size"}
    for p in space_.space:
        if p.name not in shape_knobs and not p.name.startswith("units_"):
            options.append(
                [getattr(p, "default", None) if not isinstance(p, kt.engine.hyperparameters.Fixed) else p.value]
            )
        elif isinstance(p, kt.engine.hyperparameters.Boolean):
            options.append([False, True])
        elif isinstance(p, kt.engine.hyperparameters.Choice):
            options.append(list(p.values))
        elif isinstance(p, kt.engine.hyperparameters.Fixed):
            options.append([p.value])
        elif p.name in ("layers", "conv_blocks"):  # fewer conv blocks pool less: every count
            options.append(list(range(p.min_value, p.max_value + 1, p.step or 1)))
        else:
            options.append([p.min_value, p.max_value])
    largest = 0
    for combo in itertools.product(*options):
        hp = kt.HyperParameters()
        hp.values.update({p.name: value for p, value in zip(space_.space, combo, strict=True)})
        largest = max(largest, build_model(hypermodel.declare(hp), ds, 2).count_params())
    assert size.largest_model(spec, shape, outputs).weights == largest


@pytest.mark.slow
def test_the_size_guard_counts_a_csv_files_columns_once_they_are_loaded(tmp_path):
    path = tmp_path / "wide.csv"
    columns = [f"c{i}" for i in range(40)]
    rows = [",".join(str((r * 7 + i) % 11) for i in range(40)) + f",{r % 2}" for r in range(60)]
    path.write_text(",".join(columns) + ",y\n" + "\n".join(rows) + "\n")
    spec = Spec().replace(
        **{
            "data.source": "csv",
            "data.path": str(path),
            "data.target": "y",
            "model.layers": Fixed(1),
            "model.units": Fixed(64),
            "training.max_parameters": 2000,
        }
    )
    assert spec.validate() == []  # the width of a CSV file's inputs is known once it is read
    with pytest.raises(tw.SpecError, match=r"model.units: the largest model of this search has 2,689 weights"):
        Search(spec, tmp_path / "run").run()
    assert not (tmp_path / "run" / "data.npz").exists()


def test_a_checkpoint_that_does_not_fit_on_the_disk_fails_its_trial(monkeypatch, tmp_path):
    import shutil

    import keras

    from tunewidgets.engine.worker.checkpoint import check_disk
    from tunewidgets.engine.worker.outcomes import TrialFailed

    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(100)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    check_disk(model, str(tmp_path))  # plenty of room here
    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**9, 10**9 - 5000, 5000))
    with pytest.raises(TrialFailed, match="not enough disk space for this trial's checkpoint"):
        check_disk(model, str(tmp_path))


# ---------------------------------------------------------------------- budgets that say what will happen


def budget_spec(algorithm, **changes):
    base = tiny(Spec.from_file(SPECS / "quickstart.json"), trials=4, epochs=2, samples=120)
    return base.replace(**{"tuner.algorithm": algorithm, **changes})


@pytest.mark.slow
@pytest.mark.parametrize(
    "spec",
    [
        budget_spec("random"),
        # a space of 6 combinations with 10 trials asked: exactly 6
        budget_spec(
            "random",
            **{
                "tuner.max_trials": 10,
                "model.layers": Choice((1, 2)),
                "model.activation": Fixed("relu"),
                "optimizer.learning_rate": Choice((0.001, 0.01, 0.1)),
                "training.batch_size": Fixed(32),
            },
        ),
        budget_spec(
            "grid",
            **{
                "tuner.max_trials": 10,
                "model.layers": Choice((1, 2)),
                "optimizer.learning_rate": Choice((0.001, 0.01)),
                "training.batch_size": Fixed(32),
            },
        ),
        budget_spec("bayesian", **{"tuner.max_trials": 5}),
        budget_spec("hyperband", **{"tuner.max_epochs": 4, "tuner.factor": 2}),
        budget_spec("random", **{"tuner.executions_per_trial": 2, "tuner.max_trials": 2}),
    ],
    ids=["random", "random-small-space", "grid", "bayesian", "hyperband", "two-runs"],
)
def test_validate_and_run_agree_on_trials_and_epochs(tmp_path, spec):
    planned_trials, planned_epochs = budget.planned_trials(spec), budget.planned_epochs(spec)
    assert f"trains {planned_trials} trials" in spec.describe()
    assert f"{planned_epochs:,} epochs in all" in spec.describe()
    search = Search(spec, tmp_path)
    events = collect(search)
    search.run()
    assert sum(isinstance(e, TrialStarted) for e in events) == planned_trials
    assert sum(isinstance(e, EpochEnded) for e in events) == planned_epochs
    rows = csv_rows(tmp_path / "trials.csv")
    assert len(rows) == planned_trials and {r["status"] for r in rows} == {"completed"}
    runs = spec.tuner.executions_per_trial
    assert sum(int(r["epochs"]) for r in rows) * runs == planned_epochs  # epochs each trial trained
    started = next(e for e in events if isinstance(e, tw.events.SearchStarted))
    assert started.planned_trials == planned_trials and started.planned_epochs == planned_epochs
    assert started.plan == spec.describe()


def test_bayesian_random_starts_scale_with_the_budget():
    spec = Spec.from_file(SPECS / "quickstart.json").replace(**{"tuner.algorithm": "bayesian"})
    assert space.tuned_knobs(spec) == 5  # layers, units, activation, learning rate, batch size
    assert budget.random_starts(spec) == 3  # a third of 10 trials (keras-tuner's own default would be 45)
    assert "The first 3 trials are random, then its model of the objective chooses 7." in spec.describe()
    assert budget.random_starts(spec.replace(**{"tuner.max_trials": 60})) == 15  # 3 per searched knob at most
    assert budget.random_starts(spec.replace(**{"tuner.initial_points": 4})) == 4
    assert budget.budget_notes(spec) == []
    assert budget.budget_notes(spec.replace(**{"tuner.max_trials": 2})) == [
        "With 2 trials, Bayesian optimization only has time for its 2 random starts: it will be a random search. "
        "Give it more trials (10 or more) to let its model choose."
    ]


def test_the_oracle_gets_the_random_starts_and_the_exact_trial_count(tmp_path):
    from tunewidgets.data import prepare
    from tunewidgets.engine.worker.kt_tuner import make_tuner
    from tunewidgets.engine.worker.private import MAX_COLLISIONS
    from tunewidgets.model.spec_hypermodel import SpecHyperModel

    spec = Spec.from_file(SPECS / "quickstart.json").replace(
        **{"tuner.algorithm": "bayesian", "tuner.max_trials": 12, "model.units": Choice((8, 16))}
    )
    ds = prepare(spec.data)
    tuner = make_tuner(spec, SpecHyperModel(spec, ds), ds.task, str(tmp_path), "kt")
    assert tuner.oracle.num_initial_points == budget.random_starts(spec) == 4
    assert tuner.oracle.max_trials == 12
    small = spec.replace(
        **{
            "tuner.algorithm": "random",
            "model.layers": Fixed(1),
            "model.activation": Fixed("relu"),
            "optimizer.learning_rate": Choice((0.01, 0.1)),
            "training.batch_size": Fixed(32),
        }
    )
    tuner = make_tuner(small, SpecHyperModel(small, ds), ds.task, str(tmp_path), "kt2")
    assert tuner.oracle.max_trials == budget.planned_trials(small) == 4
    assert getattr(tuner.oracle, MAX_COLLISIONS) >= 200  # draws until the last combination is found


def test_budgets_that_cannot_work_are_refused_in_words():
    spec = Spec.from_file(SPECS / "quickstart.json").replace(
        **{"tuner.algorithm": "bayesian", "tuner.initial_points": 12}
    )
    assert [str(i) for i in spec.validate()] == [
        "tuner.initial_points: 12 random starts with 10 trials: Bayesian optimization would never get to choose a "
        "trial itself; use fewer random starts than trials (at most 9), or leave it empty"
    ]
    small = Spec.from_file(SPECS / "quickstart.json").replace(
        **{
            "tuner.algorithm": "hyperband",
            "model.layers": Fixed(1),
            "model.units": Fixed(16),
            "model.activation": Fixed("relu"),
            "optimizer.learning_rate": Choice((0.01, 0.1)),
            "training.batch_size": Fixed(32),
        }
    )
    assert [i.path for i in small.validate()] == ["tuner.algorithm"]
    assert "Hyperband starts 22 models with new random values, but this search space has only 2" in str(
        small.validate()[0]
    )


def test_the_cli_refuses_trials_for_hyperband_and_gives_it_epochs(tmp_path, capsys):
    path = tmp_path / "hb.json"
    Spec.from_file(SPECS / "hyperband.json").save(path)
    assert main(["run", str(path), "--dir", str(tmp_path / "d"), "--trials", "5"]) == 2
    err = capsys.readouterr().err
    assert "tuner.max_trials: --trials does not apply to Hyperband" in err and "(23 trials with this spec)" in err
    assert not (tmp_path / "d").exists()


# ---------------------------------------------------------------------- resume, counted over the whole search


@pytest.mark.slow
def test_progress_and_best_count_every_trial_of_a_resumed_search(tmp_path, quickstart):
    from .keras_callbacks import SlowEpochs

    spec = tiny(quickstart, trials=4, epochs=3)
    first = Search(spec, tmp_path, callbacks=[SlowEpochs(0.2)])
    first.events.subscribe(lambda e: isinstance(e, TrialEnded) and e.trial_id == "1" and first.stop())
    first.run()
    before = tw.load(tmp_path)
    finished = [t for t in before.record.ordered() if t.status.is_finished()]
    assert len(finished) == 2
    out = io.StringIO()
    second = Search(spec, tmp_path)
    progress = Progress(out)
    second.events.subscribe(progress)
    second.run()
    text = out.getvalue()
    assert f"Done before: 2 of 4 trials; best {before.best_score:.4f}" in text
    assert "[3/4] trial 3:" in text and "[4/4] trial 4:" in text and "[1/4]" not in text
    assert progress.state.best_score == tw.load(tmp_path).best_score


@pytest.mark.slow
def test_a_trial_tried_again_counts_once_and_keeps_its_failed_attempt(tmp_path, quickstart):
    from .keras_callbacks import KillOnce

    spec = tiny(quickstart, trials=3, epochs=3)
    search = Search(spec, tmp_path, callbacks=[KillOnce(str(tmp_path.parent / f"{tmp_path.name}-killed"))])
    out = io.StringIO()
    search.events.subscribe(Progress(out))
    search.run()
    counters = [line.split(" trial")[0] for line in out.getvalue().splitlines() if line.startswith("[")]
    assert counters == ["[1/3]", "[1/3]", "[2/3]", "[3/3]"]  # the first trial failed, then completed
    rows = csv_rows(tmp_path / "trials.csv")
    assert [r["status"] for r in rows] == ["completed"] * 3
    retried = [r for r in rows if r["attempts"] == "2"]
    assert len(retried) == 1
    assert re.match(
        r"1: failed after [12] epochs? \(its worker process died: killed by SIGKILL", retried[0]["earlier_attempts"]
    )


@pytest.mark.slow
def test_a_finished_search_run_again_trains_nothing_and_says_so(tmp_path, quickstart):
    spec = tiny(quickstart, trials=2, epochs=2)
    Search(spec, tmp_path).run()
    log = (tmp_path / "events.jsonl").read_bytes()
    again = Search(spec, tmp_path)
    events = collect(again)
    results = again.run()
    assert again.worker_processes == 0
    assert [type(e).__name__ for e in events] == ["SearchEnded"]
    assert (
        events[0].message == "nothing to train: this search already completed its 2 trials (overwrite starts it afresh)"
    )
    assert results.status == "completed" and len(results.trials) == 2
    assert (tmp_path / "events.jsonl").read_bytes() == log


# ---------------------------------------------------------------------- folders


@pytest.mark.slow
def test_a_folder_whose_data_failed_takes_the_corrected_spec(tmp_path):
    header_only = tmp_path / "empty.csv"
    header_only.write_text("a,b,y\n")
    good = tmp_path / "good.csv"
    good.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    spec = tiny(Spec(), trials=1, epochs=1).replace(
        **{"data.source": "csv", "data.path": str(header_only), "data.target": "y"}
    )
    folder = tmp_path / "run"
    with pytest.raises(tw.DataError, match="has a header but no rows"):
        Search(spec, folder).run()
    assert (folder / "spec.json").exists()
    fixed = spec.replace(**{"data.path": str(good)})
    results = Search(fixed, folder).run()  # nothing was trained there: the corrected spec takes the folder
    assert results.trials["status"].tolist() == ["completed"]
    assert tw.load(folder).spec == fixed


def test_another_spec_is_refused_with_the_way_out(tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    Spec().save(folder / "spec.json")
    (folder / "events.jsonl").write_text(
        json.dumps(
            tw.events.event_to_dict(tw.events.SearchStarted("s", "val_accuracy", "max", "random", 10, 10, False))
        )
        + "\n"
    )
    path = tmp_path / "other.json"
    Spec().replace(**{"training.epochs": 3}).save(path)
    assert main(["run", str(path), "--dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "holds a search of another spec (differs in training.epochs)" in err
    assert "tunewidgets run --overwrite" in err


def test_dir_pointing_at_a_file_is_bad_input(tmp_path, capsys):
    path = tmp_path / "spec.json"
    Spec().save(path)
    afile = tmp_path / "notes.txt"
    afile.write_text("mine\n")
    assert main(["run", str(path), "--dir", str(afile)]) == 2
    err = capsys.readouterr().err
    assert f"{afile} is a file, not a folder" in err and "Traceback" not in err
    assert main(["run", str(path), "--dir", str(afile / "below")]) == 2
    assert "cannot use" in capsys.readouterr().err
    assert afile.read_text() == "mine\n"


# ---------------------------------------------------------------------- messages that say what is wrong


def prepare_csv(tmp_path, content: bytes | str, **changes):
    from tunewidgets.data import prepare
    from tunewidgets.spec import DataSpec

    path = tmp_path / "data.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return prepare(DataSpec(source="csv", path=str(path), target="y", **changes))


def test_random_bytes_are_not_a_text_csv_file(tmp_path):
    with pytest.raises(tw.DataError) as info:
        prepare_csv(tmp_path, np.random.default_rng(0).bytes(5000))
    assert str(info.value) == "data.path: data.csv is not a text CSV file (it holds binary data)"


def test_an_empty_target_column_is_named(tmp_path):
    with pytest.raises(tw.DataError) as info:
        prepare_csv(tmp_path, "a,y\n" + "1,\n" * 30)
    assert str(info.value) == "data.target: column 'y' has no values: every row is empty there"
    with pytest.raises(tw.DataError) as info:
        prepare_csv(tmp_path, "a,y\n" + "1,\n" * 30 + "2,1\n" * 4)
    assert str(info.value) == "data.target: only 4 rows have a value in 'y'; at least 10 are needed"


def test_values_in_messages_are_plain(tmp_path):
    with pytest.raises(tw.DataError) as info:
        prepare_csv(tmp_path, "a,y\n" + "".join(f"{i},1\n" for i in range(30)))
    assert str(info.value) == "data.target: column 'y' has only one value (1); nothing to learn"


@pytest.mark.slow
def test_a_load_error_is_printed_once(tmp_path):
    path = tmp_path / "spec.json"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,y\n" + "1,x\n" * 30)
    Spec().replace(**{"data.source": "csv", "data.path": str(bad), "data.target": "y"}).save(path)
    result = cli("run", str(path), "--dir", str(tmp_path / "out"))
    assert result.returncode == 2
    both = result.stdout + result.stderr
    assert both.count("has only one value ('x')") == 1
    assert "has only one value" in result.stderr


# ---------------------------------------------------------------------- what data preparation did


def test_missing_values_are_filled_with_the_median_of_the_training_rows(tmp_path):
    rows = [f"{i % 7},{'' if i % 5 == 0 else i},{i % 2}" for i in range(100)]
    ds = prepare_csv(tmp_path, "a,b,y\n" + "\n".join(rows) + "\n", scaling="none")
    from tunewidgets.data.prepare import split_rows

    b = np.array([math.nan if i % 5 == 0 else i for i in range(100)], dtype=float)
    y = np.array([i % 2 for i in range(100)])
    train, _, _ = split_rows(y, tw.spec.DataSpec(source="csv", path="x", target="y"), True)
    median = float(np.nanmedian(b[train]))
    assert median != float(np.nanmedian(b))  # the training rows alone give another median here
    assert any(
        f"column 'b': filled 20 missing values with the median of the training rows ({median:g})" == line
        for line in ds.report
    )
    filled = np.concatenate([ds.x_train[:, 1], ds.x_val[:, 1], ds.x_test[:, 1]])
    assert (filled == np.float32(median)).sum() == 20


@pytest.mark.slow
def test_the_cli_shows_the_data_preparation_and_a_regression_in_the_targets_units(tmp_path):
    spec = tiny(Spec.from_file(SPECS / "diabetes_regression.json"), trials=1, epochs=2)
    path = tmp_path / "spec.json"
    spec.save(path)
    result = cli("run", str(path), "--dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "  - target standardized (mean" in result.stdout
    assert "  - inputs scaled (standard) with statistics of the training rows only" in result.stdout
    line = next(li for li in result.stdout.splitlines() if li.startswith("Best model on the test split"))
    assert "(on the standardized target); in the units of 'target': RMSE " in line and ", MAE " in line
    assert "oneDNN" not in result.stdout + result.stderr  # TensorFlow's log lines stay in the worker's log

    r = tw.load(tmp_path / "out")
    scores = r.evaluate()
    model = r.best_model()
    ds = r.dataset
    predicted = model.predict(ds.x_test, verbose=0).reshape(-1) * ds.target_std + ds.target_mean
    actual = ds.y_test.reshape(-1) * ds.target_std + ds.target_mean
    assert scores["target_rmse"] == pytest.approx(float(np.sqrt(np.mean((predicted - actual) ** 2))), rel=1e-4)
    assert scores["target_mae"] == pytest.approx(float(np.mean(np.abs(predicted - actual))), rel=1e-4)


# ---------------------------------------------------------------------- a kernel without TensorFlow


@pytest.mark.slow
def test_evaluate_and_the_report_never_import_tensorflow_here(tmp_path, quickstart):
    tw.run(tiny(quickstart, trials=2, epochs=2), tmp_path / "d", keep_warm=0)
    code = (
        "import sys, tunewidgets as tw; r = tw.load(sys.argv[1]); s = r.evaluate(); "
        "tw.plots.write_report(r, sys.argv[2]); r.save_best_model(sys.argv[3]); "
        "print(sorted(s), 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "d"), str(tmp_path / "r.html"), str(tmp_path / "best.keras")],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},  # as in a fresh notebook
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['accuracy', 'loss'] False False"
    assert out.stderr == ""  # nothing in red in a student's output
    assert (tmp_path / "best.keras").stat().st_size > 0
    assert "accuracy = 0." in (tmp_path / "r.html").read_text()
    kept = json.loads((tmp_path / "d" / "evaluation.json").read_text())
    assert kept["trial_id"] == tw.load(tmp_path / "d").best_trial.trial_id


# ---------------------------------------------------------------------- the report and the files


def test_report_table_scrolls_choices_are_categories_and_files_respect_the_umask(tmp_path):
    from tunewidgets.engine.folder.eventlog import write_tables
    from tunewidgets.engine.folder.record import SearchRecord
    from tunewidgets.events import SearchStarted
    from tunewidgets.plots import _data, _figures

    spec = Spec().replace(**{"regularization.dropout": choice(0.0, 0.25)})
    record = SearchRecord()
    record.apply(SearchStarted("s", "val_accuracy", "max", "random", 4, 1, False))
    for i, dropout in enumerate([0.0, 0.25, 0.25, 0.0, 0.25]):
        tid = f"{i:02d}"
        record.apply(TrialStarted(tid, {"dropout": dropout, "units": 8 * (i + 1)}))
        record.apply(EpochEnded(tid, 1, {"val_accuracy": 0.5 + i / 20}))
        record.apply(TrialEnded(tid, TrialStatus.COMPLETED, 0.5 + i / 20, 1, 1.0))
    cats = space.categorical(spec)
    assert "dropout" in cats and "units" not in cats
    scatter = _data.scatter_data(record, "dropout", set(), cats)
    assert scatter.categorical and scatter.categories == ("0", "0.25")
    fig = _figures.scatter_figure(scatter, "val_accuracy")
    assert fig.layout.xaxis.type == "category" and tuple(fig.layout.xaxis.categoryarray) == ("0", "0.25")
    dims = {d.label: d for d in _data.parallel_data(record, set(), cats).dimensions}
    assert dims["dropout"].ticktext == ("0", "0.25") and dims["dropout"].tickvals == (0.0, 1.0)
    assert dims["units"].tickvals is None  # a range stays a continuous axis

    write_tables(record, tmp_path)
    mode = stat.S_IMODE((tmp_path / "trials.csv").stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    from tunewidgets.engine.results import Results

    (tmp_path / "spec.json").write_text(spec.to_json())
    html = tw.plots.write_report(Results(tmp_path, spec, record), tmp_path / "r.html", evaluate=False).read_text()
    assert '<div class="table-box"><table' in html and ".table-box { overflow-x: auto" in html


@pytest.mark.slow
def test_trial_ids_are_the_same_in_events_tables_and_results(tmp_path, quickstart):
    tw.run(tiny(quickstart, trials=3, epochs=1), tmp_path)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    from_events = [e["trial_id"] for e in events if e["event"] == "trial_started"]
    assert from_events == [r["trial_id"] for r in csv_rows(tmp_path / "trials.csv")]
    assert set(from_events) == {r["trial_id"] for r in csv_rows(tmp_path / "curves.csv")}
    assert from_events == tw.load(tmp_path).trials["trial_id"].tolist()
