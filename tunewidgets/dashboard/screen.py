"""One screen: the settings in a column beside Run and the live views, the settings folding to one line
from Run on (the Settings button unfolds them), so a student sees Run / Stop, the curves and the result together on a
laptop."""

from __future__ import annotations

import html
from collections.abc import Callable

from . import html as h
from . import widgets as w


class Screen:
    """The dashboard's layout: a header, the settings column (``settings``) and the main column (``main``).

    ``describe()`` gives the line shown while the settings are folded (the search's name).
    """

    def __init__(self, settings: w.Widget, main: list[w.Widget], describe: Callable[[], str]):
        self._describe = describe
        self.line = w.HTML(layout=w.Layout(display="none"))
        self.toggle = w.ToggleButton(
            value=True, description="Settings", icon="sliders", tooltip="Show or hide the settings"
        )
        self.toggle.observe(lambda change: self.show_settings(change["new"]), names="value")
        self.settings = w.VBox(
            [settings], layout=w.Layout(flex="0 1 440px", min_width="340px", max_height="720px", overflow="auto")
        )
        self.main = w.VBox(main, layout=w.shared_layout(flex="1 1 480px", min_width="0"))
        header = w.HBox(
            [
                w.HTML("<b style='font-size:115%'>tunewidgets</b>", layout=w.shared_layout(margin="0 12px 0 0")),
                self.toggle,
                self.line,
            ],
            layout=w.shared_layout(align_items="center"),
        )
        self.widget = w.VBox(
            [
                h.theme_style(),
                header,
                w.HBox(
                    [self.settings, self.main], layout=w.shared_layout(flex_flow="row wrap", align_items="flex-start")
                ),
            ]
        )
        self.widget.add_class("tunewidgets-dashboard")

    def show_settings(self, shown: bool) -> None:
        """Unfolds the settings column, or folds it to one line (as from Run on)."""
        self.settings.layout.display = None if shown else "none"
        self.line.layout.display = "none" if shown else None
        if self.toggle.value != shown:
            self.toggle.value = shown
        if not shown:
            self.line.value = f"<span style='font-size:92%'>{html.escape(self._describe())}</span>"

    @property
    def settings_shown(self) -> bool:
        return self.settings.layout.display != "none"


__all__ = ["Screen"]
