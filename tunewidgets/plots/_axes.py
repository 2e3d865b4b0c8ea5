"""One axis of the parallel coordinates, from a hyperparameter's values (categories, log scale, missing values)."""

from __future__ import annotations

import math
from typing import Any, NamedTuple


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Dimension(NamedTuple):
    label: str
    values: tuple[float, ...]
    tickvals: tuple[float, ...] | None = None
    ticktext: tuple[str, ...] | None = None


def _encode(name: str, values: list[Any], log: bool, categories: bool = False) -> Dimension:
    """One axis of the parallel coordinates. A trial without a value (a conditional hyperparameter its other
    values left out) gets its own "n/a" position below the others: plotly draws neither NaN nor null there."""
    present = [v for v in values if v is not None]
    missing = len(present) < len(values)
    if categories and present and all(_is_number(v) for v in present):
        # a few numbers chosen among: one tick each, in numeric order, evenly spaced
        order = sorted(set(present))
        index: dict[Any, int] = {v: i + missing for i, v in enumerate(order)}
        return Dimension(
            name,
            tuple(float(index[v]) if v is not None else 0.0 for v in values),
            tuple(float(i) for i in range(len(order) + missing)),
            ("n/a",) * missing + tuple(_fmt(v) for v in order),
        )
    if present and all(_is_number(v) for v in present):
        if log and all(v > 0 for v in present):
            logs = [math.log10(v) for v in present]
            lo, hi = math.floor(min(logs)), math.ceil(max(logs))
            na = lo - 1.0
            enc = tuple(math.log10(v) if v is not None else na for v in values)
            ticks = tuple(float(e) for e in range(lo, hi + 1))
            labels = tuple(f"1e{int(e)}" for e in ticks)
            if missing:
                ticks, labels = (na, *ticks), ("n/a", *labels)
            return Dimension(f"{name} (log)", enc, ticks, labels)
        if not missing:
            return Dimension(name, tuple(float(v) for v in values))
        low, high = float(min(present)), float(max(present))
        na = low - max(high - low, abs(low), 1.0) * 0.25
        ticks = tuple(sorted({low, (low + high) / 2, high}))
        return Dimension(
            name,
            tuple(float(v) if v is not None else na for v in values),
            (na, *ticks),
            ("n/a", *(_fmt(t) for t in ticks)),
        )
    names = sorted({str(v) for v in values}, key=lambda s: (s == "None", s))
    positions = {c: i for i, c in enumerate(names)}
    return Dimension(
        name,
        tuple(float(positions[str(v)]) for v in values),
        tuple(float(i) for i in range(len(names))),
        tuple("n/a" if c == "None" else c for c in names),
    )


__all__ = ["Dimension", "_encode", "_fmt", "_is_number"]
