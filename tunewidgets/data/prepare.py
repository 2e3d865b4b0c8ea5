"""Preparing a spec's data once per search: load, split, encode with the training rows, scale."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, Issue
from ..spec import DataSpec, Spec
from ..spec.space import folds
from .builtin import builtin, builtin_issues
from .csv import csv_path, read_csv
from .dataset import Dataset
from .table import encode_features, from_arrays, from_frame
from .value_checks import no_inputs_message, split_issue


def split_rows(y: np.ndarray, spec: DataSpec, classify: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def fold_rows(y: np.ndarray, k: int, seed: int, classify: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` cross-validation folds of the rows of ``y``: ``(training rows, validation rows)`` each,
    stratified by class for classification, as scikit-learn's ``StratifiedKFold`` / ``KFold`` split them."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (
        StratifiedKFold(k, shuffle=True, random_state=seed) if classify else KFold(k, shuffle=True, random_state=seed)
    )
    return [(train, val) for train, val in splitter.split(np.zeros(len(y)), y)]


def smallest_class(y: np.ndarray) -> int:
    """Rows of the rarest class."""
    counts = np.bincount(y.astype(np.int64))
    return int(counts[counts > 0].min())


def fold_issues(spec: Spec, dataset: Dataset) -> list[Issue]:
    """Cross-validation needs every class in every fold: at least k training rows of the rarest class."""
    k = folds(spec)
    if not k:
        return []
    y = np.concatenate([dataset.y_train, dataset.y_val])
    rows = smallest_class(y) if dataset.task != "regression" else len(y)
    if rows >= k:
        return []
    what = "the rarest class has" if dataset.task != "regression" else "there are"
    return [Issue("tuner.folds", f"{k} folds, but {what} only {rows} training rows; use at most {rows} folds")]


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
    _check_source(spec, data)
    if spec.source == "builtin":
        unsplittable = builtin_issues(spec)  # before generating the set
        if unsplittable:
            raise DataError(unsplittable)
        x, y, names, classes, image, description = builtin(spec)
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
        path = csv_path(spec.path)
        frame, notes, naming = read_csv(path, spec.target)
        report.extend(notes)
        report.append(f"read {len(frame)} rows and {frame.shape[1]} columns from {path.name}")
        if frame.shape[1] == 1 and spec.target and spec.target in frame.columns:
            raise DataError(Issue("data.columns", no_inputs_message(spec.target, path.name)))
        x, y, classes, task = from_frame(frame, spec, report, naming, "data.path")
        names = []
    else:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            x, y, classes, task = from_frame(data, spec, report)
            names = []
        else:
            x, y, names, classes, task = from_arrays(data, spec, report)
    classify = task != "regression"
    if classify and classes is not None and len(classes) < 2:
        raise DataError(Issue("data.target", "the target has only one class; nothing to learn"))
    too_few = split_issue(len(y), len(classes) if classify and classes is not None else None, spec)
    if too_few:
        raise DataError(too_few)
    train, val, test = split_rows(y, spec, classify)
    if not isinstance(x, np.ndarray):  # a table's columns: encoded with what the training rows say
        x, names = encode_features(x, report, train)
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


def _check_source(spec: DataSpec, data: Any) -> None:
    """Data passed in Python is read only with ``data.source="dataframe"``, which needs it."""
    if spec.source == "dataframe":
        if data is None:
            raise DataError(
                Issue(
                    "data.source",
                    "data.source 'dataframe' needs the data passed in Python (data=...): "
                    "tw.Search(spec, folder, data=df) with a DataFrame holding data.target's column, or "
                    "data=(X, y) with arrays; or set data.source to 'builtin' or 'csv'",
                )
            )
        return
    if data is None:
        return
    import pandas as pd

    what = "a DataFrame" if isinstance(data, pd.DataFrame) else "(X, y)" if isinstance(data, tuple) else "data"
    reads = f"the built-in data set '{spec.name}'" if spec.source == "builtin" else f"the CSV file {spec.path}"
    raise DataError(
        Issue(
            "data.source",
            f"{what} was passed as data=, but data.source is '{spec.source}': the spec reads {reads} and would "
            "ignore it; set data.source to 'dataframe' to learn from the data passed (with data.target naming "
            "a DataFrame's target column), or pass no data",
        )
    )


def _scale(how: str, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    scaler = StandardScaler() if how == "standard" else MinMaxScaler()
    flat = [a.reshape(len(a), int(np.prod(a.shape[1:]))) for a in arrays]  # -1 fails on no rows (test_split 0)
    scaler.fit(flat[0])
    scaled = [scaler.transform(f) if len(f) else f for f in flat]
    return tuple(s.reshape(a.shape).astype(np.float32) for s, a in zip(scaled, arrays, strict=True))
