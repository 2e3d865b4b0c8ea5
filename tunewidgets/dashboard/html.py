"""Small pieces of HTML the dashboard's panels share (every value escaped)."""

from __future__ import annotations

import html
from typing import Any

ERROR = "#c0392b"
WARNING = "#b9770e"


def fmt(value: Any) -> str:
    """A value for a table cell: 4 significant digits for floats."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def table(rows: dict[str, Any]) -> str:
    """A two-column table: names and values."""
    cells = "".join(
        f"<tr><td style='padding-right:12px'>{html.escape(str(k))}</td><td><b>{fmt(v)}</b></td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


def inline(values: dict[str, Any]) -> str:
    """``name=value, name=value``."""
    return ", ".join(f"{html.escape(k)}={fmt(v)}" for k, v in values.items())


def error(text: str) -> str:
    """Text in the error colour."""
    return f'<span style="color:{ERROR}">{html.escape(text)}</span>'


def problems(lines: list[str]) -> str:
    """One warning-signed line per problem."""
    return "".join(f'<div style="color:{ERROR}">&#9888; {html.escape(line)}</div>' for line in lines)


def notes(lines: list[str]) -> str:
    """One line per note (a budget that cannot work as hoped, disk space)."""
    return "".join(f'<div style="color:{WARNING}">&#9888; {html.escape(line)}</div>' for line in lines)


def hint(text: str) -> str:
    """A line that explains, in the muted colour of help text."""
    return f'<div style="color:var(--jp-ui-font-color2, #666);margin:4px 0">{html.escape(text)}</div>'


def bullets(lines: list[str]) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f"<ul style='margin:2px 0'>{items}</ul>" if lines else ""


def code(path: Any) -> str:
    return f"<code>{html.escape(str(path))}</code>"


def markdown(text: str) -> str:
    """A lesson's notes: Markdown as HTML, raw HTML in it escaped (CommonMark, by markdown-it-py)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).render(text)
    return (
        f'<div style="border-left:3px solid var(--jp-brand-color1, #1976d2);padding:2px 10px;margin:4px 0">{body}</div>'
    )


def theme_style() -> Any:
    """A style sheet for the dashboard: the plots' backgrounds and text follow the JupyterLab theme (light or
    dark) through its CSS variables, as the widgets around them do; tabs show their whole labels; a row's children
    keep their width."""
    from . import widgets as w
    from .rows import ROW_CLASS

    row = f".tunewidgets-dashboard .{ROW_CLASS}"
    return w.HTML(
        "<style>"
        ".tunewidgets-dashboard .js-plotly-plot .main-svg{background:transparent !important}"
        ".tunewidgets-dashboard .js-plotly-plot .bg{fill:transparent !important}"
        ".tunewidgets-dashboard .js-plotly-plot text{fill:var(--jp-ui-font-color1,#222) !important}"
        ".tunewidgets-dashboard .js-plotly-plot .gridlayer path,"
        ".tunewidgets-dashboard .js-plotly-plot .zerolinelayer path"
        "{stroke:var(--jp-border-color2,#ddd) !important}"
        ".tunewidgets-dashboard .js-plotly-plot .legend .bg{fill:transparent !important}"
        # tabs show their whole label: as wide as their text, wrapping to a second row in a narrow column
        ".tunewidgets-dashboard .widget-tab>.lm-TabBar{height:auto;min-height:var(--jp-widgets-horizontal-tab-height)}"
        ".tunewidgets-dashboard .widget-tab>.lm-TabBar .lm-TabBar-content{flex-wrap:wrap;row-gap:2px}"
        ".tunewidgets-dashboard .widget-tab>.lm-TabBar .lm-TabBar-tab{flex:0 0 auto;min-width:0;max-width:none}"
        ".tunewidgets-dashboard .widget-tab>.lm-TabBar .lm-TabBar-tabLabel{overflow:visible;text-overflow:clip}"
        # a row's children keep their width, buttons and labels their text's, unless their layout says (rows.py)
        f"{row}>*{{flex:0 0 auto}}"
        f"{row}>.widget-button,{row}>.widget-upload,{row}>.widget-label{{width:auto}}"
        "</style>",
        layout=w.shared_layout(display="none"),
    )
