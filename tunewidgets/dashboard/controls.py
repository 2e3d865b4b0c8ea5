"""One control per spec field, generated from its :class:`FieldInfo`.

A tunable knob gets a fixed / range / choices switch with the right inputs for
each; a plain setting gets one input. Each control reads back a spec value,
shows a validation message under itself, and carries the field's help text as
its tooltip.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any, NamedTuple

from ..spec.fields import FieldInfo
from ..spec.knobs import Choice, Fixed, Knob, Range
from . import widgets as w
from .inputs import LABEL_WIDTH, is_number, label, parse_number, scalar_input
from .rows import row


class Control:
    """Base: a row with a label, inputs and a message line."""

    path: str
    #: the control's row and message: its layout is its own (the control is shown and hidden)
    widget: w.Widget

    def __init__(self, section: str, name: str, info: FieldInfo):
        self.section, self.name, self.info = section, name, info
        self.path = f"{section}.{name}"
        self.error = w.HTML("", layout=w.shared_layout(margin="0 0 0 " + LABEL_WIDTH))
        self.lock_note = w.HTML("")
        self._callbacks: list[Callable[[Control], None]] = []

    def on_change(self, callback: Callable[[Control], None]) -> None:
        self._callbacks.append(callback)

    def _changed(self, _change: Any = None) -> None:
        for callback in self._callbacks:
            callback(self)

    def _watch(self, *widgets: w.Widget) -> None:
        for widget in widgets:
            widget.observe(self._changed, names="value")

    def show_error(self, message: str | None) -> None:
        self._message = message or ""
        self.error.value = f'<span style="color:#c0392b">&#9888; {html.escape(message)}</span>' if message else ""

    _message = ""

    @property
    def message(self) -> str:
        """The validation message shown under the control (plain text; empty when fine)."""
        return self._message

    def set_visible(self, visible: bool) -> None:
        self.widget.layout.display = None if visible and not self.hidden else "none"

    #: a lesson hides this field (it stays hidden whatever else would show it)
    hidden = False
    #: a lesson fixed this field: shown, greyed out, not editable
    locked = False

    def inputs(self) -> list[w.Widget]:
        """The widgets a person edits the value with."""
        raise NotImplementedError

    def set_lesson(self, *, locked: bool, hidden: bool) -> None:
        """A teacher's lesson: a locked field is shown greyed out with a note, a hidden one not at all."""
        self.locked, self.hidden = locked, hidden
        for widget in self.inputs():
            widget.disabled = locked
        self.lock_note.value = (
            '<span style="color:var(--jp-ui-font-color2, #777);font-size:90%" '
            'title="Your teacher fixed this setting for the exercise">&#128274; fixed by your teacher</span>'
            if locked
            else ""
        )
        if hidden:
            self.widget.layout.display = "none"

    @property
    def visible(self) -> bool:
        return self.widget.layout.display != "none"

    def get(self) -> Any:
        raise NotImplementedError

    def set(self, value: Any) -> None:
        raise NotImplementedError


class _RangeInputs(NamedTuple):
    """A knob's range: its inputs and the row that holds them."""

    low: w.Widget
    high: w.Widget
    step: w.Text
    log: w.Checkbox
    box: w.HBox


class KnobControl(Control):
    """A tunable knob: fixed value, range (min, max, step, log) or choices."""

    def __init__(self, section: str, name: str, info: FieldInfo, value: Knob):
        super().__init__(section, name, info)
        numeric = info.kind in ("int", "float")
        modes = (
            [("fixed", "fixed"), ("range", "range"), ("choices", "choices")]
            if numeric
            else [("fixed", "fixed"), ("choices", "choices")]
        )
        tip = info.help
        self.mode = w.ToggleButtons(
            options=modes,
            value="fixed",
            tooltip=tip,
            style={"button_width": "74px"},
            layout=w.shared_layout(width="auto"),
        )
        self.fixed = scalar_input(info, _first(value), tip)
        self._numeric = numeric
        # the range's and the choices' inputs are made when first shown or read: most knobs stay fixed, and a
        # dashboard's widgets are each a message to the page (widgets.py)
        self._range: _RangeInputs | None = None
        self._choices: w.Widget | None = None
        self._inputs = w.HBox([])
        self.widget = w.VBox(
            [row(label(info, name), self.mode, self._inputs, self.lock_note), self.error], layout=w.Layout()
        )
        self.set(value)
        self.mode.observe(self._mode_changed, names="value")
        self._watch(self.fixed)

    def _range_inputs(self) -> _RangeInputs:
        if self._range is None:
            if not self._numeric:
                raise AttributeError(f"{self.path} is not a number: it has no range")
            low = scalar_input(self.info, 0, "smallest value")
            high = scalar_input(self.info, 0, "largest value")
            step = w.Text(
                value="",
                placeholder="none",
                tooltip="distance between values (a factor on a log scale); empty for any value",
                layout=w.shared_layout(width="80px"),
                continuous_update=False,
            )
            log = w.Checkbox(
                value=False,
                description="log scale",
                indent=False,
                tooltip="sample evenly in orders of magnitude (1e-4, 1e-3, 1e-2...)",
                layout=w.shared_layout(width="auto"),
            )
            box = row(w.Label("min"), low, w.Label("max"), high, w.Label("step"), step, log)
            self._range = _RangeInputs(low, high, step, log, box)
            self._made(low, high, step, log)
        return self._range

    def _made(self, *widgets: w.Widget) -> None:
        for widget in widgets:
            widget.disabled = self.locked
        self._watch(*widgets)

    @property
    def min(self) -> w.Widget | None:
        """The range's smallest value (``None`` for a knob that is not a number)."""
        return self._range_inputs().low if self._numeric else None

    @property
    def max(self) -> w.Widget | None:
        """The range's largest value (``None`` for a knob that is not a number)."""
        return self._range_inputs().high if self._numeric else None

    @property
    def step(self) -> w.Text:
        """The range's step, as typed (empty: any value)."""
        return self._range_inputs().step

    @property
    def log(self) -> w.Checkbox:
        """Whether the range is searched on a log scale."""
        return self._range_inputs().log

    @property
    def choices(self) -> w.Widget:
        """The values to choose from."""
        if self._choices is None:
            self._choices = self._choices_widget(self.info)
            self._made(self._choices)
        return self._choices

    def inputs(self) -> list[w.Widget]:
        r = self._range
        made = [r.low, r.high, r.step, r.log] if r is not None else []
        return [self.mode, self.fixed, *made, *([self._choices] if self._choices is not None else [])]

    def _choices_widget(self, info: FieldInfo) -> w.Widget:
        tip = info.help
        if info.kind == "int":
            return w.IntsInput(value=[], tooltip=tip, layout=w.shared_layout(width="320px"))
        if info.kind == "float":
            return w.FloatsInput(value=[], format=".4g", tooltip=tip, layout=w.shared_layout(width="320px"))
        if info.kind == "bool":
            return w.SelectMultiple(
                options=[("true", True), ("false", False)], rows=2, tooltip=tip, layout=w.shared_layout(width="140px")
            )
        options = list(info.options or ())
        return w.SelectMultiple(
            options=options, rows=min(len(options), 5), tooltip=tip, layout=w.shared_layout(width="180px")
        )

    def _mode_changed(self, _change: Any = None) -> None:
        self._show_mode()
        self._changed()

    def _show_mode(self) -> None:
        mode = self.mode.value
        self._inputs.children = (
            [self.fixed] if mode == "fixed" else [self._range_inputs().box] if mode == "range" else [self.choices]
        )

    def get(self) -> Knob:
        mode = self.mode.value
        if mode == "fixed":
            return Fixed(self.fixed.value)
        if mode == "range":
            assert self.min is not None and self.max is not None  # a range is offered for numbers only
            step = parse_number(self.step.value, self.info.kind if not self.log.value else "float", "step")
            return Range(self.min.value, self.max.value, step, bool(self.log.value))
        return Choice(tuple(self.choices.value))

    def set(self, value: Knob) -> None:
        if isinstance(value, Fixed):
            self.mode.value = "fixed"
            self.fixed.value = value.value
        elif isinstance(value, Range):
            self.mode.value = "range"
            assert self.min is not None and self.max is not None
            self.min.value, self.max.value = value.min, value.max
            self.step.value = "" if value.step is None else f"{value.step:g}"
            self.log.value = bool(value.log)
        elif isinstance(value, Choice):
            self.mode.value = "choices"
            self.choices.value = list(value.options) if self.info.kind in ("int", "float") else tuple(value.options)
        self._show_mode()


class SettingControl(Control):
    """A plain setting: one input (text, number, dropdown, checkbox, column names)."""

    def __init__(self, section: str, name: str, info: FieldInfo, value: Any):
        super().__init__(section, name, info)
        tip = info.help
        if info.kind == "strlist":
            self.input: w.Widget = w.TagsInput(
                value=list(value or []),
                allowed_tags=[],
                allow_duplicates=False,
                tooltip=tip,
                layout=w.shared_layout(width="420px"),
            )
        elif info.nullable and info.kind in ("int", "float"):
            self.input = w.Text(
                value="" if value is None else str(value),
                placeholder="empty",
                tooltip=tip,
                layout=w.shared_layout(width="140px"),
                continuous_update=False,
            )
        elif name == "target":
            self.input = w.Combobox(
                value=value or "",
                options=[],
                placeholder="column name",
                ensure_option=False,
                tooltip=tip,
                layout=w.shared_layout(width="320px"),
                continuous_update=False,
            )
        elif info.kind == "int":  # a number box that keeps what is typed: 2.7 epochs is marked, not read as 2
            self.input = w.FloatText(value=float(value) if is_number(value) else 0.0, step=1, tooltip=tip,
                                     layout=w.shared_layout(width="140px"))  # fmt: skip
        else:
            self.input = scalar_input(info, value, tip)
        self.widget = w.VBox([row(label(info, name), self.input, self.lock_note), self.error], layout=w.Layout())
        self._watch(self.input)

    def inputs(self) -> list[w.Widget]:
        return [self.input]

    def get(self) -> Any:
        info, value = self.info, self.input.value
        if info.kind == "strlist":
            return tuple(value) or None
        if info.nullable and info.kind in ("int", "float"):
            return parse_number(value, info.kind, "value")
        if info.nullable and info.kind == "str":
            return value.strip() or None
        return value

    def set(self, value: Any) -> None:
        info = self.info
        if info.kind == "strlist":
            self.input.value = list(value or [])
        elif info.nullable and info.kind in ("int", "float") or info.kind == "str" and not info.options:
            self.input.value = "" if value is None else str(value)
        else:
            self.input.value = value

    def set_columns(self, columns: list[str]) -> None:
        """Offers a CSV file's columns (target and feature columns)."""
        if isinstance(self.input, w.Combobox):
            self.input.options = tuple(columns)
        elif isinstance(self.input, w.TagsInput):
            self.input.allowed_tags = list(columns)


def _first(value: Any) -> Any:
    if isinstance(value, Fixed):
        return value.value
    if isinstance(value, Range):
        return value.min
    if isinstance(value, Choice) and value.options:
        return value.options[0]
    return value


def make_control(section: str, name: str, info: FieldInfo, value: Any) -> Control:
    if info.tunable:
        return KnobControl(section, name, info, value)
    return SettingControl(section, name, info, value)


def to_json_form(raw: dict[str, Any]) -> dict[str, Any]:
    """Control values (knob objects, tuples), by section, in the spec file's JSON form."""
    out: dict[str, Any] = {"name": raw["name"]}
    for section, fields in raw.items():
        if section == "name":
            continue
        out[section] = {
            k: (v.to_json() if isinstance(v, (Fixed, Range, Choice)) else list(v) if isinstance(v, tuple) else v)
            for k, v in fields.items()
        }
    return out
