"""Reading a spec's JSON form: a file's bytes to text, text to JSON, JSON values to field values.

Every problem of the input is an :class:`~tunewidgets.errors.Issue` (or a :class:`SpecError` when nothing
can be read at all), never a raw Python exception: a spec file saved by Notepad (with a byte order mark,
or as UTF-16), an empty file, a file that is not text, brackets that never close, numbers too long to
read, ``2.0`` for a whole number.
"""

from __future__ import annotations

import codecs
import difflib
import json
import math
import reprlib
from collections.abc import Sequence
from typing import Any

from ..errors import Issue, SpecError
from .fields import FieldInfo
from .knobs import Choice, Fixed, Range, knob_from_json

#: The deepest a spec's JSON goes is 4 (the spec, a section, a range or choices, their list); anything
#: past this many levels of ``{}`` and ``[]`` is not a spec (brackets that never close, a value pasted into itself).
MAX_DEPTH = 16
#: A spec file is a few kilobytes; a file larger than this is another file.
MAX_BYTES = 10 * 2**20


class _Short(reprlib.Repr):
    """Values as a message shows them: short, however long or deeply nested the input."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother = 3, 40, 40

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() <= 128:
            return repr(x)
        try:  # str() of an int over 4300 digits raises
            return f"{float(x):g}"
        except OverflowError:
            return f"{'-' if x < 0 else ''}10^{int(abs(x).bit_length() * math.log10(2))}"


_short = _Short()


def show(value: Any) -> str:
    """``repr(value)``, cut short for a message (long text, deep lists, huge numbers)."""
    return _short.repr(value)


def did_you_mean(key: str, known: Sequence[str], cutoff: float = 0.6, prefix: str = "") -> str:
    """`` (did you mean 'units'?)`` for the closest of ``known`` (named with ``prefix``), or an empty string."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=cutoff)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def unknown_field(key: str, known: Sequence[str], listed: Sequence[str] | None = None, prefix: str = "") -> str:
    """The message for an unknown field: the closest known one, else the known ones (or ``listed``)."""
    return "unknown field" + (did_you_mean(key, known, prefix=prefix) or f" (known: {', '.join(listed or known)})")


def too_deep(where: str) -> Issue:
    return Issue(
        "",
        f"{where} is nested too deeply to be a spec (more than {MAX_DEPTH} levels of {{}} and []; a spec has "
        "at most 4): look for brackets that are never closed",
    )


def check_depth(raw: Any, where: str) -> None:
    """Raises :class:`SpecError` when ``raw`` nests more than :data:`MAX_DEPTH` dicts and lists (a loop too)."""
    stack = [(raw, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
        if children and depth >= MAX_DEPTH:
            raise SpecError(too_deep(where))
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, tuple)))


def decode(data: bytes, where: str) -> str:
    """A spec file's text: UTF-8 with or without a byte order mark, or UTF-16 with one (Notepad's "Unicode")."""
    codec = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(codec)
    except UnicodeDecodeError as e:
        raise SpecError(
            Issue(
                "",
                f"{where} is not {'UTF-8' if codec == 'utf-8-sig' else 'UTF-16'} text (byte 0x{data[e.start]:02x} "
                f"at position {e.start}): is it a spec file? Save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)",
            )
        ) from None


class _Repeated(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def _no_repeats(where: str) -> Any:
    """``json.loads``' hook that refuses a key given twice in one object (JSON would keep the last, silently)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise _Repeated(
                    key,
                    f"{where} gives '{key}' twice in one object ({json.dumps(out[key])[:40]}, then "
                    f"{json.dumps(value)[:40]}): keep the one you mean",
                )
            out[key] = value
        return out

    return pairs


def load_json(text: str, where: str) -> Any:
    """The JSON value of ``text``; ``where`` names the input in the messages (``spec file x.json``)."""
    text = text.removeprefix("\ufeff")  # a byte order mark left by decoding as plain UTF-8
    if not text.strip():
        raise SpecError(Issue("", f'{where} is empty: a spec is a JSON object such as {{"name": "my search"}}'))
    try:
        return json.loads(text, object_pairs_hook=_no_repeats(where))
    except _Repeated as e:
        raise SpecError(Issue("", str(e))) from None
    except json.JSONDecodeError as e:
        raise SpecError(Issue("", f"{where} is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})")) from None
    except RecursionError:
        raise SpecError(too_deep(where)) from None
    except ValueError:  # an integer of more than 4300 digits
        raise SpecError(Issue("", f"{where} holds a number too long to read (more than 4300 digits)")) from None


def _whole(value: Any) -> Any:
    """``2.0`` as ``2`` (JSON writers and spreadsheets write whole numbers so); anything else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _float(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def parse_value(raw: Any, info: FieldInfo, path: str, issues: list[Issue]) -> Any:
    """A field's value from its JSON form (``None`` with an issue when its shape is wrong); kinds and
    bounds are validation's: ``2.0`` becomes ``2`` for a whole-number field, ``1`` becomes ``1.0`` for a number."""
    number = _float if info.kind == "float" else _whole if info.kind == "int" else None
    if info.tunable:
        try:
            k = knob_from_json(raw)
        except ValueError as e:
            issues.append(Issue(path, str(e)))
            return None
        if isinstance(k, Choice) and isinstance(k.options, list):
            k = Choice(tuple(k.options))
        if number is None:
            return k
        if isinstance(k, Fixed):
            return Fixed(number(k.value))
        if isinstance(k, Range):
            return Range(number(k.min), number(k.max), number(k.step), k.log)
        if isinstance(k.options, tuple):
            return Choice(tuple(number(v) for v in k.options))
        return k
    if info.kind == "strlist":
        if raw is None:
            return None
        if isinstance(raw, str):
            return (raw,)
        if isinstance(raw, (list, tuple)):
            return tuple(raw)
        issues.append(Issue(path, f"expected a list of column names, got {type(raw).__name__}"))
        return None
    return raw if number is None else number(raw)


__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "check_depth",
    "decode",
    "did_you_mean",
    "load_json",
    "parse_value",
    "show",
    "too_deep",
    "unknown_field",
]
