"""The dashboard's widgets, light on the wire: ipywidgets' own, sharing one layout per look and one style per kind.

Each ipywidgets widget opens its model with a message to the page, and by default one more for a layout and one for
a style of its own. A dashboard is some 600 widgets: built that way it sent about 2,000 messages at once, and where
the Jupyter server fell behind reading them (a busy 2-core machine) the kernel's IOPub socket, which queues about
1,000 messages for a slow reader and drops the rest, lost some: widgets whose models never reached the page
("widget model not found", a settings column not drawn). Built from this module, a widget sends one message:

- with no ``layout``, or a ``layout`` given as a dict, it shares a frozen :class:`SharedLayout` with every widget of
  the same look; a widget whose layout changes later (shown and hidden through ``display``) gets one of its own,
  ``layout=Layout(...)``; changing a shared one raises ``TypeError`` instead of changing every widget that shares it;
- with no ``style``, or a ``style`` given as a dict, it shares one style of its kind with the same properties,
  frozen as well.

Use it as ipywidgets is used: ``from . import widgets as w``; ``w.HTML(...)``, ``w.VBox(...)``, ``w.Layout(...)``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar

import ipywidgets
from ipywidgets import Layout, Widget

W = TypeVar("W", bound=Widget)

_lock = threading.Lock()
_shared: dict[tuple[Any, ...], Widget] = {}


class _Shared:
    """A layout or style that many widgets share: frozen once made (a change would move every widget sharing it)."""

    _frozen = False

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen and name in getattr(self, "keys", ()) and not name.startswith("_"):  # its look, not its comm
            what = "layout" if isinstance(self, Layout) else "style"
            raise TypeError(
                f"this {what} is shared by many widgets, its {name} is not changed: give the widget a {what} of its "
                f"own ({what}={type(self).__mro__[2].__name__}(...)) where it changes"
            )
        super().__setattr__(name, value)


class SharedLayout(_Shared, Layout):
    """A layout that many widgets share (``shared_layout``)."""


_shared_classes: dict[type[Widget], type[Widget]] = {Layout: SharedLayout}


def _shared_class(cls: type[W]) -> type[W]:
    """``cls``, frozen once made: a subclass with the same model (the page sees ipywidgets' own)."""
    if cls not in _shared_classes:
        meta: Any = type(cls)
        _shared_classes[cls] = meta(f"Shared{cls.__name__}", (_Shared, cls), {"__module__": __name__})
    return _shared_classes[cls]


def _one(cls: type[W], **props: Any) -> W:
    """The one shared ``cls`` with these props."""
    key = (cls, *sorted(props.items()))
    with _lock:
        widget = _shared.get(key)
        if widget is None or widget.comm is None:  # none yet, or closed (Widget.close_all())
            widget = _shared_class(cls)(**props)
            widget._frozen = True
            _shared[key] = widget
        return widget


def shared_layout(**props: Any) -> SharedLayout:
    """The layout of this look that widgets share (the same props give the same layout)."""
    layout = _one(Layout, **props)
    assert isinstance(layout, SharedLayout)
    return layout


def _style_class(cls: type[Widget]) -> type[Widget] | None:
    trait = cls.class_traits().get("style")
    return getattr(trait, "klass", None) if trait is not None else None


def shared_style(cls: type[Widget], **props: Any) -> Widget:
    """The style that widgets of class ``cls`` with these props share."""
    style = _style_class(cls)
    if style is None:
        raise TypeError(f"{cls.__name__} has no style")
    return _one(style, **props)


def _lean(cls: type[W]) -> type[W]:
    styled = _style_class(cls) is not None

    def __init__(self: Widget, *args: Any, **kwargs: Any) -> None:
        layout = kwargs.get("layout")
        if layout is None or isinstance(layout, dict):
            kwargs["layout"] = shared_layout(**(layout or {}))
        if styled:
            style = kwargs.get("style")
            if style is None or isinstance(style, dict):
                kwargs["style"] = shared_style(cls, **(style or {}))
        cls.__init__(self, *args, **kwargs)

    # the same model and view as ipywidgets' class: only the defaults of layout and style differ
    meta: Any = type(cls)
    lean: type[W] = meta(cls.__name__, (cls,), {"__init__": __init__, "__module__": __name__, "__doc__": cls.__doc__})
    return lean


if TYPE_CHECKING:  # to a type checker the lean classes are ipywidgets' own
    from ipywidgets import (
        HTML,
        Box,
        Button,
        Checkbox,
        Combobox,
        Dropdown,
        FileUpload,
        FloatsInput,
        FloatText,
        HBox,
        IntProgress,
        IntsInput,
        IntText,
        Label,
        SelectMultiple,
        Tab,
        TagsInput,
        Text,
        Textarea,
        ToggleButton,
        ToggleButtons,
        VBox,
    )
else:
    Box = _lean(ipywidgets.Box)
    Button = _lean(ipywidgets.Button)
    Checkbox = _lean(ipywidgets.Checkbox)
    Combobox = _lean(ipywidgets.Combobox)
    Dropdown = _lean(ipywidgets.Dropdown)
    FileUpload = _lean(ipywidgets.FileUpload)
    FloatText = _lean(ipywidgets.FloatText)
    FloatsInput = _lean(ipywidgets.FloatsInput)
    HBox = _lean(ipywidgets.HBox)
    HTML = _lean(ipywidgets.HTML)
    IntProgress = _lean(ipywidgets.IntProgress)
    IntText = _lean(ipywidgets.IntText)
    IntsInput = _lean(ipywidgets.IntsInput)
    Label = _lean(ipywidgets.Label)
    SelectMultiple = _lean(ipywidgets.SelectMultiple)
    Tab = _lean(ipywidgets.Tab)
    TagsInput = _lean(ipywidgets.TagsInput)
    Text = _lean(ipywidgets.Text)
    Textarea = _lean(ipywidgets.Textarea)
    ToggleButton = _lean(ipywidgets.ToggleButton)
    ToggleButtons = _lean(ipywidgets.ToggleButtons)
    VBox = _lean(ipywidgets.VBox)

__all__ = [
    "HTML",
    "Box",
    "Button",
    "Checkbox",
    "Combobox",
    "Dropdown",
    "FileUpload",
    "FloatText",
    "FloatsInput",
    "HBox",
    "IntProgress",
    "IntText",
    "IntsInput",
    "Label",
    "Layout",
    "SelectMultiple",
    "SharedLayout",
    "Tab",
    "TagsInput",
    "Text",
    "Textarea",
    "ToggleButton",
    "ToggleButtons",
    "VBox",
    "Widget",
    "shared_layout",
    "shared_style",
]
