"""Rows of widgets that wrap instead of squeezing: no label is cut on a laptop's screen (1366 x 768)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w


def row(*children: w.Widget, **layout: Any) -> w.HBox:
    """An HBox whose children keep their width and go to the next line where the row is too narrow.

    A flex row shrinks its children to fit, and a button or a label shrunk below its text shows it cut
    ("Evalu...", "choi..."); here each child keeps its own width (a button's is its text's, unless set).
    """
    for child in children:
        if isinstance(child, (w.Button, w.FileUpload, w.Label)) and child.layout.width is None:
            child.layout.width = "auto"
        if child.layout.flex is None:
            child.layout.flex = "0 0 auto"
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", align_items="center", **layout))
