"""Checks of the values themselves: infinite numbers, splits that leave too few rows, and rows named as a
person counts them (a CSV file's line numbers, a DataFrame's or an array's positions)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import Issue
from ..spec import DataSpec

#: Most distinct values of a whole-number target read as classes under task 'auto'.
MAX_AUTO_CLASSES = 20
#: Largest magnitude a 32-bit float holds: Keras trains in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Row numbers shown in a message; the rest are counted.
SHOWN_ROWS = 5


@dataclass(frozen=True)
class RowNaming:
    """How a person finds a row: ``labels`` turns positions (from 0, in the order read) into the numbers
    shown, ``convention`` says how they are counted, ``noun`` what they count (rows, a file's lines)."""

    convention: str
    labels: Callable[[list[int]], list[int]] = field(default=lambda positions: [int(p) for p in positions])
    noun: str = "row"

    def numbers(self, positions: Sequence[int] | np.ndarray, count: int | None = None) -> str:
        """``"3, 8, ... (counted from 0, ...)"``: the first few of ``positions``, then how they are counted."""
        count = len(positions) if count is None else count
        shown = [str(n) for n in self.labels([int(p) for p in positions[:SHOWN_ROWS]])]
        more = ", ..." if count > len(shown) else ""
        return f"{', '.join(shown)}{more} ({self.convention})"

    def describe(self, positions: Sequence[int] | np.ndarray, count: int | None = None) -> str:
        """``"2 rows: 3, 8 (counted from 0, ...)"``, or ``"row 3 (...)"``."""
        count = len(positions) if count is None else count
        noun = self.noun if count == 1 else f"{count} {self.noun}s:"
        return f"{noun} {self.numbers(positions, count)}"


def positions_naming(what: str, example: str) -> RowNaming:
    """Rows counted from 0, as Python indexes ``what`` (``example`` shows how)."""
    return RowNaming(f"counted from 0, as {example} indexes the rows of {what}")


DATAFRAME_ROWS = positions_naming("the DataFrame", "df.iloc[3]")


@dataclass(frozen=True)
class BadValues:
    """Where a numeric column holds values Keras cannot use: ``inf``, ``-inf`` or beyond float32."""

    positions: tuple[int, ...]  # the first few
    count: int
    too_large: bool  # some are finite but beyond FLOAT32_MAX

    def what(self) -> str:
        if self.too_large:
            return "infinite values (inf, -inf) or numbers too large for 32-bit floats (beyond ±3.4e38)"
        return "infinite values (inf or -inf)"


def bad_values(values: Any) -> BadValues | None:
    """``inf`` / ``-inf`` or numbers beyond float32 in a 1-d array (missing values are not bad here)."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        large = np.abs(v) > FLOAT32_MAX  # inf included; NaN compares False
    if not large.any():
        return None
    where = np.flatnonzero(large)
    too_large = bool(np.isfinite(v[where]).any())
    return BadValues(tuple(int(p) for p in where[:SHOWN_ROWS]), int(len(where)), too_large)


def numeric_columns(frame: Any) -> list[str]:
    """The columns of a DataFrame that hold numbers (bool columns left out)."""
    import pandas as pd

    return [
        str(c)
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]


def frame_bad_values(frame: Any, columns: Sequence[str] | None = None) -> dict[str, BadValues]:
    """Each numeric column's :class:`BadValues` (of ``columns``, or all), positions counted from 0."""
    found: dict[str, BadValues] = {}
    wanted = set(columns) if columns is not None else None
    for col in numeric_columns(frame):
        if wanted is not None and col not in wanted:
            continue
        bad = bad_values(frame[col].to_numpy(dtype=np.float64, na_value=np.nan))
        if bad is not None:
            found[col] = bad
    return found


def bad_value_issues(
    bad: dict[str, BadValues], features: Sequence[str], target: str | None, naming: RowNaming, field_path: str
) -> list[Issue]:
    """One issue per column of a table that holds bad values: the target first (``data.target``),
    then the inputs (``field_path``: ``data.path`` for a file, ``data`` for a DataFrame)."""
    issues = []
    if target is not None and target in bad:
        b = bad[target]
        issues.append(
            Issue(
                "data.target",
                f"the target column '{target}' holds {b.what()} in {naming.describe(b.positions, b.count)}; "
                "replace them with numbers, or leave those cells empty to drop those rows",
            )
        )
    for col in features:
        if col in bad and col != target:
            b = bad[col]
            issues.append(
                Issue(
                    field_path,
                    f"column '{col}' holds {b.what()} in {naming.describe(b.positions, b.count)}; a network cannot "
                    "learn from them: replace them with numbers, or leave those cells empty (missing numbers are "
                    f"filled with the median of the training rows), or leave '{col}' out with data.columns",
                )
            )
    return issues


def duplicate_issues(
    names: Sequence[str], target: str | None, where: str, field_path: str, first: int = 1
) -> list[Issue]:
    """A name given to several columns (pandas reads a CSV file's second ``y`` as ``y.1``, an input: a copy
    of the target would leak the answer); the target first (``data.target``), the others on ``field_path``.
    Columns are counted from ``first``."""
    places: dict[str, list[int]] = {}
    for i, col in enumerate(names, start=first):
        if str(col).strip():
            places.setdefault(str(col), []).append(i)
    repeated = sorted((item for item in places.items() if len(item[1]) > 1), key=lambda item: item[0] != target)
    issues = []
    for col, at in repeated:
        times = "twice" if len(at) == 2 else f"{len(at)} times"
        columns = f"columns {', '.join(map(str, at[:-1]))} and {at[-1]}, counted from {first}"
        if col == target:
            message = (
                f"column '{col}', the target, appears {times} in {where} ({columns}); the other copy would be "
                "read as an input, and a network that finds the answer among its inputs learns nothing: "
                "remove the extra column or give it another name"
            )
            issues.append(Issue("data.target", message))
        else:
            message = (
                f"column '{col}' appears {times} in {where} ({columns}); give each column its own name "
                "(or remove the copies)"
            )
            issues.append(Issue(field_path, message))
    return issues


def no_inputs_message(target: str, where: str) -> str:
    """What to do when the target is the only column."""
    return (
        f"{where} has no input column: its only column is the target '{target}', and a network needs at least "
        "one column to predict it from: add the columns of inputs to the data"
    )


def auto_classifies(numeric: bool, whole: bool, n_unique: int) -> bool:
    """Whether task 'auto' reads a target as classes: text, or at most MAX_AUTO_CLASSES whole numbers."""
    return not numeric or (whole and n_unique <= MAX_AUTO_CLASSES)


# ---------------------------------------------------------------------- splits


def split_counts(n: int, spec: DataSpec) -> tuple[int, int, int]:
    """Training, validation and test rows the split leaves of ``n`` rows (rounded as scikit-learn does)."""
    n_test = math.ceil(spec.test_split * n) if spec.test_split > 0 else 0
    rest = n - n_test
    n_val = math.ceil(spec.validation_split * rest)
    return rest - n_val, n_val, n_test


def split_issue(n: int, classes: int | None, spec: DataSpec) -> Issue | None:
    """Refuses a split that leaves no validation row, or fewer training rows than one (one per class when
    classifying); ``classes`` is None for regression."""
    n_train, n_val, n_test = split_counts(n, spec)
    need = max(1, classes or 1)
    if n_train >= need and n_val >= 1:
        return None
    rest = n - n_test
    field_path = "data.test_split" if rest < need + 1 else "data.validation_split"
    held = f"data.test_split {spec.test_split:g} keeps {n_test} for the test and " if spec.test_split > 0 else ""
    other = "the other " if spec.test_split > 0 else ""
    needed = f"{need} (one per class: {classes} classes)" if classes else "1"
    fix = "lower data.test_split or data.validation_split" if spec.test_split > 0 else "lower data.validation_split"
    return Issue(
        field_path,
        f"the split leaves {n_train} training row{'s' if n_train != 1 else ''} and {n_val} validation "
        f"row{'s' if n_val != 1 else ''} of {n}: {held}data.validation_split {spec.validation_split:g} takes "
        f"{n_val} of {other}{rest} for validation; training needs at least {needed} and validation at least 1: "
        f"{fix}, or use more rows",
    )


# ---------------------------------------------------------------------- facts of a whole table


@dataclass(frozen=True)
class TableFacts:
    """What the value checks need of a table, kept so a form can check a file again without reading it."""

    bad: dict[str, BadValues]
    present: dict[str, int]  # values that are not missing, per column
    unique: dict[str, int]  # distinct values that are not missing, per column
    auto_classes: dict[str, bool]  # whether task 'auto' reads the column as classes

    @classmethod
    def of(cls, frame: Any) -> TableFacts:
        numeric = set(numeric_columns(frame))
        unique = {str(c): int(n) for c, n in frame.nunique(dropna=True).items()}
        auto = {}
        for c in frame.columns:
            col = str(c)
            whole = False
            if col in numeric:
                v = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
                v = v[np.isfinite(v)]
                whole = bool(np.all(np.mod(v, 1) == 0))
            auto[col] = auto_classifies(col in numeric, whole, unique[col])
        return cls(
            bad=frame_bad_values(frame),
            present={str(c): int(n) for c, n in frame.count().items()},
            unique=unique,
            auto_classes=auto,
        )

    def issues(self, spec: DataSpec, features: Sequence[str], naming: RowNaming) -> list[Issue]:
        """Bad values in the columns used, and a split that leaves too few rows (only where the data
        has no other problem that :func:`prepare` names: too few rows, a target with one value)."""
        target = spec.target
        issues = bad_value_issues(self.bad, features, target, naming, "data.path")
        if issues or not target or target not in self.present:
            return issues
        n, n_unique = self.present[target], self.unique[target]
        if n < 10 or n_unique < 2:
            return issues  # prepare names these
        classify = spec.task in ("binary", "multiclass") or (spec.task == "auto" and self.auto_classes[target])
        issue = split_issue(n, n_unique if classify else None, spec)
        return [issue] if issue else []
