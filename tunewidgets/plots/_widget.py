"""FigureWidgets that share one copy of plotly.js.

plotly's ``FigureWidget`` is an anywidget whose front-end module is the whole plotly.js bundle
(about 5 MB), sent again as the widget state of every figure: a dashboard's six figures made
about 30 MB, which a Binder session's browser and memory feel. Figures made here send it once
per kernel: one hidden widget (:func:`_bundle`) carries the bundle, and each figure's module is two
lines that wait for that bundle and export its widget code. The figures are ``go.FigureWidget``
instances, updated and clicked as before; their messages carry null where a value is NaN or infinite
(plotly's own ``FigureWidget`` class is left as it is).

If a future plotly ships its bundle in another shape, figures fall back to plotly's own
``FigureWidget`` (each with its own copy, as before).

This module is the package's one adapter to plotly's private names: the figure's properties as plotly
keeps them (``_data``, ``_layout_obj._props``), its synced traits (``_widget_data``, ``_widget_layout``)
and traitlets' ``_trait_values``; every other module uses plotly's public API only.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import threading
from pathlib import Path
from typing import Any


def _box() -> str:
    """Where the browser keeps the shared bundle's widget code: a promise, resolved when the bundle has loaded;
    one per plotly version (two kernels of a page with different plotly versions each get their own)."""
    import plotly

    key = json.dumps(f"__tunewidgets_plotly_{plotly.__version__}__")
    return (
        f"(globalThis[{key}] ??= (() => {{"
        " let resolve; const promise = new Promise((r) => { resolve = r; }); return { promise, resolve }; })())"
    )


def figure_module() -> str:
    """Each figure's front-end module: the shared bundle's widget, once it has loaded."""
    return f"export default await {_box()}.promise;\n"


_host: Any = None
_host_lock = threading.Lock()


def figure_widget(figure: Any = None) -> Any:
    """A ``go.FigureWidget`` (of ``figure``, if given) that shares the kernel's one copy of plotly.js."""
    cls = _figure_class()
    if cls is None:
        import plotly.graph_objects as go

        return go.FigureWidget(figure) if figure is not None else go.FigureWidget()
    _ensure_bundle()
    return cls(figure) if figure is not None else cls()


def shares_bundle(fig: Any) -> bool:
    """Whether ``fig`` is one of the figures that share the bundle."""
    cls = _figure_class()
    return cls is not None and isinstance(fig, cls)


def bundle_module(source: str) -> str | None:
    """plotly's widget bundle rewritten to hand its widget code to the figures (None: not in the known shape).

    The bundle ends its code with one ``export{...}`` naming its default export; that default goes to the
    shared promise instead, and the hidden widget itself exports an empty widget (it is never shown).
    """
    start = source.rfind("export{")
    end = source.find("}", start)
    if start < 0 or end < 0:
        return None
    names = [part.strip() for part in source[start + len("export{") : end].split(",")]
    default = [m.group(1) for part in names if (m := re.fullmatch(r"([\w$]+)\s+as\s+default", part))]
    if len(default) != 1:
        return None
    kept = [part for part in names if not part.endswith(" as default")]
    rewritten = f"export{{{','.join(kept)}}};{_box()}.resolve({default[0]});export default {{}};"
    return source[:start] + rewritten + source[end + 1 :]


@functools.cache
def _bundle_class() -> Any:
    import anywidget
    import plotly.basewidget

    path = Path(plotly.basewidget.__file__).parent / "package_data" / "widgetbundle.js"
    try:
        module = bundle_module(path.read_text(encoding="utf-8"))
    except OSError:
        module = None
    if module is None:
        return None

    class PlotlyBundle(anywidget.AnyWidget):
        """plotly.js and its widget code, once per kernel, for every figure of :func:`figure_widget`."""

        _esm = module

    return PlotlyBundle


def finite(value: Any) -> Any:
    """``value`` with every float that is NaN or infinite replaced by None (a gap, in plotly), in nested dicts,
    lists and tuples. A widget message must be JSON, which has no such numbers: Jupyter would refuse to send it
    as is (a diverging trial's NaN loss, an unbounded axis range)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


@functools.cache
def _figure_class() -> Any:
    if _bundle_class() is None:
        return None
    import plotly.graph_objects as go

    # every synced trait, serialized as plotly does, then without non-finite numbers
    namespace: dict[str, Any] = {"_esm": figure_module(), "__doc__": _SHARED_DOC, "get_state": _current_state}
    for name, trait in go.FigureWidget.class_traits(sync=True).items():
        serialize = trait.metadata.get("to_json")
        if serialize is not None:
            own = copy.copy(trait)
            own.metadata = {**trait.metadata, "to_json": _finite_json(serialize)}  # plotly's own class unchanged
            namespace[name] = own
    return type("SharedFigureWidget", (go.FigureWidget,), namespace)


_SHARED_DOC = """A ``go.FigureWidget`` whose front-end module is the kernel's shared plotly.js bundle, and whose
messages carry no non-finite number."""


def _current_state(self: Any, key: Any = None, drop_defaults: bool = False) -> Any:
    """The widget's state, as the figure is now when the whole state is asked for.

    plotly syncs a figure's data and layout only when the figure is first displayed; every later change
    travels as a one-off message. A view that attaches afterwards (a reloaded page, Voila, an embedded
    notebook) asks for the whole state and would get the figure as first displayed. Copying the figure
    into its synced traits at every change would send all of it again each time (megabytes a redraw at a
    thousand trials); copied here, it travels only to the view that asks.
    """
    import plotly.graph_objects as go

    if key is None and "_data" in self.__dict__:  # (not while plotly's constructor opens the widget)
        values = self._trait_values  # set without a notification: that would send the copy to every view
        values["_widget_data"], values["_widget_layout"] = _figure_now(self)
    return go.FigureWidget.get_state(self, key=key, drop_defaults=drop_defaults)


def _figure_now(fig: Any) -> tuple[Any, Any]:
    """Copies of a FigureWidget's traces and layout as they are now, in the shape of its synced traits."""
    return copy.deepcopy(fig._data), copy.deepcopy(fig._layout_obj._props)


def send_whole_figure(fig: Any) -> None:
    """Copies a FigureWidget's figure as it is now into its synced traits, which sends all of it to every view
    (what plotly's own ``FigureWidget._repr_mimebundle_`` does when the figure is displayed)."""
    data, layout = _figure_now(fig)
    fig._widget_layout = layout
    fig._widget_data = data


def _finite_json(serialize: Any) -> Any:
    def to_json(value: Any, widget: Any) -> Any:
        return finite(serialize(value, widget))

    return to_json


def _ensure_bundle() -> Any:
    """The hidden widget that carries the bundle: made once, again if it was closed."""
    global _host
    with _host_lock:
        if _host is None or getattr(_host, "comm", None) is None:
            _host = _bundle_class()()
        return _host


__all__ = ["figure_module", "bundle_module", "figure_widget", "finite", "send_whole_figure", "shares_bundle"]
