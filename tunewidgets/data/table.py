"""Tables (a CSV file's or a DataFrame's) and arrays as numbers: the task, the classes, the encoded inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, Issue
from ..spec import DataSpec
from .value_checks import (
    DATAFRAME_ROWS,
    MAX_AUTO_CLASSES,
    RowNaming,
    auto_classifies,
    bad_value_issues,
    bad_values,
    duplicate_issues,
    frame_bad_values,
    no_inputs_message,
    positions_naming,
)

#: Most distinct values a text column may have to be one-hot encoded.
MAX_CATEGORIES = 50
__all__ = ["MAX_AUTO_CLASSES", "MAX_CATEGORIES", "encode_features", "from_arrays", "from_frame"]


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
    whole = bool(np.all(np.mod(y.to_numpy(dtype=float), 1) == 0))
    if auto_classifies(numeric, whole, n_unique):
        return "binary" if n_unique == 2 else "multiclass"
    return "regression"


def encode_features(x: Any, report: list[str], train: np.ndarray) -> tuple[np.ndarray, list[str]]:
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


def from_frame(
    frame: Any, spec: DataSpec, report: list[str], naming: RowNaming = DATAFRAME_ROWS, field_path: str = "data"
) -> tuple[Any, np.ndarray, list[str] | None, str]:
    """The feature columns (a DataFrame, encoded once the rows are split), the target, its classes, the task.

    ``naming`` says how a person finds a row (a CSV file's line numbers, a DataFrame's positions) and
    ``field_path`` is the field of problems with the inputs (``data.path`` for a file, ``data`` otherwise)."""
    target = spec.target
    if not target:
        raise DataError(Issue("data.target", "choose the target column"))
    columns = [str(c) for c in frame.columns]
    repeated = duplicate_issues(columns, target, "the DataFrame's columns", field_path, first=0)
    if repeated:
        raise DataError(repeated)
    frame = frame.copy()
    frame.columns = columns
    if target not in columns:
        shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
        raise DataError(Issue("data.target", f"column '{target}' not in the data (columns: {shown})"))
    features = list(spec.columns) if spec.columns else [c for c in columns if c != target]
    missing = [c for c in features if c not in columns]
    if missing:
        raise DataError(Issue("data.columns", f"column(s) {', '.join(missing)} not in the data"))
    if not features:
        raise DataError(Issue("data.columns", no_inputs_message(target, "the data")))
    bad = bad_value_issues(frame_bad_values(frame, [*features, target]), features, target, naming, field_path)
    if bad:
        raise DataError(bad)
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


def from_arrays(
    data: Any, spec: DataSpec, report: list[str]
) -> tuple[Any, np.ndarray, list[str], list[str] | None, str]:
    """``(X, y)`` as inputs (an array; a DataFrame when a 2-d X misses values, to be filled as a table's are),
    the target, the feature names, the classes, the task. Rows with no value in y are dropped, as a table's
    rows with no target are."""
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
    names = [f"x{i}" for i in range(int(np.prod(x.shape[1:])))]
    y_series = pd.Series(y.reshape(len(y)) if y.ndim > 1 and y.shape[1] == 1 else y)
    issues = _array_issues(x, y_series, names)
    if issues:
        raise DataError(issues)
    keep = y_series.notna().to_numpy()
    if not keep.all():
        if not keep.any():
            raise DataError(Issue("data", "y has no values: every entry is missing (NaN); pass the target values"))
        dropped = np.flatnonzero(~keep)
        rows = f"{len(dropped)} row{'s' if len(dropped) != 1 else ''}"
        where = positions_naming("y", "y[3]").numbers(dropped)
        report.append(f"dropped {rows} with no value (NaN) in y, as a table's rows with no target are: {where}")
        x, y_series = x[keep], y_series[keep].reset_index(drop=True)
        if y_series.dtype.kind == "f" and bool(np.all(np.mod(y_series.to_numpy(), 1) == 0)):
            y_series = y_series.astype(np.int64)  # whole numbers that were floats only to hold NaN
    task = _infer_task(y_series, spec.task, "y")
    inputs: Any = x.astype(np.float32)
    if x.dtype.kind == "f" and np.isnan(x).any():
        inputs = pd.DataFrame(x.astype(np.float64), columns=names)  # filled with the training rows' medians
    if task == "regression":
        return inputs, y_series.to_numpy(dtype=np.float64), names, None, task
    codes, uniques = _factorize(y_series)
    return inputs, codes, names, [str(u) for u in uniques], task


def _array_issues(x: np.ndarray, y: Any, names: list[str]) -> list[Issue]:
    """Infinite numbers in X or y, and missing values in an X of more than two dimensions (images)."""
    issues = []
    x_rows = positions_naming("X", "X[3]")
    if x.dtype.kind == "f":
        flat = x.reshape(len(x), len(names))
        with np.errstate(invalid="ignore"):
            columns = np.flatnonzero((np.abs(flat) > np.finfo(np.float32).max).any(axis=0))
        for j in columns[:5]:
            b = bad_values(flat[:, j])
            assert b is not None
            issues.append(
                Issue(
                    "data",
                    f"X holds {b.what()} in column {j} ({names[j]}), {x_rows.describe(b.positions, b.count)}; "
                    "a network cannot learn from them: replace them with numbers"
                    + (
                        " or NaN (missing values are filled with the median of the training rows)"
                        if x.ndim == 2
                        else ""
                    ),
                )
            )
        if x.ndim > 2 and np.isnan(flat).any():
            rows = np.flatnonzero(np.isnan(flat).any(axis=1))
            issues.append(
                Issue(
                    "data",
                    f"X holds missing values (NaN) in {x_rows.describe(rows)}; missing values are filled only in a "
                    "2-d X (one column per feature): replace them with numbers",
                )
            )
    if y.dtype.kind in "iuf":
        b = bad_values(y.to_numpy(dtype=np.float64, na_value=np.nan))
        if b is not None:
            where = positions_naming("y", "y[3]").describe(b.positions, b.count)
            issues.append(
                Issue("data", f"y holds {b.what()} in {where}; replace them with numbers (or NaN to drop those rows)")
            )
    return issues
