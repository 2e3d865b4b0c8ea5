"""Your own model in the dashboard: one control per hyperparameter your hypermodel declares.

The hyperparameters are found by building the hypermodel in a worker process
(:func:`tunewidgets.engine.own_model.discover_space`, in a background thread: the kernel stays free, and the
worker it starts is warm for Run). Each becomes a knob control: an ``Int`` or ``Float`` a range (its bounds,
step and log sampling, narrowed or widened), a ``Choice`` or ``Boolean`` choices (untick some), and the
control's "fixed" mode fixes it. A conditional one is shown under its parent, saying when it applies. What
differs from the hypermodel's own declaration becomes the spec's ``hypermodel.hyperparameters`` (keras-tuner's
``hyperparameters=`` overrides).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

from ..engine.own_model import Packed, discover_space
from ..errors import Issue, SpecError
from ..spec.fields import FieldInfo
from ..spec.hyper import HyperModelSpec, conditions_text, override_issues
from ..spec.knobs import Choice, Fixed, Knob, Range
from . import widgets as w
from .controls import KnobControl
from .inputs import ParseError

#: the section name of the controls' paths (``hypermodel.hyperparameters.units``)
PREFIX = "hypermodel.hyperparameters"


def declared_knob(entry: dict[str, Any]) -> tuple[Knob, FieldInfo]:
    """A discovered hyperparameter as the knob it declares, and the control's description of it."""
    kind, cfg = entry["class_name"], entry["config"]
    name, when = cfg["name"], conditions_text(entry)
    where = f" ({when})" if when else ""
    if kind in ("Int", "Float"):
        number = "int" if kind == "Int" else "float"
        step = cfg.get("step")
        knob: Knob = Range(cfg["min_value"], cfg["max_value"], step, cfg.get("sampling") == "log")
        tip = f"{kind} from {cfg['min_value']:g} to {cfg['max_value']:g}{where}: narrow or widen it, or fix it"
        return knob, FieldInfo(kind=number, tunable=True, label=name, help=tip)
    if kind == "Boolean":
        return Choice((True, False)), FieldInfo(kind="bool", tunable=True, label=name, help=f"Boolean{where}")
    if kind == "Fixed":
        value = cfg["value"]
        number = "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "float"
        number = number if isinstance(value, (int, float)) else "str"
        options = (value,) if number == "str" else None
        return Fixed(value), FieldInfo(kind=number, tunable=True, options=options, label=name, help=f"Fixed{where}")
    values = list(cfg.get("values", []))
    if all(isinstance(v, bool) for v in values):
        number = "bool"
    elif all(isinstance(v, int) for v in values):
        number = "int"
    elif all(isinstance(v, (int, float)) for v in values):
        number = "float"
    else:
        number = "str"
    options = tuple(values) if number == "str" else None
    tip = f"Choice of {', '.join(str(v) for v in values)}{where}: untick some, or fix one"
    return Choice(tuple(values)), FieldInfo(kind=number, tunable=True, options=options, label=name, help=tip)


class HyperForm:
    """The controls of a hypermodel's hyperparameters, once found; ``on_change()`` after every change."""

    def __init__(self, packed: Packed, on_change: Callable[[], None], *, overrides: dict[str, Knob] | None = None):
        self.packed = packed
        self._on_change = on_change
        #: the spec's overrides: they fill the controls once found; one naming a hyperparameter the hypermodel
        #: does not declare is kept, so its problem is marked and Run waits, as ``Search`` refuses the same spec
        self._pending = dict(overrides or {})
        self.space: list[dict[str, Any]] | None = None
        self.failure = ""
        self.declared: dict[str, Knob] = {}
        self.controls: dict[str, KnobControl] = {}
        self.status = w.HTML(
            f"Finding the hyperparameters of <code>{html.escape(packed.name)}</code> "
            "(building it once in a worker process)..."
        )
        self.box = w.VBox([self.status], layout=w.shared_layout(padding="6px"))
        self._thread = threading.Thread(target=self._discover, name="tunewidgets:discover", daemon=True)

    def start(self) -> None:
        """Starts finding the hyperparameters in the background (once the form around is built: a space found
        before, in this process, is there at once)."""
        self._thread.start()

    @property
    def discovering(self) -> bool:
        """Whether the hyperparameters are still being found (a worker builds the hypermodel)."""
        return self._thread.is_alive() or self._thread.ident is None

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the hyperparameters to be found (or the build to fail); ``False`` on timeout."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _discover(self) -> None:
        try:
            space = discover_space(self.packed)
        except SpecError as e:
            self.failure = "; ".join(i.message for i in e.issues)
            self.status.value = f'<span style="color:#c0392b">&#9888; {html.escape(self.failure)}</span>'
        except Exception as e:  # noqa: BLE001 - shown next to the controls, never a traceback in the kernel
            self.failure = f"{self.packed.name}'s hyperparameters could not be found: {type(e).__name__}: {e}"
            self.status.value = f'<span style="color:#c0392b">&#9888; {html.escape(self.failure)}</span>'
        else:
            self.set_space(space)
        self._on_change()

    def set_space(self, space: list[dict[str, Any]]) -> None:
        """One control per hyperparameter of ``space`` (keras-tuner's configs), conditional ones indented."""
        self.space = space
        self.declared, self.controls = {}, {}
        rows: list[w.Widget] = []
        for entry in space:
            name = entry["config"]["name"]
            knob, info = declared_knob(entry)
            self.declared[name] = knob
            control = KnobControl("hypermodel.hyperparameters", name, info, self._pending.get(name, knob))
            control.on_change(lambda _c: self._on_change())
            if entry["config"].get("conditions"):
                control.widget.layout.margin = "0 0 0 24px"
                rows.append(
                    w.HTML(f'<span style="margin-left:24px;color:#777">{html.escape(conditions_text(entry))}:</span>')
                )
            self.controls[name] = control
            rows.append(control.widget)
        n = len(space)
        self.status.value = (
            f"<b>{html.escape(self.packed.name)}</b> declares {n} hyperparameter{'s' if n != 1 else ''}: change a "
            "range, untick choices, or fix a value; what you leave is searched as it declares it."
        )
        self.box.children = [self.status, *rows]

    def read(self) -> tuple[dict[str, Knob], list[Issue]]:
        """The overrides (what differs from the hypermodel's own declarations) and the controls' problems."""
        overrides: dict[str, Knob] = {}
        issues: list[Issue] = []
        for name, control in self.controls.items():
            try:
                knob = control.get()
            except (ParseError, ValueError) as e:
                issues.append(Issue(control.path, str(e)))
                continue
            if knob != self.declared[name]:
                overrides[name] = knob
        if self.space is not None:
            overrides.update((n, k) for n, k in self._pending.items() if n not in self.controls)
        if self.failure:
            issues.append(Issue("hypermodel", self.failure))
        elif self.space is None:
            issues.append(Issue("hypermodel", f"finding the hyperparameters of {self.packed.name}..."))
        else:
            issues += override_issues(self.space, HyperModelSpec(self.packed.name, tuple(overrides.items())))
        return overrides, issues

    def set_overrides(self, overrides: dict[str, Knob]) -> None:
        """Fills the controls from a spec's overrides (the others back to what the hypermodel declares)."""
        self._pending = dict(overrides)
        if self.space is None:
            return
        for name, control in self.controls.items():
            control.set(overrides.get(name, self.declared[name]))


__all__ = ["HyperForm", "PREFIX", "declared_knob"]
