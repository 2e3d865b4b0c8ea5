"""A field's inputs: its label, one input for a value of its kind, and typed text read as a number."""

from __future__ import annotations

import html
import math
from typing import Any

from ..spec.fields import FieldInfo
from . import widgets as w

LABEL_WIDTH = "190px"


class ParseError(ValueError):
    """A control holds text that is not a value (a step that is not a number...)."""


def label(info: FieldInfo, name: str) -> w.HTML:
    """A field's name, its help as the tooltip (the ``?`` marks that there is one)."""
    text = html.escape(info.label or name.replace("_", " ").capitalize())
    tip = html.escape(info.help, quote=True)
    return w.HTML(
        f'<span title="{tip}" style="cursor:help">{text} <span style="display:inline-block;width:13px;height:13px;'
        'line-height:13px;border-radius:50%;border:1px solid #999;color:#777;font-size:9px;text-align:center">'
        "?</span></span>",
        layout=w.shared_layout(width=LABEL_WIDTH, min_width=LABEL_WIDTH),
        tooltip=info.help,
    )


def scalar_input(info: FieldInfo, value: Any, tip: str, width: str = "140px") -> w.Widget:
    """One input for one value of the field's kind: a checkbox, a dropdown of its options, a number or text."""
    layout = w.shared_layout(width=width)
    if info.kind == "bool":
        return w.Checkbox(value=bool(value), indent=False, tooltip=tip, layout=w.shared_layout(width="auto"))
    if info.kind == "str" and info.options:
        return w.Dropdown(
            options=list(info.options),
            value=value if value in info.options else info.options[0],
            tooltip=tip,
            layout=layout,
        )
    if info.kind == "int":
        return w.IntText(value=int(value) if is_number(value) else 0, tooltip=tip, layout=layout)
    if info.kind == "float":
        return w.FloatText(value=float(value) if is_number(value) else 0.0, tooltip=tip, layout=layout)
    return w.Text(
        value="" if value is None else str(value),
        tooltip=tip,
        layout=w.shared_layout(width="320px"),
        continuous_update=False,
    )


def is_number(v: Any) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_number(text: str, kind: str, what: str) -> float | int | None:
    """Typed text as a number of ``kind`` (``None`` where empty); ``ParseError`` naming ``what`` otherwise."""
    text = text.strip()
    if not text or text.lower() == "none":
        return None
    try:
        number = float(text)
    except ValueError:
        raise ParseError(f"{what}: '{text}' is not a number") from None
    if kind == "int":
        if not number.is_integer():
            raise ParseError(f"{what}: '{text}' is not a whole number")
        return int(number)
    return number
