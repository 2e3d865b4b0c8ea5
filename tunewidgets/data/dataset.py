"""A data set split and ready for Keras, with a record of what was done to it."""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_bytes, atomic_write_json
from ..errors import DataError, Issue


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

    def save(self, arrays: Path, meta: Path) -> None:
        """Writes the splits (``.npz``) and what was done to them (JSON), each atomically."""
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: getattr(self, k) for k in self._ARRAYS})
        atomic_write_bytes(arrays, buf.getvalue())
        info = {
            "task": self.task,
            "feature_names": self.feature_names,
            "class_names": self.class_names,
            "image": self.image,
            "target_name": self.target_name,
            "target_mean": self.target_mean,
            "target_std": self.target_std,
            "report": self.report,
        }
        atomic_write_json(meta, info)

    @classmethod
    def load(cls, arrays: Path, meta: Path) -> Dataset:
        """The data :meth:`save` wrote.

        Raises:
            DataError: a file is missing or damaged (cut short, overwritten), with what to do.
        """
        arrays, meta = Path(arrays), Path(meta)
        try:
            with np.load(arrays, allow_pickle=False) as saved:
                values = {k: saved[k] for k in cls._ARRAYS}
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as e:
            raise _unreadable(arrays, meta, e) from None
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            return cls(**values, **info)
        except (OSError, ValueError, TypeError) as e:
            raise _unreadable(meta, arrays, e) from None


def _unreadable(path: Path, other: Path, error: BaseException) -> DataError:
    """What to do about a search's prepared data that cannot be read: prepare it again (a search that
    finds no prepared data prepares it; one that already finished trains nothing, so it never gets there)."""
    if isinstance(error, FileNotFoundError):
        what = f"{path} is missing"
    else:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        what = f"{path} is damaged ({reason[:200]}) and cannot be read"
    names = " and ".join(sorted({path.name, other.name}))
    return DataError(
        Issue(
            "data",
            f"{what}: it holds the search's prepared data (its splits). The trials and their scores are kept in "
            f"other files and are intact. To prepare the data again, run the search's spec into a new folder; "
            f"or, if the search has not finished, delete {names} and run the same spec, with the same data, in "
            f"{path.parent}: it prepares the data again (the same split, from data.seed) and goes on",
        )
    )
