"""Spec <-> JSON. Spec files are plain data: nothing in them is ever executed."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from ..errors import Issue, SpecError
from .knobs import Choice, Fixed, Range, knob_from_json
from .model import SECTIONS, SPEC_VERSION, Spec, section_fields

_TOP_KEYS = ("version", "name", *SECTIONS)


def spec_to_dict(spec: Spec) -> dict[str, Any]:
    """The canonical JSON-ready form: every field written out."""
    out: dict[str, Any] = {"version": spec.version, "name": spec.name}
    for section in SECTIONS:
        sec = getattr(spec, section)
        body: dict[str, Any] = {}
        for name, info in section_fields(section):
            value = getattr(sec, name)
            if info.tunable:
                body[name] = value.to_json() if isinstance(value, (Fixed, Range, Choice)) else value
            elif info.kind == "strlist" and value is not None:
                body[name] = list(value)
            else:
                body[name] = value
        out[section] = body
    return out


def spec_to_json(spec: Spec, indent: int | None = 2) -> str:
    return json.dumps(spec_to_dict(spec), indent=indent, allow_nan=False)


def _unknown(key: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"
    return f"unknown field{hint}"


def _coerce_float(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _parse_value(raw: Any, info: Any, path: str, issues: list[Issue]) -> Any:
    if info.tunable:
        try:
            k = knob_from_json(raw)
        except ValueError as e:
            issues.append(Issue(path, str(e)))
            return None
        if info.kind == "float":
            if isinstance(k, Fixed):
                k = Fixed(_coerce_float(k.value))
            elif isinstance(k, Range):
                k = Range(_coerce_float(k.min), _coerce_float(k.max), _coerce_float(k.step), k.log)
            else:
                k = Choice(tuple(_coerce_float(v) for v in k.options))
        return k
    if info.kind == "strlist":
        if raw is None:
            return None
        if isinstance(raw, str):
            return (raw,)
        if isinstance(raw, list):
            return tuple(raw)
        issues.append(Issue(path, f"expected a list of column names, got {type(raw).__name__}"))
        return None
    if info.kind == "float":
        return _coerce_float(raw)
    return raw


def spec_from_dict(raw: Any, *, validate: bool = True) -> Spec:
    """Reads a spec from its JSON form.

    Missing fields take their defaults; unknown fields, wrong shapes and (with
    ``validate``) every validation problem are reported together in one
    :class:`SpecError`.
    """
    issues: list[Issue] = []
    if not isinstance(raw, dict):
        raise SpecError(Issue("", f"a spec is a JSON object, got {type(raw).__name__}"))
    version = raw.get("version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise SpecError(Issue("version", f"this spec is version {version!r}; tunewidgets reads version {SPEC_VERSION}"))
    for key in raw:
        if key not in _TOP_KEYS:
            issues.append(Issue(str(key), _unknown(str(key), list(_TOP_KEYS))))
    kwargs: dict[str, Any] = {}
    name = raw.get("name", "search")
    if not isinstance(name, str):
        issues.append(Issue("name", f"expected text, got {type(name).__name__}"))
    else:
        kwargs["name"] = name
    for section, cls in SECTIONS.items():
        body = raw.get(section, {})
        if body is None:
            body = {}
        if not isinstance(body, dict):
            issues.append(Issue(section, f"expected an object of fields, got {type(body).__name__}"))
            continue
        fields = dict(section_fields(section))
        values: dict[str, Any] = {}
        for key, value in body.items():
            path = f"{section}.{key}"
            if key not in fields:
                issues.append(Issue(path, _unknown(str(key), list(fields))))
                continue
            parsed = _parse_value(value, fields[key], path, issues)
            if parsed is not None or fields[key].nullable:
                values[key] = parsed
        kwargs[section] = cls(**values)
    spec = Spec(**kwargs)
    if validate:
        from .validate import validate as run_validation

        issues.extend(run_validation(spec))
    if issues:
        raise SpecError(issues)
    return spec


def spec_from_json(text: str) -> Spec:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(Issue("", f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}")) from None
    return spec_from_dict(raw)


def read_spec(path: str | os.PathLike[str]) -> Spec:
    """Reads and validates a spec file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(Issue("", f"spec file not found: {p}")) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(Issue("", f"cannot read spec file {p}: {e}")) from None
    return spec_from_json(text)


def write_spec(spec: Spec, path: str | os.PathLike[str]) -> None:
    """Writes a spec file atomically."""
    from .._atomic import atomic_write_text

    atomic_write_text(Path(path), spec_to_json(spec) + "\n")


def spec_equal(a: Spec, b: Spec) -> bool:
    """Equality of the canonical JSON forms (ignores int/float spelling)."""
    return spec_to_dict(a) == spec_to_dict(b)


__all__ = ["spec_to_dict", "spec_to_json", "spec_from_dict", "spec_from_json", "read_spec", "write_spec"]
