"""A whole search spec, and its JSON form: spec files are plain data, nothing in them is ever executed."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text
from ..errors import Issue, SpecError
from .budget import describe
from .data import DataSpec
from .hyper import HyperModelSpec, hypermodel_from_json
from .knobs import Choice, Fixed, Range
from .lesson import Lesson, field_paths, lesson_from_json
from .network import ModelSpec, RegularizationSpec
from .parse import MAX_BYTES, check_depth, decode, did_you_mean, load_json, parse_value, show, unknown_field
from .sections import SECTIONS, section_fields
from .share import decode as decode_text
from .share import encode
from .training import OptimizerSpec, TrainingSpec
from .tuner import TunerSpec
from .validate import field_issues, validate

SPEC_VERSION = 1
_TOP_KEYS = ("version", "name", *SECTIONS, "hypermodel", "lesson")


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
    #: the user's own hypermodel in place of the model, regularization and optimizer sections (None: the spec's)
    hypermodel: HyperModelSpec | None = None

    def replace(self, **changes: Any) -> Spec:
        """A copy with fields replaced; dotted names reach into sections.

        ``spec.replace(**{"tuner.max_trials": 3, "training.epochs": 2})``

        Values are read as a spec file's are (``3`` for ``Fixed(3)``, a list for choices, ``2.0`` for
        2). An unknown field or a value of the wrong kind raises :class:`SpecError` naming it; bounds and
        the fields' agreement are :meth:`validate`'s.
        """
        return _replace(self, changes)

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready form: every field written out (the lesson when there is one)."""
        return _to_dict(self)

    def to_text(self) -> str:
        """The spec as one short line of text to paste or put in a link (``tw1.``...); see :meth:`from_text`."""
        return encode(_to_dict(self), _to_dict(Spec()))

    @classmethod
    def from_text(cls, text: str) -> Spec:
        """Reads :meth:`to_text`'s text (alone, or inside a link or a message) or a spec file's JSON."""
        if not isinstance(text, str):
            raise SpecError(Issue("", f"expected the setup as text, got {type(text).__name__}"))
        stripped = text.strip().removeprefix("\ufeff").strip()
        if stripped.startswith("{"):
            return cls.from_json(stripped)
        return _from_dict(decode_text(stripped), where="this setup text")

    def to_json(self, indent: int | None = 2) -> str:
        """The spec as JSON, every field written (what ``Spec.save`` writes to a file)."""
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
        """A spec from its JSON text; fields left out take their defaults. :class:`SpecError` names each bad
        field."""
        return _from_dict(load_json(text, "this text"), where="this text")

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "") -> Spec:
        """Reads and validates a spec file's content (an upload), UTF-8 with or without a byte order
        mark or UTF-16 with one; ``name`` names the file in the messages."""
        where = f"spec file {name}" if name else "this file"
        if len(data) > MAX_BYTES:
            raise SpecError(Issue("", f"{where} is {len(data) / 2**20:.0f} MB: too large to be a spec file"))
        return _from_dict(load_json(decode(data, where), where), where=where)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Spec:
        """Reads and validates a spec file."""
        p = Path(path)
        try:
            if p.is_file() and p.stat().st_size > MAX_BYTES:
                size = p.stat().st_size / 2**20
                raise SpecError(Issue("", f"spec file {p} is {size:.0f} MB: too large to be a spec file"))
            data = p.read_bytes()
        except FileNotFoundError:
            raise SpecError(Issue("", f"spec file not found: {p}")) from None
        except OSError as e:
            raise SpecError(Issue("", f"cannot read spec file {p}: {e.strerror or e}")) from None
        return cls.from_bytes(data, str(p))

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
    if spec.hypermodel is not None:
        out["hypermodel"] = spec.hypermodel.to_json()
    if spec.lesson:
        out["lesson"] = spec.lesson.to_json()
    return out


def _unknown_path(key: str) -> str:
    """An unknown name given to :meth:`Spec.replace`: the closest field path, or the fields of its section."""
    section, dot, name = key.partition(".")
    if dot and section in SECTIONS:
        return unknown_field(name, [n for n, _ in section_fields(section)], prefix=f"{section}.")
    paths = [p for p in field_paths() if "." in p]
    if dot:  # "modle.units"
        return unknown_field(key, paths, listed=list(SECTIONS))
    same_name = [p for p in paths if p.endswith("." + key)]
    if same_name:  # "epochs" for "training.epochs"
        return "unknown field" + did_you_mean(key, same_name, cutoff=0)
    return unknown_field(key, _TOP_KEYS)


def _hypermodel_changed(before: HyperModelSpec | None, changes: dict[str, Any], issues: list[Issue]) -> Any:
    """``replace(**{"hypermodel.hyperparameters": {"units": Range(8, 32, 8), "lr": 0.01}})``, or one of them
    (``"hypermodel.hyperparameters.units"``), ``hypermodel.name``, ``hypermodel.tune_new_entries``: knobs or their
    JSON form (a bare value fixes it)."""
    raw = (before or HyperModelSpec()).to_json()
    raw.setdefault("tune_new_entries", True)
    for key, value in changes.items():
        name = key.removeprefix("hypermodel.")
        plain = value.to_json() if hasattr(value, "to_json") else value
        if name == "hyperparameters" and isinstance(value, dict):
            raw["hyperparameters"] = {k: v.to_json() if hasattr(v, "to_json") else v for k, v in value.items()}
        elif name.startswith("hyperparameters."):
            raw["hyperparameters"] = {**raw["hyperparameters"], name.removeprefix("hyperparameters."): plain}
        else:
            raw[name] = plain
    return hypermodel_from_json(raw, issues)


def _replace(spec: Spec, changes: dict[str, Any]) -> Spec:
    issues: list[Issue] = []
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    hyper = {k: v for k, v in changes.items() if k.startswith("hypermodel.")}
    if hyper:  # your own model's section, field by field: read as a spec file's is
        changes = {k: v for k, v in changes.items() if k not in hyper}
        top["hypermodel"] = _hypermodel_changed(spec.hypermodel, hyper, issues)
    for key, value in changes.items():
        section, dot, name = key.partition(".")
        fields = dict(section_fields(section)) if section in SECTIONS else {}
        if dot and name in fields:
            before = len(issues)
            parsed = parse_value(value, fields[name], key, issues)
            if len(issues) == before:
                issues.extend(field_issues(parsed, fields[name], key, kind_only=True))
            sections.setdefault(section, {})[name] = parsed
        elif dot or key not in _TOP_KEYS:
            issues.append(Issue(key, _unknown_path(key)))
        elif key in SECTIONS:
            if isinstance(value, SECTIONS[key]):
                for field_name, info in section_fields(key):
                    path = f"{key}.{field_name}"
                    issues.extend(field_issues(getattr(value, field_name), info, path, kind_only=True))
            else:
                issues.append(
                    Issue(
                        key,
                        f"expected a {SECTIONS[key].__name__}, got {show(value)}; to change one of its fields "
                        f"write replace(**{{'{key}.{section_fields(key)[0][0]}': ...}})",
                    )
                )
            top[key] = value
        elif key == "name" and not isinstance(value, str):
            issues.append(Issue(key, f"expected text, got {show(value)}"))
        elif key == "lesson" and not isinstance(value, Lesson):
            issues.append(Issue(key, f"expected a Lesson, got {show(value)}"))
        elif key == "hypermodel" and value is not None and not isinstance(value, HyperModelSpec):
            issues.append(Issue(key, f"expected a HyperModelSpec or None, got {show(value)}"))
        elif key == "version" and (type(value) is not int or value != SPEC_VERSION):
            issues.append(Issue(key, f"tunewidgets writes version {SPEC_VERSION} specs, not {show(value)}"))
        else:
            top[key] = value
    if issues:
        raise SpecError(issues)
    for section, values in sections.items():
        top[section] = dataclasses.replace(top.get(section, getattr(spec, section)), **values)
    return dataclasses.replace(spec, **top)


def _from_dict(raw: Any, *, validate: bool = True, where: str = "this object") -> Spec:
    """Reads a spec from its JSON form.

    Missing fields take their defaults; unknown fields, wrong shapes and (with
    ``validate``) every validation problem are reported together in one
    :class:`SpecError`.
    """
    issues: list[Issue] = []
    if not isinstance(raw, dict):
        raise SpecError(Issue("", f"a spec is a JSON object, got {type(raw).__name__}"))
    check_depth(raw, where)
    version = raw.get("version", SPEC_VERSION)
    if not isinstance(version, (int, float)) or isinstance(version, bool):
        raise SpecError(Issue("version", f"expected the number {SPEC_VERSION}, got {show(version)}"))
    if version != SPEC_VERSION:
        raise SpecError(
            Issue("version", f"this spec is version {show(version)}; tunewidgets reads version {SPEC_VERSION}")
        )
    for key in raw:
        if key not in _TOP_KEYS:
            issues.append(Issue(str(key), unknown_field(str(key), _TOP_KEYS)))
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
                issues.append(Issue(path, unknown_field(str(key), list(fields))))
                continue
            parsed = parse_value(value, fields[key], path, issues)
            if parsed is not None or fields[key].nullable:
                values[key] = parsed
        kwargs[section] = cls(**values)
    if "lesson" in raw:
        kwargs["lesson"] = lesson_from_json(raw["lesson"], issues)
    if "hypermodel" in raw:
        kwargs["hypermodel"] = hypermodel_from_json(raw["hypermodel"], issues)
    spec = Spec(**kwargs)
    if validate:
        issues.extend(spec.validate())
    if issues:
        raise SpecError(issues)
    return spec


__all__ = ["SPEC_VERSION", "Spec"]
