"""Data: built-in sets, CSV files, DataFrames and arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tunewidgets import DataError
from tunewidgets.data import Dataset, prepare
from tunewidgets.spec import DataSpec


@pytest.mark.parametrize(
    "name,task,shape,classes",
    [
        ("classification", "binary", (20,), 2),
        ("moons", "binary", (2,), 2),
        ("circles", "binary", (2,), 2),
        ("regression", "regression", (20,), None),
        ("iris", "multiclass", (4,), 3),
        ("wine", "multiclass", (13,), 3),
        ("breast_cancer", "binary", (30,), 2),
        ("digits", "multiclass", (8, 8, 1), 10),
        ("diabetes", "regression", (10,), None),
    ],
)
def test_builtin_sets_need_no_download(name, task, shape, classes):
    ds = prepare(DataSpec(name=name, samples=200))
    assert ds.task == task
    assert ds.input_shape == shape
    assert ds.n_classes == classes
    total = len(ds.x_train) + len(ds.x_val) + len(ds.x_test)
    assert len(ds.x_test) == pytest.approx(0.2 * total, abs=1)
    assert len(ds.x_val) == pytest.approx(0.2 * (total - len(ds.x_test)), abs=1)
    assert ds.x_train.dtype == np.float32
    assert np.isfinite(ds.x_train).all()


def test_quickstart_data_matches_make_classification():
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=1000, n_features=20, random_state=42)
    ds = prepare(DataSpec(noise=0.01, seed=42, scaling="none"))
    rows = np.concatenate([ds.x_train, ds.x_val, ds.x_test])
    labels = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    order = np.lexsort(rows.T)
    ref_order = np.lexsort(x.astype(np.float32).T)
    np.testing.assert_allclose(rows[order], x.astype(np.float32)[ref_order])
    np.testing.assert_array_equal(labels[order], y[ref_order])


def test_standard_scaling_uses_training_rows_only():
    ds = prepare(DataSpec(name="wine"))
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-3)
    assert not np.allclose(ds.x_test.mean(axis=0), 0, atol=1e-5)


def test_splits_are_stratified_and_repeatable():
    a = prepare(DataSpec(name="iris"))
    b = prepare(DataSpec(name="iris"))
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert sorted(np.bincount(a.y_test)) == [10, 10, 10]


def test_regression_target_is_standardized_and_reported():
    ds = prepare(DataSpec(name="diabetes"))
    assert abs(float(ds.y_train.mean())) < 1e-5
    assert ds.target_std > 1
    assert any("target standardized" in line for line in ds.report)


def test_save_and_load_round_trip(tmp_path):
    ds = prepare(DataSpec(name="iris"))
    ds.save(tmp_path / "d.npz", tmp_path / "d.json")
    back = Dataset.load(tmp_path / "d.npz", tmp_path / "d.json")
    np.testing.assert_array_equal(back.x_test, ds.x_test)
    assert back.class_names == ds.class_names and back.task == ds.task and back.report == ds.report


def _csv(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def _table(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "rooms": rng.integers(1, 6, n),
            "area": rng.normal(80, 20, n).round(1),
            "city": rng.choice(["north", "south", "east"], n),
            "price": rng.normal(300, 50, n).round(0) + 0.5,
            "sold": rng.choice(["yes", "no"], n),
        }
    )


def test_csv_with_text_columns_and_missing_values(tmp_path):
    frame = _table()
    frame.loc[3, "area"] = np.nan
    frame.loc[5, "city"] = np.nan
    path = _csv(tmp_path, frame.to_csv(index=False))
    ds = prepare(DataSpec(source="csv", path=path, target="sold"))
    assert ds.task == "binary"
    assert ds.class_names == ["no", "yes"]
    assert "city_north" in ds.feature_names and "price" in ds.feature_names
    assert np.isfinite(ds.x_train).all()
    text = "\n".join(ds.report)
    assert "filled 1 missing values with the median" in text
    assert "one-hot encoded (missing values as their own category)" in text


def test_csv_regression_and_chosen_columns(tmp_path):
    path = _csv(tmp_path, _table().to_csv(index=False))
    ds = prepare(DataSpec(source="csv", path=path, target="price", columns=("rooms", "area")))
    assert ds.task == "regression"
    assert ds.feature_names == ["rooms", "area"]


def test_csv_not_utf8_is_read_and_reported(tmp_path):
    frame = _table()
    frame["city"] = frame["city"].replace({"north": "Zürich"})
    path = _csv(tmp_path, frame.to_csv(index=False), encoding="latin-1")
    ds = prepare(DataSpec(source="csv", path=path, target="sold"))
    assert any("not UTF-8" in line for line in ds.report)
    assert "city_Zürich" in ds.feature_names


@pytest.mark.parametrize(
    "content,spec_changes,path,message",
    [
        ("", {}, "data.path", "is empty"),
        ("a,b,y\n", {}, "data.path", "header but no rows"),
        ("a,y\n" + "1,x\n" * 20, {}, "data.target", "has only one value ('x')"),
        (
            "a,y\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(20)),
            {"task": "regression"},
            "data.target",
            "holds text ('a', 'b'); regression needs numbers",
        ),
        (
            "a,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)),
            {"task": "binary"},
            "data.task",
            "binary needs 2 classes; column 'y' has 3",
        ),
        ("a,b\n1,2\n", {}, "data.target", "column 'y' not in the data (columns: a, b)"),
        ("a,y\n1,0\n2,1\n", {}, "data.path", "only 2 usable rows"),
    ],
)
def test_bad_csv_files_name_the_problem(tmp_path, content, spec_changes, path, message):
    file = _csv(tmp_path, content)
    spec = DataSpec(source="csv", path=file, target="y", **spec_changes)
    with pytest.raises(DataError) as info:
        prepare(spec)
    assert [i.path for i in info.value.issues] == [path]
    assert message in str(info.value)


def test_csv_too_large_is_refused_before_loading(tmp_path, monkeypatch):
    path = _csv(tmp_path, _table().to_csv(index=False))
    monkeypatch.setenv("TUNEWIDGETS_MAX_CSV_BYTES", "100")
    with pytest.raises(DataError, match=r"data.csv is \d+\.\d KB, more than the 100 bytes"):
        prepare(DataSpec(source="csv", path=path, target="sold"))


def test_dataframe_and_arrays():
    frame = _table()
    ds = prepare(DataSpec(source="dataframe", target="city"), frame)
    assert ds.task == "multiclass" and ds.class_names == ["east", "north", "south"]
    x = np.random.default_rng(1).normal(size=(50, 3))
    ds = prepare(DataSpec(source="dataframe"), (x, (x[:, 0] > 0).astype(int)))
    assert ds.task == "binary" and ds.input_shape == (3,)
    with pytest.raises(DataError, match="X has 50 rows but y has 3"):
        prepare(DataSpec(source="dataframe"), (x, [0, 1, 0]))
    with pytest.raises(DataError, match="needs the data passed in Python"):
        prepare(DataSpec(source="dataframe"))
