"""Dashboards made from what is already there: a search's folder (``Dashboard.open``) and your own keras-tuner
tuner (``Dashboard.from_tuner``)."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

from ..engine import load
from ..engine.folder.project import Project
from ..engine.from_tuner import from_tuner as tuner_inputs
from ..engine.from_tuner import split_options
from ..engine.hypermodel import kept_hypermodel
from ..follow import Watcher, watch

if TYPE_CHECKING:
    from .app import Dashboard


def opened(cls: type[Dashboard], directory: str | os.PathLike[str], **kwargs: Any) -> Dashboard | Watcher:
    """``Dashboard.open``: a search's settings, views and results from its folder (a plain keras-tuner folder:
    its views, live, as :func:`tunewidgets.watch` shows them)."""
    results = load(directory)
    if results.spec is None:  # a plain keras-tuner folder: its views, live, and nothing to run
        return watch(results.directory)
    if results.spec.hypermodel is not None and kwargs.get("hypermodel") is None:
        # your own model's search: the hypermodel and arrays it keeps in its folder (loading it imports Keras)
        kwargs["hypermodel"], kwargs["data"] = kept_hypermodel(results.project)
    dash = cls(results.spec, **kwargs)
    if Project(results.directory).in_tuner_project:
        dash.folder = results.directory  # your own tuner's search: Run searches where it is
    dash.search = dash._search(results.spec, results.directory)
    dash.search.record = results.record
    dash.results = results
    dash.launcher.show(results)
    dash.progress.max = max(1, len(results.record.trials))
    dash.progress.value = sum(1 for t in results.record.trials.values() if t.status.is_finished())
    said = "".join(f"<br>&#9888; {html.escape(note)}" for note in getattr(results, "notes", None) or [])
    dash.status.value = f"Opened <code>{html.escape(str(results.directory))}</code>: search {results.status}.{said}"
    dash.resume_button.disabled = results.status not in ("stopped", "interrupted", "failed")
    dash._show_results()
    return dash


def from_tuner(cls: type[Dashboard], tuner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Dashboard:
    """``Dashboard.from_tuner``: the tuner's settings as the dashboard's, Run searching in its own folder."""
    changes, options, fit_kwargs = split_options(kwargs)
    made = tuner_inputs(tuner, args, fit_kwargs)
    spec = made.spec.replace(**changes).check() if changes else made.spec
    dash = cls(spec, hypermodel=made.hypermodel, data=made.data, cluster=options.get("cluster"))
    Project(made.folder).keep_tuner_outside()
    dash.folder, dash.callbacks = made.folder, made.callbacks
    return dash


__all__ = ["from_tuner", "opened"]
