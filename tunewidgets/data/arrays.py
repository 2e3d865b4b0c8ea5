"""The user's own arrays for their own hypermodel: used as given (the model holds its preprocessing).

:class:`Arrays` takes what ``tuner.search`` takes: ``x, y`` with a validation split, or
``validation_data=(x_val, y_val)``; ``x`` may be one array of any shape (images), a list of arrays or a
dict of them (several inputs), and so may ``y``. ``test_data`` is kept out of the search and scores the
best model at the end.

A search writes the arrays once into its folder (``arrays/``, one ``.npy`` file per array and a
``manifest.json`` of how they nest) and every worker process reads them memory-mapped: nothing is
pickled per trial, and the pages are shared between workers by the operating system.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_write_json
from ..errors import DataError, Issue

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"


def leaves(nest: Any, path: str) -> list[tuple[str, Any]]:
    """Every array of a nest (a dict or list of inputs), each with its path for messages (``x[0]``)."""
    if isinstance(nest, dict):
        return [leaf for k in sorted(nest) for leaf in leaves(nest[k], f"{path}[{k!r}]")]
    if isinstance(nest, (list, tuple)):
        return [leaf for i, v in enumerate(nest) for leaf in leaves(v, f"{path}[{i}]")]
    return [(path, nest)]


def _structure(nest: Any) -> Any:
    """How a nest of arrays is laid out, as JSON (leaves numbered in :func:`leaves`' order)."""
    counter = iter(range(10**9))

    def walk(n: Any) -> Any:
        if isinstance(n, dict):
            return {"dict": {k: walk(n[k]) for k in sorted(n)}}
        if isinstance(n, (list, tuple)):
            return {"list": [walk(v) for v in n]}
        return next(counter)

    return walk(nest)


def _rebuild(layout: Any, leaves: list[Any]) -> Any:
    if isinstance(layout, int):
        return leaves[layout]
    if "dict" in layout:
        return {k: _rebuild(v, leaves) for k, v in layout["dict"].items()}
    return [_rebuild(v, leaves) for v in layout["list"]]


def _count(layout: Any) -> int:
    if isinstance(layout, int):
        return 1
    children = layout["dict"].values() if "dict" in layout else layout["list"]
    return sum(_count(c) for c in children)


def rows(nest: Any) -> int:
    """The number of rows of a nest (its first array's)."""
    return len(leaves(nest, "")[0][1])


def take(nest: Any, index: Any) -> Any:
    """The rows ``index`` of every array of a nest."""
    if isinstance(nest, dict):
        return {k: take(v, index) for k, v in nest.items()}
    if isinstance(nest, (list, tuple)):
        return [take(v, index) for v in nest]
    return nest[index]


def _as_arrays(nest: Any, name: str) -> Any:
    """A nest with every leaf a NumPy array; a clear error naming the argument otherwise."""
    if isinstance(nest, dict):
        if not nest:
            raise DataError(Issue(name, "is an empty dict: give at least one array"))
        return {str(k): _as_arrays(v, f"{name}[{k!r}]") for k, v in nest.items()}
    if isinstance(nest, (list, tuple)) and nest and all(hasattr(v, "shape") for v in nest):  # several inputs
        return [_as_arrays(v, f"{name}[{i}]") for i, v in enumerate(nest)]
    try:
        array = np.asarray(nest)
    except (TypeError, ValueError) as e:
        raise DataError(Issue(name, f"cannot be read as an array: {e}")) from None
    if array.dtype == object:
        raise DataError(Issue(name, "holds Python objects, not numbers: give a NumPy array of numbers"))
    if array.ndim == 0:
        raise DataError(Issue(name, f"is one value ({array!r}), not an array of rows"))
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise DataError(Issue(name, f"holds {bad} values that are NaN or infinite: a model cannot learn from them"))
    return array


def _same_rows(pairs: list[tuple[str, Any]], what: str) -> int:
    counts = {path: len(leaf) for path, leaf in pairs}
    distinct = set(counts.values())
    if len(distinct) > 1:
        listed = ", ".join(f"{p} has {n}" for p, n in counts.items())
        raise DataError(Issue(what, f"x and y must have the same number of rows: {listed}"))
    return distinct.pop()


def _same_shapes(train: Any, other: Any, what: str, role: str) -> None:
    """``validation_data`` or ``test_data`` laid out as the training arrays: the same inputs, each row the same
    shape (a test set of 3 features for a model of 5 is refused here, not met by the model later)."""
    mine, theirs = leaves(train, role), leaves(other, f"{what}'s {role}")
    if len(mine) != len(theirs):
        raise DataError(Issue(what, f"holds {len(theirs)} {role} arrays where the training data has {len(mine)}"))
    for (name, a), (other_name, b) in zip(mine, theirs, strict=True):
        if tuple(a.shape[1:]) != tuple(b.shape[1:]):
            raise DataError(
                Issue(
                    what,
                    f"{other_name} has rows of shape {tuple(b.shape[1:])} where {name} has {tuple(a.shape[1:])}: "
                    "give it the same columns (features) as the training data",
                )
            )


@dataclass
class Arrays:
    """The user's arrays, as ``tuner.search`` takes them.

    Args:
        x, y: the training inputs and targets (one array, or a list or dict of arrays).
        validation_data: ``(x_val, y_val)``; without it the last ``validation_split`` of the rows validate
            (as Keras' ``validation_split`` does: the rows are not shuffled first).
        validation_split: the share of ``x, y`` kept for validation when ``validation_data`` is not given.
        test_data: ``(x_test, y_test)``, kept out of the search; the best model is scored on it.
    """

    x: Any
    y: Any
    validation_data: tuple[Any, Any] | None = None
    validation_split: float = 0.2
    test_data: tuple[Any, Any] | None = None
    report: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, data: Any) -> Arrays:
        """What ``data=`` may be: an :class:`Arrays`, ``(x, y)``, ``(x, y, (x_val, y_val))`` or a dict of
        :class:`Arrays`' arguments."""
        if isinstance(data, Arrays):
            return data
        if isinstance(data, dict) and {"x", "y"} <= set(data):
            unknown = set(data) - {"x", "y", "validation_data", "validation_split", "test_data"}
            if unknown:
                raise DataError(
                    Issue(
                        "data",
                        f"unknown key(s) {sorted(unknown)}: use x, y, validation_data, validation_split, test_data",
                    )
                )
            return cls(**data)
        if isinstance(data, tuple) and len(data) in (2, 3):
            return cls(data[0], data[1], data[2] if len(data) == 3 else None)
        raise DataError(
            Issue(
                "data",
                f"expected your arrays, as (x, y), (x, y, (x_val, y_val)) or tw.Arrays(x, y, validation_data=..., "
                f"test_data=...), got {type(data).__name__}",
            )
        )

    def splits(self) -> dict[str, tuple[Any, Any]]:
        """Training, validation and (when given) test arrays, checked: a clear error naming what is wrong."""
        x, y = _as_arrays(self.x, "x"), _as_arrays(self.y, "y")
        n = _same_rows([*leaves(x, "x"), *leaves(y, "y")], "data")
        for name, labels in leaves(y, "y"):
            if labels.dtype.kind in "USO":
                example = ", ".join(repr(str(v)) for v in labels.ravel()[:2])
                raise DataError(
                    Issue(
                        name,
                        f"holds text labels ({example}): give numbers, class numbers 0 to k-1 "
                        "(sklearn.preprocessing.LabelEncoder makes them) or one-hot rows",
                    )
                )
        if n == 0:
            raise DataError(Issue("x", "holds no rows"))
        if self.validation_data is not None:
            if not isinstance(self.validation_data, (tuple, list)) or len(self.validation_data) != 2:
                raise DataError(Issue("validation_data", "expected (x_val, y_val)"))
            xv, yv = (_as_arrays(a, f"validation_data[{i}]") for i, a in enumerate(self.validation_data))
            if _same_rows([*leaves(xv, "x_val"), *leaves(yv, "y_val")], "validation_data") == 0:
                raise DataError(Issue("validation_data", "is empty: the objective is measured on it"))
            out = {"train": (x, y), "val": (xv, yv)}
        else:
            split = self.validation_split
            if not isinstance(split, (int, float)) or not 0 < split < 1:
                raise DataError(Issue("validation_split", f"must be between 0 and 1 (not included), got {split!r}"))
            val = int(math.floor(n * split))  # as Keras' validation_split: the last rows
            if val == 0 or val == n:
                raise DataError(
                    Issue(
                        "validation_split",
                        f"{split:g} of {n} rows leaves {'no' if val == 0 else 'every'} row for validation",
                    )
                )
            out = {
                "train": (take(x, slice(0, n - val)), take(y, slice(0, n - val))),
                "val": (take(x, slice(n - val, n)), take(y, slice(n - val, n))),
            }
        if self.test_data is not None:
            if not isinstance(self.test_data, (tuple, list)) or len(self.test_data) != 2:
                raise DataError(Issue("test_data", "expected (x_test, y_test)"))
            xt, yt = (_as_arrays(a, f"test_data[{i}]") for i, a in enumerate(self.test_data))
            _same_rows([*leaves(xt, "x_test"), *leaves(yt, "y_test")], "test_data")
            out["test"] = (xt, yt)
        for part, name, given in (
            ("val", "validation_data", self.validation_data),
            ("test", "test_data", self.test_data),
        ):
            if given is not None:
                _same_shapes(x, out[part][0], name, "x")
        return out


@dataclass
class UserData:
    """The user's arrays split, as the worker processes read them (memory-mapped from the folder)."""

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_test: Any = None
    y_test: Any = None
    task: str = "custom"
    report: list[str] = field(default_factory=list)
    target_name: str = "y"

    @classmethod
    def from_arrays(cls, arrays: Arrays) -> UserData:
        s = arrays.splits()
        test = s.get("test", (None, None))
        return cls(*s["train"], *s["val"], *test)

    def summary(self) -> str:
        parts = [f"your arrays: {rows(self.x_train)} train / {rows(self.x_val)} validation"]
        if self.x_test is not None:
            parts[0] += f" / {rows(self.x_test)} test rows"
        else:
            parts[0] += " rows, no test set"
        shapes = ", ".join(f"{p or 'x'} {tuple(a.shape[1:])}" for p, a in leaves(self.x_train, ""))
        parts.append(f"inputs {shapes}")
        return "; ".join(parts)

    def save(self, folder: Path) -> None:
        """One ``.npy`` per array and the manifest last (a folder without it holds no saved arrays)."""
        folder.mkdir(parents=True, exist_ok=True)
        manifest: dict[str, Any] = {}
        for split in SPLITS:
            for part in ("x", "y"):
                nest = getattr(self, f"{part}_{split}")
                if nest is None:
                    continue
                key = f"{part}_{split}"
                manifest[key] = _structure(nest)
                for i, (_, leaf) in enumerate(leaves(nest, "")):
                    np.save(folder / f"{key}_{i}.npy", np.ascontiguousarray(leaf), allow_pickle=False)
        atomic_write_json(folder / MANIFEST, {"arrays": manifest, "report": self.report})

    @staticmethod
    def saved(folder: Path) -> bool:
        return (folder / MANIFEST).is_file()

    @classmethod
    def load(cls, folder: Path) -> UserData:
        """The arrays :meth:`save` wrote, memory-mapped (read-only)."""
        try:
            info = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            values: dict[str, Any] = {}
            for key, layout in info["arrays"].items():
                count = _count(layout)
                leaves = [np.load(folder / f"{key}_{i}.npy", mmap_mode="r", allow_pickle=False) for i in range(count)]
                values[key] = _rebuild(layout, leaves)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DataError(
                Issue("data", f"the search's arrays in {folder} cannot be read ({e}); run the search in a new folder")
            ) from None
        return cls(**values, report=list(info.get("report", [])))


__all__ = ["Arrays", "UserData", "leaves", "rows", "take"]
