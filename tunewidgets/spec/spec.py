"""A whole search spec, and its JSON form: spec files are plain data, nothing in them is ever executed."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ..errors import Issue, SpecError
from .budget import describe
from .data import DataSpec
from .knobs import Choice, Fixed, Range, knob_from_json
from .lesson import Lesson, lesson_from_json
from .network import ModelSpec, RegularizationSpec
from .sections import SECTIONS, section_fields
from .share import decode, encode
from .training import OptimizerSpec, TrainingSpec
from .tuner import TunerSpec
from .validate import validate

SPEC_VERSION = 1
_TOP_KEYS = ("version", "name", *SECTIONS, "lesson")


@dataclass(frozen=True)
class Spec:
    """A complete search: data, network, regularization, optimizer, training, tuner."""

    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    regularization: RegularizationSpec = field(default_factory=RegularizationSpec)
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    tuner: TunerSpec = field(default_factory=TunerSpec)
    name: str = "search"
    version: int = SPEC_VERSION
    #: a teacher's frame: fields locked or hidden in the dashboard, notes above the controls
    lesson: Lesson = field(default_factory=Lesson)

    def replace(self, **changes: Any) -> Spec:
        """A copy with fields replaced; dotted names reach into sections.

        ``spec.replace(**{"tuner.max_trials": 3, "training.epochs": 2})``
        """
        sections: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for key, value in changes.items():
            if "." in key:
                section, name = key.split(".", 1)
                sections.setdefault(section, {})[name] = value
            else:
                top[key] = value
        for section, fields in sections.items():
            top[section] = dataclasses.replace(getattr(self, section), **fields)
        return dataclasses.replace(self, **top)

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready form: every field written out (the lesson when there is one)."""
        return _to_dict(self)

    def to_text(self) -> str:
        """The spec as one short line of text to paste or put in a link (``tw1.``...); see :meth:`from_text`."""
        return encode(_to_dict(self), _to_dict(Spec()))

    @classmethod
    def from_text(cls, text: str) -> Spec:
        """Reads :meth:`to_text`'s text (alone, or inside a link or a message) or a spec file's JSON."""
        stripped = text.strip()
        return cls.from_json(stripped) if stripped.startswith("{") else _from_dict(decode(stripped))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(_to_dict(self), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, raw: Any, *, validate: bool = True) -> Spec:
        """Reads a spec from its JSON form.

        Missing fields take their defaults; unknown fields, wrong shapes and (with ``validate``)
        every validation problem are reported together in one :class:`SpecError`.
        """
        return _from_dict(raw, validate=validate)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(Issue("", f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}")) from None
        return _from_dict(raw)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Spec:
        """Reads and validates a spec file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(Issue("", f"spec file not found: {p}")) from None
        except (OSError, UnicodeDecodeError) as e:
            raise SpecError(Issue("", f"cannot read spec file {p}: {e}")) from None
        return cls.from_json(text)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes a spec file atomically."""
        atomic_write_text(Path(path), self.to_json() + "\n")

    def validate(self) -> list[Issue]:
        """Every problem of this spec, as :class:`Issue` s (empty when valid). Files are not opened:
        :func:`tunewidgets.data.file_issues` checks a CSV file's columns."""
        return validate(self)

    def check(self) -> Spec:
        """Raises :class:`SpecError` listing every problem; returns the spec when valid."""
        issues = validate(self)
        if issues:
            raise SpecError(issues)
        return self

    def describe(self) -> str:
        """What the search will train, in words: space size, trials, epochs, random starts."""
        return describe(self)


def _to_dict(spec: Spec) -> dict[str, Any]:
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
    if spec.lesson:
        out["lesson"] = spec.lesson.to_json()
    return out


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


def _from_dict(raw: Any, *, validate: bool = True) -> Spec:
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
    if "lesson" in raw:
        kwargs["lesson"] = lesson_from_json(raw["lesson"], issues)
    spec = Spec(**kwargs)
    if validate:
        issues.extend(spec.validate())
    if issues:
        raise SpecError(issues)
    return spec


__all__ = ["SPEC_VERSION", "Spec"]
