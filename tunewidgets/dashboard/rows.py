"""Rows of widgets that wrap instead of squeezing: no label is cut on a laptop's screen (1366 x 768)."""

from __future__ import annotations

from typing import Any

from . import widgets as w

#: the dashboard's style sheet keeps a row's children at their own width (``html.theme_style``)
ROW_CLASS = "tunewidgets-row"


def row(*children: w.Widget, **layout: Any) -> w.HBox:
    """An HBox whose children keep their width and go to the next line where the row is too narrow.

    A flex row shrinks its children to fit, and a button or a label shrunk below its text shows it cut
    ("Evalu...", "choi..."); here each child keeps its own width (a button's is its text's, unless its layout sets
    one). The rule is the style sheet's, on the row's class: setting it on each child's layout would send a message
    per child (and change layouts that widgets share).
    """
    return w.HBox(
        list(children),
        layout=w.shared_layout(flex_flow="row wrap", align_items="center", **layout),
        _dom_classes=(ROW_CLASS,),
    )
