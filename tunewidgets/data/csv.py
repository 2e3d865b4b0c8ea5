"""CSV files: checked before reading (size, text or binary), read in whichever encoding fits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataError, Issue, SpecError
from ..spec.size import human_bytes

if TYPE_CHECKING:
    from ..spec import Spec

#: Encodings tried, in order, when a CSV file is not UTF-8.
CSV_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")


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


def check_csv_file(path: Path) -> None:
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
            Issue(
                "data.path",
                f"{path.name} is {human_bytes(size)}, more than the {human_bytes(limit)} this machine can load",
            )
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
    check_csv_file(path)
    frame, _ = _read_csv(path, nrows=5)
    return [str(c) for c in frame.columns]


def read_csv(path: Path) -> tuple[Any, list[str]]:
    """The whole CSV file as a DataFrame, with notes on how it was read."""
    path = Path(path)
    check_csv_file(path)
    frame, encoding = _read_csv(path)
    notes = []
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"{path.name} is not UTF-8; read it as {encoding}")
    if len(frame) == 0:
        raise DataError(Issue("data.path", f"{path.name} has a header but no rows"))
    frame.columns = [str(c) for c in frame.columns]
    return frame, notes


def file_issues(spec: Spec) -> list[Issue]:
    """A CSV file's problems that only opening it shows: unreadable, or missing the columns the spec names."""
    d = spec.data
    issues: list[Issue] = []
    if d.source != "csv" or not d.path:
        return issues
    try:
        columns = read_csv_header(Path(d.path))
    except SpecError as e:
        return e.issues
    except Exception as e:  # noqa: BLE001 - every reading problem is reported, not raised
        return [Issue("data.path", f"cannot read {d.path}: {e}")]
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    if d.target and d.target not in columns:
        issues.append(Issue("data.target", f"column '{d.target}' not in file (columns: {shown})"))
    for col in d.columns or ():
        if col not in columns:
            issues.append(Issue("data.columns", f"column '{col}' not in file (columns: {shown})"))
        elif col == d.target:
            issues.append(Issue("data.columns", f"'{col}' is the target; it cannot also be an input"))
    return issues
