"""Bad data values are refused where the data is read, naming the field, the column and the rows.

Each case of the table makes its input on the fly: a CSV file in ``tmp_path``, a DataFrame or arrays.
Cases marked ``file`` are also found by ``file_issues`` (what validate, the dashboard and Search check
before starting); every case is refused by ``prepare``. No test trains a model.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tunewidgets import DataError
from tunewidgets.data import Dataset, file_issues, prepare, read_csv_header
from tunewidgets.data.builtin import SHIPPED_ROWS, builtin
from tunewidgets.data.csv import read_csv
from tunewidgets.spec import DataSpec, Spec


def _rows(n: int, bad: dict[int, str] | None = None, classes: int = 2) -> str:
    """``a,b,y`` then ``n`` rows; ``bad`` replaces column b's value in some rows (counted from 0)."""
    bad = bad or {}
    return "a,b,y\n" + "".join(f"{i},{bad.get(i, i * 2)},{i % classes}\n" for i in range(n))


def _write(tmp_path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def csv_case(text: str, **changes):
    """A case reading ``text`` from a CSV file with target ``y``."""

    def make(tmp_path):
        return DataSpec(source="csv", path=_write(tmp_path, text), target="y", **changes), None

    return make


def frame_case(frame: pd.DataFrame, **changes):
    def make(tmp_path):
        return DataSpec(source="dataframe", target="y", **changes), frame

    return make


def arrays_case(x: np.ndarray, y: np.ndarray, **changes):
    def make(tmp_path):
        return DataSpec(source="dataframe", **changes), (x, y)

    return make


def _x(n: int = 40, width: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, width))


def _with(array: np.ndarray, where: list[tuple[int, ...]], value: float) -> np.ndarray:
    out = array.astype(np.float64).copy()
    for index in where:
        out[index] = value
    return out


def _labels(n: int = 40) -> np.ndarray:
    return np.arange(n) % 2


def _frame(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame({"area": np.linspace(50, 90, n), "rooms": np.arange(n) % 5, "y": np.arange(n) % 2})


def _relative_missing(tmp_path):
    return DataSpec(source="csv", path="nope.csv", target="y"), None


def _dataframe_with_builtin_spec(tmp_path):
    return DataSpec(source="builtin", name="moons"), _frame()


def _dataframe_source_without_data(tmp_path):
    return DataSpec(source="dataframe", target="y"), None


def _moons(**changes):
    def make(tmp_path):
        return DataSpec(source="builtin", name="moons", **changes), None

    return make


#: (case id, the input made in tmp_path, exception, Issue path, words the message holds, file_issues finds it)
CASES = [
    # 1. inf / -inf in a numeric column: named with the rows (a CSV file's line numbers, line 1 the header)
    (
        "csv-inf",
        csv_case(_rows(30, {3: "inf", 7: "-inf"})),
        DataError,
        "data.path",
        ["column 'b'", "infinite values", "2 lines: 5, 9", "data.csv", "counted from 1 at its header", "data.columns"],
        True,
    ),
    (
        "csv-inf-after-a-blank-line",
        csv_case("a,b,y\n1,2,0\n\n" + "".join(f"{i},{'inf' if i == 4 else i},{i % 2}\n" for i in range(30))),
        DataError,
        "data.path",
        ["column 'b'", "line 8 "],
        True,
    ),
    (
        "csv-too-large-for-float32",
        csv_case(_rows(30, {0: "1e39"})),
        DataError,
        "data.path",
        ["column 'b'", "too large for 32-bit floats", "line 2 "],
        True,
    ),
    (
        "csv-inf-in-target",
        csv_case("a,y\n" + "".join(f"{i},{'inf' if i == 5 else i * 0.37}\n" for i in range(30))),
        DataError,
        "data.target",
        ["target column 'y'", "infinite", "line 7 ", "empty to drop those rows"],
        True,
    ),
    (
        "dataframe-inf",
        frame_case(_frame().assign(area=lambda f: f["area"].where(f.index != 2, -np.inf))),
        DataError,
        "data",
        ["column 'area'", "infinite values", "row 2 ", "df.iloc[3]"],
        False,
    ),
    (
        "arrays-inf-in-x",
        arrays_case(_with(_x(), [(4, 1), (9, 1)], np.inf), _labels()),
        DataError,
        "data",
        ["X holds infinite values", "column 1 (x1)", "2 rows: 4, 9", "counted from 0"],
        False,
    ),
    (
        "arrays-inf-in-y",
        arrays_case(_x(), _with(np.linspace(0, 1, 40), [(6,)], -np.inf)),
        DataError,
        "data",
        ["y holds infinite values", "row 6 "],
        False,
    ),
    # 2. y of arrays: rows with NaN are dropped as a table's are (test below); with no value at all, refused
    (
        "arrays-y-all-nan",
        arrays_case(_x(), np.full(40, np.nan)),
        DataError,
        "data",
        ["y has no values", "NaN"],
        False,
    ),
    # 3. NaN in X: a 2-d X is filled as a table is (test below); images with NaN are refused
    (
        "arrays-images-with-nan",
        arrays_case(
            _with(np.zeros((40, 4, 4, 1)) + np.arange(40)[:, None, None, None], [(3, 1, 2, 0)], np.nan), _labels()
        ),
        DataError,
        "data",
        ["X holds missing values (NaN)", "row 3 ", "2-d X"],
        False,
    ),
    # 4. a name given to two columns: pandas would read the second target as an input 'y.1'
    (
        "csv-target-twice",
        csv_case("a,y,y\n" + "".join(f"{i},{i % 2},{i % 2}\n" for i in range(30))),
        DataError,
        "data.target",
        ["column 'y', the target, appears twice", "columns 2 and 3, counted from 1", "remove the extra column"],
        True,
    ),
    (
        "csv-input-twice",
        csv_case("a,a,y\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(30))),
        DataError,
        "data.path",
        ["column 'a' appears twice", "columns 1 and 2", "its own name"],
        True,
    ),
    (
        "dataframe-target-twice",
        frame_case(pd.DataFrame(np.c_[np.arange(30), np.arange(30) % 2, np.arange(30) % 2], columns=["a", "y", "y"])),
        DataError,
        "data.target",
        ["column 'y', the target, appears twice", "columns 1 and 2, counted from 0"],
        False,
    ),
    # 5. splits that leave too few rows, with the counts
    (
        "csv-split-leaves-no-training-row",
        csv_case(_rows(20), test_split=0.9, validation_split=0.9),
        DataError,
        "data.test_split",
        ["0 training rows", "of 20", "data.test_split 0.9 keeps 18", "data.validation_split 0.9 takes 2"],
        True,
    ),
    (
        "csv-fewer-training-rows-than-classes",
        csv_case(_rows(12, classes=3), test_split=0.5, validation_split=0.7),
        DataError,
        "data.validation_split",
        ["1 training row ", "3 classes", "lower data.test_split or data.validation_split"],
        True,
    ),
    (
        "builtin-split-leaves-no-training-row",
        _moons(samples=20, test_split=0.9, validation_split=0.9),
        DataError,
        "data.test_split",
        ["0 training rows", "of 20"],
        True,
    ),
    (
        "arrays-split-too-small",
        arrays_case(_x(12), np.arange(12) % 4, test_split=0.5, validation_split=0.5),
        DataError,
        "data.validation_split",
        ["3 training rows", "4 classes"],
        False,
    ),
    # 6. a one-column file stays one column (no letter taken for a delimiter): it has no input column
    (
        "csv-one-column",
        lambda tmp_path: (
            DataSpec(
                source="csv", path=_write(tmp_path, "price\n" + "".join(f"{i}\n" for i in range(30))), target="price"
            ),
            None,
        ),
        DataError,
        "data.columns",
        ["data.csv has no input column", "only column is the target 'price'"],
        True,
    ),
    # 8. a relative path: the message says where it looked and why
    (
        "csv-relative-path-not-found",
        _relative_missing,
        DataError,
        "data.path",
        ["file not found: {tmp_path}/nope.csv", "relative", "current folder, {tmp_path}", "full path"],
        True,
    ),
    # 10. data passed that the spec would ignore, and a 'dataframe' source with none
    (
        "dataframe-given-to-a-builtin-spec",
        _dataframe_with_builtin_spec,
        DataError,
        "data.source",
        ["a DataFrame was passed", "data.source is 'builtin'", "built-in data set 'moons'", "'dataframe'"],
        False,
    ),
    (
        "dataframe-source-without-data",
        _dataframe_source_without_data,
        DataError,
        "data.source",
        ["needs the data passed in Python", "data=df", "data=(X, y)"],
        False,
    ),
]


@pytest.mark.parametrize("make,error,path,words,in_file_issues", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_data_is_refused_where_it_is_read(tmp_path, monkeypatch, make, error, path, words, in_file_issues):
    monkeypatch.chdir(tmp_path)
    words = [w.format(tmp_path=tmp_path.resolve()) for w in words]
    spec, data = make(tmp_path)
    with pytest.raises(error) as info:
        prepare(spec, data)
    issues = [i for i in info.value.issues if i.path == path]
    assert issues, info.value.issues
    for word in words:
        assert word in issues[0].message, (word, issues[0].message)
    assert "np." not in str(info.value)
    if in_file_issues:
        found = [i for i in file_issues(Spec(data=spec)) if i.path == path]
        assert found and all(w in found[0].message for w in words), found


# ---------------------------------------------------------------------- good data read right


def test_good_files_have_no_file_issues(tmp_path):
    path = _write(tmp_path, _rows(40))
    assert file_issues(Spec(data=DataSpec(source="csv", path=path, target="y"))) == []
    assert file_issues(Spec(data=DataSpec(name="iris"))) == []


def test_file_issues_read_a_changed_file_again(tmp_path):
    spec = Spec(data=DataSpec(source="csv", path=_write(tmp_path, _rows(40)), target="y"))
    assert file_issues(spec) == []
    _write(tmp_path, _rows(40, {12: "inf"}))
    assert [i.path for i in file_issues(spec)] == ["data.path"]


def test_european_csv_is_read_with_decimal_commas(tmp_path):
    text = "a;b;y\n" + "".join(f"{i},5;{i}.234,25;{i % 2}\n" for i in range(1, 21))
    frame, notes, _ = read_csv(_write(tmp_path, text))
    assert list(frame.columns) == ["a", "b", "y"]
    assert frame["a"].tolist() == [i + 0.5 for i in range(1, 21)]
    assert frame["b"].tolist() == [i * 1000 + 234.25 for i in range(1, 21)]
    assert any("decimal comma" in n and "';'" in n and "'1,5' as 1.5" in n for n in notes)
    ds = prepare(DataSpec(source="csv", path=str(tmp_path / "data.csv"), target="y", scaling="none"))
    assert ds.feature_names == ["a", "b"]
    assert any("decimal comma" in line for line in ds.report)


def test_semicolons_with_decimal_points_keep_the_points(tmp_path):
    frame, notes, _ = read_csv(_write(tmp_path, "a;y\n1.5;0\n2.25;1\n"))
    assert frame["a"].tolist() == [1.5, 2.25] and notes == []


@pytest.mark.parametrize(
    "text,columns",
    [
        ("price\n" + "".join(f"{i}\n" for i in range(20)), ["price"]),
        ("sepal length\n1\n2\n", ["sepal length"]),
        ("a\tb\ty\n1\t2\t0\n", ["a", "b", "y"]),
        ("a|b|y\n1|2|0\n", ["a", "b", "y"]),
        ("a, b, y\n1, 2, 0\n", ["a", "b", "y"]),
        ('a,b,y\n"1,5",2,0\n"2,5",3,1\n', ["a", "b", "y"]),
        ("a b y\n1 2 0\n3 4 1\n", ["a", "b", "y"]),
    ],
    ids=["one-column", "one-column-with-a-space", "tabs", "pipes", "space-after-comma", "quoted", "spaces"],
)
def test_columns_are_split_on_a_delimiter_never_a_letter(tmp_path, text, columns):
    assert read_csv_header(_write(tmp_path, text)) == columns


def test_arrays_rows_with_no_target_are_dropped_and_reported():
    x, y = _x(), _labels().astype(float)
    y[[4, 9]] = np.nan
    ds = prepare(DataSpec(source="dataframe", test_split=0.0), (x, y))
    assert len(ds.x_train) + len(ds.x_val) == 38
    assert ds.class_names == ["0", "1"]  # whole numbers again once the NaN are gone
    assert any(line.startswith("dropped 2 rows with no value (NaN) in y") and "4, 9" in line for line in ds.report)


def test_arrays_missing_inputs_are_filled_with_the_training_median():
    x = _x()
    x[[3, 5], 1] = np.nan
    ds = prepare(DataSpec(source="dataframe", scaling="none", test_split=0.0), (x, _labels()))
    assert np.isfinite(ds.x_train).all() and np.isfinite(ds.x_val).all()
    assert ds.feature_names == ["x0", "x1", "x2"]
    assert any(line.startswith("column 'x1': filled 2 missing values with the median") for line in ds.report)


def test_shipped_sets_have_the_rows_the_split_check_counts():
    for name, rows in SHIPPED_ROWS.items():
        x, *_ = builtin(DataSpec(name=name))
        assert len(x) == rows, name


# ---------------------------------------------------------------------- 9. a damaged data.npz


def _saved(tmp_path):
    ds = prepare(DataSpec(name="moons", samples=40))
    arrays, meta = tmp_path / "data.npz", tmp_path / "data.json"
    ds.save(arrays, meta)
    return arrays, meta


@pytest.mark.parametrize(
    "damage,words",
    [
        (lambda a, m: a.write_bytes(a.read_bytes()[: len(a.read_bytes()) // 2]), ["data.npz is damaged"]),
        (lambda a, m: a.write_bytes(b"not a zip file at all"), ["data.npz is damaged"]),
        (lambda a, m: a.unlink(), ["data.npz is missing"]),
        (lambda a, m: m.write_text("{oops"), ["data.json is damaged"]),
        (lambda a, m: m.write_text(json.dumps({"task": "binary"})), ["data.json is damaged"]),
    ],
    ids=["truncated", "garbage", "missing", "bad-json", "json-missing-keys"],
)
def test_a_damaged_data_file_says_what_to_do(tmp_path, damage, words):
    arrays, meta = _saved(tmp_path)
    damage(arrays, meta)
    with pytest.raises(DataError) as info:
        Dataset.load(arrays, meta)
    [issue] = info.value.issues
    assert issue.path == "data"
    for word in [*words, "trials and their scores", "intact", "new folder", "has not finished", str(tmp_path)]:
        assert word in issue.message, (word, issue.message)
