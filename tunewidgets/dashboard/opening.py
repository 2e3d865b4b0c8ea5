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
from ..engine.own_model import kept_hypermodel
from ..engine.results import SearchStatus
from ..errors import ProjectError

if TYPE_CHECKING:
    from .app import Dashboard


def opened(cls: type[Dashboard], directory: str | os.PathLike[str], **kwargs: Any) -> Dashboard:
    """``Dashboard.open``: a search's settings, views and results from its folder; a plain keras-tuner folder
    (no settings to show or run again) is refused, naming what shows it."""
    results = load(directory)
    if results.spec is None:
        raise ProjectError(
            f"{results.directory} is a keras-tuner project folder, not a tunewidgets search: it has no settings "
            f"to show or run again. tw.watch({str(results.directory)!r}) shows its views, kept up to date while it "
            "is searched; tw.Dashboard.from_tuner(tuner, x, y, ...) searches your tuner from the dashboard"
        )
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
    view = dash.progress_view
    view.progress.max = max(1, len(results.record.trials))
    view.progress.value = sum(1 for t in results.record.trials.values() if t.status.is_finished())
    said = "".join(f"<br>&#9888; {html.escape(note)}" for note in getattr(results, "notes", None) or [])
    view.status.value = f"Opened <code>{html.escape(str(results.directory))}</code>: search {results.status}.{said}"
    resumable = (SearchStatus.STOPPED, SearchStatus.INTERRUPTED, SearchStatus.FAILED)
    dash.bar.resume_button.disabled = results.status not in resumable
    dash.results_panel.show(results)
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
