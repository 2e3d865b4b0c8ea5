"""One self-contained HTML file with every view of a search: opens with no kernel and no network."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import math
import os
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_text


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _rows(rows: dict[str, Any]) -> str:
    return "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>" for k, v in rows.items())


STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 24px auto; max-width: 1150px;
       color: #222; }
h1 { margin-bottom: 4px; } .muted { color: #666; }
table.kv th { text-align: left; padding-right: 16px; font-weight: normal; color: #555; }
table.kv td { font-weight: 600; }
.table-box { overflow-x: auto; max-width: 100%; }
table.trials { border-collapse: collapse; font-size: 13px; }
table.trials th, table.trials td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
pre { background: #f6f6f6; padding: 10px; overflow-x: auto; font-size: 12px; }
"""


def write_report(results: Any, path: str | os.PathLike[str], *, evaluate: bool = True) -> Path:
    """Writes ``path``: summary, best hyperparameters, every plot, the trial table and the spec.

    Args:
        results: a :class:`~tunewidgets.engine.results.Results` or a project directory.
        path: the HTML file to write.
        evaluate: also score the best model on the test split (loads Keras).
    """
    from . import _data, _figures

    r = _data.as_results(results)
    record = r.record
    logs, cats = r.log_scaled, r.categorical
    best = record.best()
    counts = record.counts()
    summary: dict[str, Any] = {
        "search": r.name,
        "status": r.status,
        "strategy": r.strategy,
        "objective": f"{r.objective} ({r.direction})",
        "trials": f"{counts['completed']} completed, "
        + (f"{counts['pruned']} pruned, " if counts["pruned"] else "")
        + f"{counts['failed']} failed, {counts['stopped']} stopped",
    }
    ended = record.ended
    if ended is not None and ended.message and ended.reason.value in ("error", "failed", "stopped"):
        summary["why it ended"] = ended.message  # a worker's error, failed trials, a stop: said, not left out
    if best is not None:
        summary[f"best {r.objective}"] = f"{best.score:.4f} (trial {best.number})"
    if evaluate and best is not None:
        try:
            summary["best model on the test split"] = r.test_summary()  # measured in a worker process
        except (LookupError, OSError, KeyError, RuntimeError) as e:
            summary["test split"] = f"not evaluated: {e}"
    if r.curves_note:
        summary["training curves"] = r.curves_note
    figs = [_figures.curves_figure(_data.curves_data(record, r.objective))]
    pair = _data.counterpart(r.objective)
    loss = "val_loss" if r.objective != "val_loss" else "loss"
    for metric in (pair, loss):
        if metric in _data.metrics_of(record):
            figs.append(_figures.curves_figure(_data.curves_data(record, metric)))
    figs.append(_figures.best_so_far_figure(_data.best_so_far_data(record)))
    figs.append(_figures.importance_figure(_data.importance_data(record, logs, categorical_names=cats)))
    figs.append(_figures.parallel_figure(_data.parallel_data(record, logs, cats)))
    for name in _data.varying_hyperparameters(record.completed()):
        figs.append(_figures.scatter_figure(_data.scatter_data(record, name, logs, cats), r.objective))
    parts = []
    for i, fig in enumerate(figs):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}))
    wide = parts[:3]
    rest = parts[3:]
    table = _data.table_frame(record)
    table_html = (
        table.to_html(
            index=False,
            classes="trials",
            border=0,
            na_rep="",
            float_format=lambda v: f"{v:.4g}" if math.isfinite(v) else "",
        )
        if not table.empty
        else "<p>No trials.</p>"
    )
    data_report = ""
    with contextlib.suppress(OSError, ValueError, LookupError):  # no data kept (a keras-tuner folder)
        data_report = "".join(f"<li>{html.escape(line)}</li>" for line in r.dataset.report)
    best_rows = _rows(best.tuned_values()) if best is not None else "<tr><td>no trial completed</td></tr>"
    created = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    spec_html = (
        "<h2>Spec</h2><details><summary>spec.json (open it in the dashboard to run this search again)</summary>"
        f"<pre>{html.escape(json.dumps(r.spec.to_dict(), indent=2))}</pre></details>"
        if r.spec is not None
        else f"<h2>keras-tuner project</h2><p>{html.escape(str(r.directory))}, read as it is</p>"
    )
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(r.name)}: tunewidgets report</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(r.name)}</h1>
<p class="muted">tunewidgets report, {created}</p>
<table class="kv">{_rows(summary)}</table>
<h2>Best hyperparameters</h2>
<table class="kv">{best_rows}</table>
<h2>Training</h2>
{"".join(wide)}
<h2>Comparing trials</h2>
<div class="grid">{"".join(f"<div>{p}</div>" for p in rest)}</div>
<h2>Trials</h2>
<div class="table-box">{table_html}</div>
<h2>Data</h2>
<ul>{data_report}</ul>
{spec_html}
</body></html>
"""
    out = Path(path)
    atomic_write_text(out, body)
    return out
