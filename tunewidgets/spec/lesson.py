"""A lesson: the frame a teacher puts around a spec.

``locked`` fields are shown, fixed and greyed out, with a note that the teacher fixed them;
``hidden`` fields are not shown at all; ``notes`` (short Markdown) are shown above the controls.
A lesson does not change what a search trains: a search resumes across lesson changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import Issue
from .parse import did_you_mean, unknown_field
from .sections import SECTIONS, section_fields

#: The lesson's keys in a spec file.
LESSON_KEYS = ("locked", "hidden", "notes")


def field_paths() -> list[str]:
    """Every field a lesson can lock or hide: ``name`` and ``section.field``."""
    return ["name", *(f"{section}.{name}" for section in SECTIONS for name, _ in section_fields(section))]


@dataclass(frozen=True)
class Lesson:
    """Fields locked and hidden, and notes for the students (Markdown)."""

    locked: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    notes: str = ""

    def __bool__(self) -> bool:
        return bool(self.locked or self.hidden or self.notes)

    def to_json(self) -> dict[str, Any]:
        return {"locked": list(self.locked), "hidden": list(self.hidden), "notes": self.notes}

    def issues(self) -> list[Issue]:
        """Unknown field paths, each named with the closest known one."""
        known = field_paths()
        out = []
        for key in ("locked", "hidden"):
            paths = getattr(self, key)
            if not isinstance(paths, tuple) or not all(isinstance(p, str) for p in paths):
                out.append(Issue(f"lesson.{key}", 'expected field paths such as "tuner.algorithm"'))
                continue
            for i, path in enumerate(paths):
                if path not in known:
                    hint = did_you_mean(path, known)
                    out.append(Issue(f"lesson.{key}[{i}]", f"'{path}' is not a field of a spec{hint}"))
        return out


def lesson_from_json(raw: Any, issues: list[Issue]) -> Lesson:
    """Reads a spec file's ``lesson`` object; problems of shape go to ``issues``."""
    if raw is None:
        return Lesson()
    if not isinstance(raw, dict):
        issues.append(Issue("lesson", f"expected an object with {', '.join(LESSON_KEYS)}, got {type(raw).__name__}"))
        return Lesson()
    for key in raw:
        if key not in LESSON_KEYS:
            issues.append(Issue(f"lesson.{key}", unknown_field(str(key), LESSON_KEYS)))
    values: dict[str, Any] = {}
    for key in ("locked", "hidden"):
        paths = raw.get(key, [])
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            issues.append(Issue(f"lesson.{key}", 'expected a list of field paths such as "tuner.algorithm"'))
            continue
        values[key] = tuple(paths)
    notes = raw.get("notes", "")
    if notes is None:
        notes = ""
    if not isinstance(notes, str):
        issues.append(Issue("lesson.notes", f"expected text (Markdown), got {type(notes).__name__}"))
    else:
        values["notes"] = notes
    return Lesson(**values)


__all__ = ["LESSON_KEYS", "Lesson", "field_paths", "lesson_from_json"]
