"""Errors that name the field at fault."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem with a spec or its data: the field path and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(ValueError):
    """A spec (or the data it names) cannot be used; ``issues`` lists every problem."""

    def __init__(self, issues: list[Issue] | Issue):
        self.issues = [issues] if isinstance(issues, Issue) else list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    def __reduce__(self) -> tuple[type, tuple[list[Issue]]]:
        """Pickled with its issues (the data helper sends it back whole)."""
        return type(self), (self.issues,)

    def for_path(self, prefix: str) -> list[Issue]:
        """The issues of one field or section (``"model.units"``, ``"tuner"``)."""
        return [i for i in self.issues if i.path == prefix or i.path.startswith(prefix + ".")]


class DataError(SpecError):
    """The data named by a spec cannot be loaded or used."""


class ProjectError(RuntimeError):
    """A results directory cannot be used as asked (locked, another spec, unreadable)."""


class SearchError(RuntimeError):
    """A search could not go on (a worker process broke); the trials that ended before are kept."""


class MemoryWarning(UserWarning):
    """The session's memory is short for what is about to run in this kernel (the system may kill a process for
    memory, this kernel too): a search given ``callbacks=[tw.live()]`` trains here."""
