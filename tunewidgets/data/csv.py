"""CSV files: checked before reading (size, text or binary), their format guessed from their first lines
(the encoding that fits, the character between columns, a decimal comma), their header checked for a name
given twice, their values for infinite numbers."""

from __future__ import annotations

import codecs
import csv
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataError, Issue, SpecError
from ..spec.size import human_bytes
from .builtin import builtin_issues
from .value_checks import RowNaming, TableFacts, duplicate_issues, no_inputs_message

if TYPE_CHECKING:
    from ..spec import Spec

#: Encodings tried, in order, when a CSV file is not UTF-8.
CSV_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
#: Characters tried between columns; a run of spaces only when none of these fits and every line has as
#: many space-separated fields (a one-column file stays one column: no letter is ever taken for one).
DELIMITERS = ",;\t|"
WHITESPACE = r"\s+"
_SAMPLE_BYTES = 64 * 1024
_SAMPLE_LINES = 50
_COMMA_DECIMAL = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+")
_DOT_THOUSANDS = re.compile(r"[+-]?\d{1,3}(\.\d{3})+(,\d+)?")
_DOT_DECIMAL = re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?")


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


def csv_path(path: str | os.PathLike[str]) -> Path:
    """The file a ``data.path`` names (``~`` expanded; a relative path is read from the current folder)."""
    return Path(path).expanduser()


def check_csv_file(path: Path) -> None:
    if not path.exists():
        where = f"file not found: {path.absolute()}"
        if not path.is_absolute():
            where += (
                f" (data.path '{path}' is relative, so it is read from the current folder, {Path.cwd()}; "
                "give the file's full path, or start Python in the folder that holds it)"
            )
        raise DataError(Issue("data.path", where))
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


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is written, as its first lines show."""

    encoding: str
    sep: str
    header: tuple[str, ...]  # the first line's names as written (pandas renames a repeated one)
    quotechar: str = '"'
    skipinitialspace: bool = False
    decimal: str = "."
    thousands: str | None = None

    def options(self) -> dict[str, Any]:
        """pandas.read_csv's arguments for this format."""
        kw: dict[str, Any] = {"sep": self.sep, "encoding": self.encoding, "decimal": self.decimal, "low_memory": False}
        if self.sep != WHITESPACE:
            kw.update(quotechar=self.quotechar, skipinitialspace=self.skipinitialspace)
        if self.thousands:
            kw["thousands"] = self.thousands
        return kw

    def records(self, lines: Any) -> Any:
        """The fields of each line (a list per record; ``[]`` for a blank line), with csv's line count."""
        if self.sep == WHITESPACE:
            return ((line.split(), None) for line in lines)
        reader = csv.reader(lines, delimiter=self.sep, quotechar=self.quotechar, skipinitialspace=self.skipinitialspace)
        return ((fields, reader) for fields in reader)

    def notes(self, name: str) -> list[str]:
        notes = []
        if self.encoding not in ("utf-8", "utf-8-sig"):
            notes.append(f"{name} is not UTF-8; read it as {self.encoding}")
        if self.sep == WHITESPACE:
            notes.append(f"{name}: columns separated by spaces")
        if self.decimal == ",":
            between = {";": "';'", "\t": "tabs", "|": "'|'", WHITESPACE: "spaces"}.get(self.sep, repr(self.sep))
            notes.append(
                f"{name} writes numbers with a decimal comma and {between} between columns: read '1,5' as 1.5"
                + (" and '1.234' as 1234" if self.thousands else "")
            )
        return notes


def _delimiter(lines: list[str]) -> tuple[str, str, bool]:
    """The character between columns, the quote character, and whether spaces follow the delimiter."""
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS)
        return dialect.delimiter, dialect.quotechar or '"', bool(dialect.skipinitialspace)
    except csv.Error:
        pass
    widths = {len(line.split()) for line in lines}
    if len(widths) == 1 and widths.pop() > 1:
        return WHITESPACE, '"', False
    return ",", '"', False


def _guess_format(text: str, encoding: str, truncated: bool) -> CsvFormat:
    """The format of a file whose first bytes, decoded, are ``text``."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # cut in the middle
    lines = [line for line in lines if line.strip()][:_SAMPLE_LINES]
    sep, quotechar, skip_space = _delimiter(lines)
    fmt = CsvFormat(encoding, sep, (), quotechar, skip_space)
    rows = [fields for fields, _ in fmt.records(lines)]
    header = tuple(rows[0]) if rows else ()
    decimal, thousands = ".", None
    if sep != ",":
        values = [v.strip() for row in rows[1:] for v in row]
        comma = any(_COMMA_DECIMAL.fullmatch(v) for v in values)
        dot = any(_DOT_DECIMAL.fullmatch(v) and not _DOT_THOUSANDS.fullmatch(v) for v in values)
        if comma and not dot:
            decimal = ","
            thousands = "." if any(_DOT_THOUSANDS.fullmatch(v) for v in values) else None
    return CsvFormat(encoding, sep, header, quotechar, skip_space, decimal, thousands)


def _read_csv(path: Path, nrows: int | None = None) -> tuple[Any, CsvFormat]:
    import pandas as pd

    with open(path, "rb") as f:
        head = f.read(_SAMPLE_BYTES)
    truncated = len(head) == _SAMPLE_BYTES
    last: Exception | None = None
    for encoding in CSV_ENCODINGS:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=not truncated)
        except UnicodeDecodeError as e:
            last = e
            continue
        fmt = _guess_format(text, encoding, truncated)
        try:
            return pd.read_csv(path, nrows=nrows, **fmt.options()), fmt
        except UnicodeDecodeError as e:
            last = e
        except pd.errors.EmptyDataError:
            raise DataError(Issue("data.path", f"{path.name} has no columns")) from None
        except (pd.errors.ParserError, ValueError, TypeError) as e:
            raise DataError(Issue("data.path", f"{path.name} is not a readable CSV file: {e}")) from None
    raise DataError(Issue("data.path", f"{path.name}: cannot decode the text ({last})"))


def file_rows(path: Path, fmt: CsvFormat) -> RowNaming:
    """A CSV file's rows named by the line of the file they start on (line 1 is the header)."""

    def lines(positions: list[int]) -> list[int]:
        wanted = sorted(set(positions))
        found: dict[int, int] = {}
        if not wanted:
            return []
        with open(path, encoding=fmt.encoding, newline="", errors="replace") as f:
            line, record, header = 0, -1, True
            for fields, reader in fmt.records(f):
                start = line + 1
                line = reader.line_num if reader is not None else line + 1
                if not fields or all(not v.strip() for v in fields) and len(fields) == 1:
                    continue  # a blank line, which pandas skips
                if header:
                    header = False
                    continue
                record += 1
                if record in wanted:
                    found[record] = start
                    if len(found) == len(wanted):
                        break
        return [found.get(p, p + 2) for p in positions]

    return RowNaming(f"lines of {path.name}, counted from 1 at its header", lines, "line")


def read_csv_header(path: Path) -> list[str]:
    """Column names of a CSV file, reading only its first lines."""
    path = csv_path(path)
    check_csv_file(path)
    frame, _ = _read_csv(path, nrows=5)
    return [str(c) for c in frame.columns]


def read_csv(path: Path, target: str | None = None) -> tuple[Any, list[str], RowNaming]:
    """The whole CSV file as a DataFrame, with notes on how it was read and how its rows are numbered.

    Raises:
        DataError: the file cannot be read, or its header names a column twice (``target`` first).
    """
    path = csv_path(path)
    check_csv_file(path)
    frame, fmt = _read_csv(path)
    issues = duplicate_issues(fmt.header, target, f"the header of {path.name}", "data.path")
    if issues:
        raise DataError(issues)
    if len(frame) == 0:
        raise DataError(Issue("data.path", f"{path.name} has a header but no rows"))
    frame.columns = [str(c) for c in frame.columns]
    return frame, fmt.notes(path.name), file_rows(path, fmt)


@lru_cache(maxsize=4)
def _facts(path: str, _mtime_ns: int, _size: int) -> tuple[TableFacts, RowNaming] | None:
    """A file's :class:`TableFacts`, read once per version of the file; None when it cannot be read
    (:func:`prepare` says why)."""
    try:
        frame, _, naming = read_csv(Path(path))
    except SpecError:
        return None
    return TableFacts.of(frame), naming


def file_issues(spec: Spec) -> list[Issue]:
    """The data's problems that only opening it shows: a CSV file unreadable, missing the columns the spec
    names, naming a column twice, holding infinite numbers; a split that leaves too few rows."""
    d = spec.data
    issues: list[Issue] = []
    if d.source == "builtin":
        return builtin_issues(d)
    if d.source != "csv" or not d.path:
        return issues
    path = csv_path(d.path)
    try:
        check_csv_file(path)
        head, fmt = _read_csv(path, nrows=5)
    except SpecError as e:
        return e.issues
    except Exception as e:  # noqa: BLE001 - every reading problem is reported, not raised
        return [Issue("data.path", f"cannot read {d.path}: {e}")]
    issues = duplicate_issues(fmt.header, d.target, f"the header of {path.name}", "data.path")
    columns = [str(c) for c in head.columns]
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    if d.target and d.target not in columns:
        issues.append(Issue("data.target", f"column '{d.target}' not in file (columns: {shown})"))
    for col in d.columns or ():
        if col not in columns:
            issues.append(Issue("data.columns", f"column '{col}' not in file (columns: {shown})"))
        elif col == d.target:
            issues.append(Issue("data.columns", f"'{col}' is the target; it cannot also be an input"))
    features = list(d.columns) if d.columns else [c for c in columns if c != d.target]
    if not issues and d.target and not features:
        issues.append(Issue("data.columns", no_inputs_message(d.target, path.name)))
    if issues or not d.target:
        return issues
    stat = path.stat()
    found = _facts(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if found is None:
        return issues
    facts, naming = found
    return facts.issues(d, features, naming)
