"""Data: built-in sets, CSV files and in-memory tables, prepared once per search.

Nothing here downloads anything: synthetic sets are generated and the others
ship inside scikit-learn. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError, Issue
from .spec.datasets import informative_features
from .spec.model import DataSpec

#: Encodings tried, in order, when a CSV file is not UTF-8.
CSV_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
#: Most distinct values a text column may have to be one-hot encoded.
MAX_CATEGORIES = 50
#: Most distinct values of a whole-number target read as classes under task 'auto'.
MAX_AUTO_CLASSES = 20


@dataclass
class Dataset:
    """Data split and ready for Keras, with a record of what was done to it."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    feature_names: list[str]
    class_names: list[str] | None = None
    image: bool = False
    target_name: str = "target"
    target_mean: float = 0.0
    target_std: float = 1.0
    report: list[str] = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.x_train.shape[1:])

    @property
    def n_classes(self) -> int | None:
        return len(self.class_names) if self.class_names is not None else None

    def summary(self) -> str:
        """One plain line: task, sizes, classes."""
        parts = [
            f"{self.task}",
            f"{len(self.x_train)} train / {len(self.x_val)} validation / {len(self.x_test)} test rows",
            f"input shape {self.input_shape}",
        ]
        if self.class_names is not None:
            shown = ", ".join(self.class_names[:10]) + (", ..." if len(self.class_names) > 10 else "")
            parts.append(f"{len(self.class_names)} classes ({shown})")
        return "; ".join(parts)

    _ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")

    def save(self, directory: Path) -> None:
        """Writes ``data.npz`` and ``data.json`` into ``directory`` atomically."""
        import io

        from ._atomic import atomic_write_bytes, atomic_write_json

        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: getattr(self, k) for k in self._ARRAYS})
        atomic_write_bytes(directory / "data.npz", buf.getvalue())
        meta = {
            "task": self.task,
            "feature_names": self.feature_names,
            "class_names": self.class_names,
            "image": self.image,
            "target_name": self.target_name,
            "target_mean": self.target_mean,
            "target_std": self.target_std,
            "report": self.report,
        }
        atomic_write_json(directory / "data.json", meta)

    @classmethod
    def load(cls, directory: Path) -> Dataset:
        with np.load(directory / "data.npz", allow_pickle=False) as arrays:
            values = {k: arrays[k] for k in cls._ARRAYS}
        meta = json.loads((directory / "data.json").read_text(encoding="utf-8"))
        return cls(**values, **meta)


def output_head(task: str, n_classes: int | None) -> tuple[int, str | None, str, list[str]]:
    """``(units, activation, loss, metrics)`` of a network's output layer for a task."""
    if task == "binary":
        return 1, "sigmoid", "binary_crossentropy", ["accuracy"]
    if task == "multiclass":
        return int(n_classes or 2), "softmax", "sparse_categorical_crossentropy", ["accuracy"]
    return 1, None, "mse", ["mae"]


# --------------------------------------------------------------------------- built-in


def _builtin(spec: DataSpec) -> tuple[Any, np.ndarray, list[str], list[str] | None, bool, str]:
    """Returns ``(X, y, feature_names, class_names, image, description)``."""
    from sklearn import datasets as sk

    n, seed, noise = spec.samples, spec.seed, spec.noise
    name = spec.name
    if name == "classification":
        informative = informative_features(spec.classes)
        x, y = sk.make_classification(
            n_samples=n,
            n_features=spec.features,
            n_informative=informative,
            n_redundant=min(2, spec.features - informative),
            n_classes=spec.classes,
            flip_y=noise,
            random_state=seed,
        )
        return (
            x,
            y,
            [f"x{i}" for i in range(spec.features)],
            [str(c) for c in range(spec.classes)],
            False,
            (f"make_classification: {n} samples, {spec.features} features, {spec.classes} classes"),
        )
    if name == "moons":
        x, y = sk.make_moons(n_samples=n, noise=noise, random_state=seed)
        return x, y, ["x0", "x1"], ["0", "1"], False, f"two interleaving half circles, {n} samples"
    if name == "circles":
        x, y = sk.make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed)
        return x, y, ["x0", "x1"], ["0", "1"], False, f"a circle inside a circle, {n} samples"
    if name == "regression":
        x, y = sk.make_regression(
            n_samples=n, n_features=spec.features, n_informative=min(10, spec.features), noise=noise, random_state=seed
        )
        return x, y, [f"x{i}" for i in range(spec.features)], None, False, f"make_regression: {n} samples"
    loader = {
        "iris": sk.load_iris,
        "wine": sk.load_wine,
        "breast_cancer": sk.load_breast_cancer,
        "digits": sk.load_digits,
        "diabetes": sk.load_diabetes,
    }[name]
    bunch = loader()
    x, y = bunch.data, bunch.target
    if name == "digits":
        x = (bunch.images / 16.0).reshape(-1, 8, 8, 1)
        return x, y, [f"p{i}" for i in range(64)], [str(c) for c in range(10)], True, "8x8 images of handwritten digits"
    classes = [str(c) for c in bunch.target_names] if name != "diabetes" else None
    return x, y, list(bunch.feature_names), classes, False, f"scikit-learn's {name} data set, {len(x)} rows"


# --------------------------------------------------------------------------- CSV


def _available_memory() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def csv_size_limit() -> int:
    """Largest CSV file read, in bytes: a quarter of free memory, or ``TUNEWIDGETS_MAX_CSV_BYTES``."""
    env = os.environ.get("TUNEWIDGETS_MAX_CSV_BYTES")
    if env:
        return int(env)
    free = _available_memory()
    return free // 4 if free else 2 * 1024**3


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def _check_csv_file(path: Path) -> None:
    if not path.exists():
        raise DataError(Issue("data.path", f"file not found: {path}"))
    if path.is_dir():
        raise DataError(Issue("data.path", f"{path} is a folder, not a CSV file"))
    size = path.stat().st_size
    if size == 0:
        raise DataError(Issue("data.path", f"{path.name} is empty"))
    with open(path, "rb") as f:
        head = f.read(8192)
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    if b"\x00" in head or control > len(head) // 100:
        raise DataError(Issue("data.path", f"{path.name} is not a text CSV file (it holds binary data)"))
    limit = csv_size_limit()
    if size > limit:
        raise DataError(
            Issue("data.path", f"{path.name} is {_human(size)}, more than the {_human(limit)} this machine can load")
        )


def _read_csv(path: Path, **kw: Any) -> tuple[Any, str]:
    import pandas as pd

    last: Exception | None = None
    for encoding in CSV_ENCODINGS:
        try:
            return pd.read_csv(path, encoding=encoding, sep=None, engine="python", **kw), encoding
        except UnicodeDecodeError as e:
            last = e
        except pd.errors.EmptyDataError:
            raise DataError(Issue("data.path", f"{path.name} has no columns")) from None
        except (pd.errors.ParserError, ValueError, TypeError) as e:
            raise DataError(Issue("data.path", f"{path.name} is not a readable CSV file: {e}")) from None
    raise DataError(Issue("data.path", f"{path.name}: cannot decode the text ({last})"))


def read_csv_header(path: Path) -> list[str]:
    """Column names of a CSV file, reading only its first lines."""
    path = Path(path)
    _check_csv_file(path)
    frame, _ = _read_csv(path, nrows=5)
    return [str(c) for c in frame.columns]


def read_csv(path: Path) -> tuple[Any, list[str]]:
    """The whole CSV file as a DataFrame, with notes on how it was read."""
    path = Path(path)
    _check_csv_file(path)
    frame, encoding = _read_csv(path)
    notes = []
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"{path.name} is not UTF-8; read it as {encoding}")
    if len(frame) == 0:
        raise DataError(Issue("data.path", f"{path.name} has a header but no rows"))
    frame.columns = [str(c) for c in frame.columns]
    return frame, notes


# --------------------------------------------------------------------------- tables


def _plain(value: Any) -> str:
    """A value as a person writes it: ``1``, ``'yes'`` (never ``np.int64(1)``)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    return repr(value)


def _infer_task(y: Any, requested: str, target: str) -> str:
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    n_unique = y.nunique()
    if n_unique < 2:
        value = y.iloc[0] if len(y) else None
        raise DataError(
            Issue("data.target", f"column '{target}' has only one value ({_plain(value)}); nothing to learn")
        )
    if requested == "regression":
        if not numeric:
            sample = ", ".join(_plain(v) for v in y.dropna().unique()[:3])
            raise DataError(Issue("data.target", f"column '{target}' holds text ({sample}); regression needs numbers"))
        return "regression"
    if requested in ("binary", "multiclass"):
        if requested == "binary" and n_unique != 2:
            raise DataError(Issue("data.task", f"binary needs 2 classes; column '{target}' has {n_unique}"))
        return requested
    if not numeric:
        return "binary" if n_unique == 2 else "multiclass"
    whole = np.all(np.mod(y.to_numpy(dtype=float), 1) == 0)
    if whole and n_unique <= MAX_AUTO_CLASSES:
        return "binary" if n_unique == 2 else "multiclass"
    return "regression"


def _encode_features(x: Any, report: list[str], train: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The feature columns as numbers: missing numbers filled with the median of the training rows
    (``train``, positions in ``x``: the validation and test rows must not shape their own inputs),
    text one-hot encoded."""
    import pandas as pd

    numeric_cols = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c])]
    other = [c for c in x.columns if c not in numeric_cols]
    parts = []
    names: list[str] = []
    if numeric_cols:
        num = x[numeric_cols].astype(float)
        missing = num.isna().sum()
        for col in numeric_cols:
            if missing[col]:
                known = num[col].iloc[train].dropna()
                if known.empty:
                    where = "" if num[col].isna().all() else " in the training rows"
                    report.append(f"column '{col}' is empty{where}; dropped it")
                    num = num.drop(columns=col)
                    continue
                median = float(known.median())
                num[col] = num[col].fillna(median)
                report.append(
                    f"column '{col}': filled {missing[col]} missing values with the median of the training rows "
                    f"({median:g})"
                )
        parts.append(num)
        names.extend(num.columns)
    for col in other:
        values = x[col].astype("string")
        n_unique = values.nunique(dropna=True)
        if n_unique > MAX_CATEGORIES:
            report.append(f"column '{col}' has {n_unique} distinct text values (an id or free text?); dropped it")
            continue
        has_na = bool(values.isna().any())
        dummies = pd.get_dummies(values, prefix=col, dummy_na=has_na, dtype=float)
        parts.append(dummies)
        names.extend(dummies.columns)
        report.append(
            f"column '{col}': text with {n_unique} categories, one-hot encoded"
            + (" (missing values as their own category)" if has_na else "")
        )
    if not parts:
        raise DataError(Issue("data.columns", "no usable input columns are left"))
    table = pd.concat(parts, axis=1)
    if table.shape[1] == 0:
        raise DataError(Issue("data.columns", "no usable input columns are left"))
    return table.to_numpy(dtype=np.float32), [str(n) for n in names]


def _from_frame(frame: Any, spec: DataSpec, report: list[str]) -> tuple[Any, np.ndarray, list[str] | None, str]:
    """The feature columns (a DataFrame, encoded once the rows are split), the target, its classes, the task."""
    target = spec.target
    if not target:
        raise DataError(Issue("data.target", "choose the target column"))
    columns = [str(c) for c in frame.columns]
    frame = frame.copy()
    frame.columns = columns
    if target not in columns:
        shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
        raise DataError(Issue("data.target", f"column '{target}' not in the data (columns: {shown})"))
    features = list(spec.columns) if spec.columns else [c for c in columns if c != target]
    missing = [c for c in features if c not in columns]
    if missing:
        raise DataError(Issue("data.columns", f"column(s) {', '.join(missing)} not in the data"))
    y_raw = frame[target]
    keep = y_raw.notna()
    if not keep.any():
        raise DataError(Issue("data.target", f"column '{target}' has no values: every row is empty there"))
    if not keep.all():
        report.append(f"dropped {int((~keep).sum())} rows with no value in '{target}'")
        frame = frame[keep]
        y_raw = y_raw[keep]
    if len(frame) < 10:
        where = ("data.target", f"only {len(frame)} rows have a value in '{target}'") if not keep.all() else None
        path, message = where or ("data.path", f"only {len(frame)} usable rows")
        raise DataError(Issue(path, f"{message}; at least 10 are needed"))
    task = _infer_task(y_raw, spec.task, target)
    features_frame = frame[features].reset_index(drop=True)
    if task == "regression":
        return features_frame, y_raw.to_numpy(dtype=np.float64), None, task
    codes, uniques = _factorize(y_raw)
    return features_frame, codes, [str(u) for u in uniques], task


def _factorize(y: Any) -> tuple[np.ndarray, list[Any]]:
    import pandas as pd

    uniques = sorted(pd.unique(y), key=lambda v: (str(type(v)), v))
    index = {v: i for i, v in enumerate(uniques)}
    return np.array([index[v] for v in y], dtype=np.int64), uniques


def _from_arrays(
    data: Any, spec: DataSpec, report: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str], list[str] | None, str]:
    import pandas as pd

    if not (isinstance(data, tuple) and len(data) == 2):
        raise DataError(Issue("data", "pass a DataFrame with a target column, or a tuple (X, y)"))
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if x.ndim < 2:
        x = x.reshape(-1, 1)
    if len(x) != len(y):
        raise DataError(Issue("data", f"X has {len(x)} rows but y has {len(y)}"))
    if x.dtype.kind not in "biuf":
        raise DataError(Issue("data", f"X must be numbers, got {x.dtype}"))
    y_series = pd.Series(y.reshape(len(y)) if y.ndim > 1 and y.shape[1] == 1 else y)
    task = _infer_task(y_series, spec.task, "y")
    names = [f"x{i}" for i in range(int(np.prod(x.shape[1:])))]
    if task == "regression":
        return x.astype(np.float32), y_series.to_numpy(dtype=np.float64), names, None, task
    codes, uniques = _factorize(y_series)
    return x.astype(np.float32), codes, names, [str(u) for u in uniques], task


# --------------------------------------------------------------------------- prepare


def _split_rows(y: np.ndarray, spec: DataSpec, classify: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of the training, validation and test rows (stratified by class where it can be)."""
    from sklearn.model_selection import train_test_split

    def stratify(labels: np.ndarray, fraction: float) -> np.ndarray | None:
        if not classify:
            return None
        counts = np.bincount(labels)
        counts = counts[counts > 0]
        n_holdout = int(round(fraction * len(labels)))
        ok = counts.min() >= 2 and n_holdout >= len(counts) and len(labels) - n_holdout >= len(counts)
        return labels if ok else None

    rows = np.arange(len(y))
    if spec.test_split > 0:
        rest, test = train_test_split(
            rows, test_size=spec.test_split, random_state=spec.seed, stratify=stratify(y, spec.test_split)
        )
    else:
        rest, test = rows, rows[:0]
    train, val = train_test_split(
        rest, test_size=spec.validation_split, random_state=spec.seed, stratify=stratify(y[rest], spec.validation_split)
    )
    return train, val, test


def prepare(spec: DataSpec, data: Any = None) -> Dataset:
    """Loads, encodes, splits and scales the data a spec names.

    Args:
        spec: the data section of a spec.
        data: for ``source="dataframe"``, a pandas DataFrame (with ``spec.target``)
            or a tuple ``(X, y)`` of arrays.

    Raises:
        DataError: naming the field at fault (``data.target``, ``data.path`` ...).
    """
    report: list[str] = []
    image = False
    target_name = spec.target or "target"
    if spec.source == "builtin":
        x, y, names, classes, image, description = _builtin(spec)
        report.append(description)
        task = (
            spec.task
            if spec.task != "auto"
            else ("regression" if classes is None else "binary" if len(classes) == 2 else "multiclass")
        )
        x = np.asarray(x, dtype=np.float32)
    elif spec.source == "csv":
        if not spec.path:
            raise DataError(Issue("data.path", "choose a CSV file"))
        frame, notes = read_csv(Path(spec.path))
        report.extend(notes)
        report.append(f"read {len(frame)} rows and {frame.shape[1]} columns from {Path(spec.path).name}")
        x, y, classes, task = _from_frame(frame, spec, report)
        names = []
    else:
        if data is None:
            raise DataError(Issue("data", "source 'dataframe' needs the data passed in Python (data=...)"))
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            x, y, classes, task = _from_frame(data, spec, report)
            names = []
        else:
            x, y, names, classes, task = _from_arrays(data, spec, report)
    classify = task != "regression"
    if classify and classes is not None and len(classes) < 2:
        raise DataError(Issue("data.target", "the target has only one class; nothing to learn"))
    train, val, test = _split_rows(y, spec, classify)
    if not isinstance(x, np.ndarray):  # a table's columns: encoded with what the training rows say
        x, names = _encode_features(x, report, train)
    x_train, x_val, x_test = x[train], x[val], x[test]
    y_train, y_val, y_test = y[train], y[val], y[test]
    if len(x_train) == 0 or len(x_val) == 0:
        raise DataError(Issue("data.validation_split", "too few rows to make a training and a validation set"))
    if not image and spec.scaling != "none":
        x_train, x_val, x_test = _scale(spec.scaling, x_train, x_val, x_test)
        report.append(f"inputs scaled ({spec.scaling}) with statistics of the training rows only")
    mean, std = 0.0, 1.0
    if task == "regression":
        mean, std = float(np.mean(y_train)), float(np.std(y_train)) or 1.0
        y_train, y_val, y_test = ((a - mean) / std for a in (y_train, y_val, y_test))
        report.append(f"target standardized (mean {mean:.4g}, std {std:.4g}): losses are in units of std")
        y_train, y_val, y_test = (a.astype(np.float32) for a in (y_train, y_val, y_test))
    else:
        y_train, y_val, y_test = (a.astype(np.int32) for a in (y_train, y_val, y_test))
    ds = Dataset(
        x_train=x_train.astype(np.float32),
        y_train=y_train,
        x_val=x_val.astype(np.float32),
        y_val=y_val,
        x_test=x_test.astype(np.float32),
        y_test=y_test,
        task=task,
        feature_names=names,
        class_names=classes if classify else None,
        image=image,
        target_name=target_name,
        target_mean=mean,
        target_std=std,
        report=report,
    )
    ds.report.append(ds.summary())
    return ds


def _scale(how: str, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    scaler = StandardScaler() if how == "standard" else MinMaxScaler()
    flat = [a.reshape(len(a), -1) for a in arrays]
    scaler.fit(flat[0])
    scaled = [scaler.transform(f) if len(f) else f for f in flat]
    return tuple(s.reshape(a.shape).astype(np.float32) for s, a in zip(scaled, arrays, strict=True))
