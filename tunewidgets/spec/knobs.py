"""Tunable knobs: a fixed value, a range, or a set of choices.

Every knob of a search spec is one of these three. They map onto keras-tuner's
``Fixed``, ``Int``/``Float`` (with ``sampling="log"``), ``Choice`` and
``Boolean`` hyperparameters.

JSON form (what spec files hold):

* fixed: the bare value, ``0.001``, ``"adam"``, ``true``
* range: ``{"min": 1e-4, "max": 1e-1, "log": true}`` (``step`` optional)
* choices: ``{"choices": ["adam", "sgd"]}`` (a bare list is read the same way)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

Scalar = Union[bool, int, float, str]


@dataclass(frozen=True)
class Fixed:
    """One value, not tuned."""

    value: Scalar

    def to_json(self) -> Any:
        return self.value

    def values(self) -> tuple[Scalar, ...]:
        return (self.value,)


@dataclass(frozen=True)
class Range:
    """A numeric interval ``[min, max]``, optionally stepped or log-scaled."""

    min: float
    max: float
    step: float | None = None
    log: bool = False

    def to_json(self) -> Any:
        out: dict[str, Any] = {"min": self.min, "max": self.max}
        if self.step is not None:
            out["step"] = self.step
        if self.log:
            out["log"] = True
        return out

    def values(self) -> tuple[float, ...]:
        """The endpoints; every value for a stepped integer-like range."""
        if self.step is None or self.log:
            return (self.min, self.max)
        n = int(math.floor((self.max - self.min) / self.step + 1e-9))
        return tuple(self.min + i * self.step for i in range(n + 1))

    def size(self) -> int | None:
        """Number of distinct values, ``None`` when continuous (or not a range validation accepts)."""
        if self.step is None or self.step <= (1 if self.log else 0) or (self.log and self.min <= 0):
            return None
        if self.max < self.min:
            return 0
        count = (math.log(self.max) - math.log(self.min)) / math.log(self.step) if self.log else None
        if count is not None and count < 10_000:  # multiplied out, as keras-tuner steps through it
            n, value = 0, self.min
            while value <= self.max * (1 + 1e-9):
                n, value = n + 1, value * self.step
            return n
        if count is None:
            count = (self.max - self.min) / self.step
        return int(math.floor(count + 1e-9)) + 1 if math.isfinite(count) else None


@dataclass(frozen=True)
class Choice:
    """A set of values to pick from."""

    options: tuple[Scalar, ...]

    def to_json(self) -> Any:
        return {"choices": list(self.options)}

    def values(self) -> tuple[Scalar, ...]:
        return self.options


Knob = Union[Fixed, Range, Choice]


def choice(*values: Scalar) -> Choice:
    """Shorthand: ``choice("adam", "sgd")``."""
    return Choice(tuple(values))


def knob_from_json(raw: Any) -> Knob:
    """Reads a knob from its JSON form; raises ``ValueError`` with a plain message."""
    if isinstance(raw, Knob.__args__):  # type: ignore[attr-defined]
        return raw
    if isinstance(raw, list):
        return Choice(tuple(raw))
    if isinstance(raw, dict):
        keys = set(raw)
        if "choices" in keys:
            extra = keys - {"choices"}
            if extra:
                raise ValueError(f"unexpected key(s) {sorted(extra)} beside 'choices'")
            if not isinstance(raw["choices"], list):
                raise ValueError("'choices' must be a list")
            return Choice(tuple(raw["choices"]))
        if "min" in keys or "max" in keys:
            extra = keys - {"min", "max", "step", "log"}
            if extra:
                raise ValueError(f"unexpected key(s) {sorted(extra)} in a range (use min, max, step, log)")
            if "min" not in keys or "max" not in keys:
                raise ValueError("a range needs both 'min' and 'max'")
            log = raw.get("log", False)
            if not isinstance(log, bool):
                raise ValueError("'log' must be true or false")
            return Range(raw["min"], raw["max"], raw.get("step"), log)
        if "value" in keys and keys == {"value"}:
            return Fixed(raw["value"])
        raise ValueError(
            f"expected a value, a range {{min, max, step, log}} or {{choices: [...]}}, got keys {sorted(keys)}"
        )
    if raw is None:
        raise ValueError("a value is required")
    return Fixed(raw)
