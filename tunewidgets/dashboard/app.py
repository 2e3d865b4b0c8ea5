"""The dashboard: the whole spec as controls, Run / Stop / Resume, progress and results.

The dashboard and the spec are two views of one thing: ``Dashboard(spec=...)``
fills the controls and ``dashboard.spec`` reads them back. Running hands the
spec to :class:`tunewidgets.search.Search` in a background thread; the dashboard
observes its events like any other observer. TensorFlow is imported when Run is
pressed, not before.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..errors import Issue, ProjectError, SpecError
from ..events import EndReason, EpochEnded, Event, SearchEnded, SearchStarted, TrialEnded, TrialStarted
from ..progress import ProgressState, duration_text
from ..spec import SECTIONS, Spec, is_active, section_fields, spec_from_dict, validate
from .controls import Control, KnobControl, ParseError, SettingControl, make_control

TAB_TITLES = {
    "data": "Data",
    "model": "Architecture",
    "regularization": "Regularization",
    "optimizer": "Optimizer",
    "training": "Training",
    "tuner": "Tuner",
}

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_folder_name(name: str) -> str:
    """A folder name made from a search name: letters, digits, '.', '_' and '-' only."""
    cleaned = _SAFE_NAME.sub("-", name).strip(".-") or "search"
    return cleaned[:64]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table(rows: dict[str, Any]) -> str:
    cells = "".join(
        f"<tr><td style='padding-right:12px'>{html.escape(str(k))}</td><td><b>{_fmt(v)}</b></td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


class Dashboard:
    """A control panel for a Keras Tuner search. Display it in a notebook cell.

    Args:
        spec: the search to show (defaults to a small search on a built-in set).
        data: a DataFrame or ``(X, y)`` for ``data.source="dataframe"``.
        base_dir: where search folders are made (``runs`` by default); searches
            never write outside it.
        views: live views to attach to each search (objects with ``widget`` and
            ``attach(search)``); the plots of :mod:`tunewidgets.plots` by default.

    Example:
        >>> dash = tunewidgets.Dashboard.from_file("examples/specs/quickstart.json")   # doctest: +SKIP
        >>> dash                                                                       # doctest: +SKIP
    """

    def __init__(
        self,
        spec: Spec | None = None,
        *,
        data: Any = None,
        base_dir: str | os.PathLike[str] = "runs",
        views: list[Any] | None = None,
    ):
        spec = spec if spec is not None else Spec()
        self.data = data
        if data is not None and spec.data.source != "dataframe":
            spec = spec.replace(**{"data.source": "dataframe"})
        self.base_dir = Path(base_dir)
        self.search: Any = None
        self.results: Any = None
        self.issues: list[Issue] = []
        self._views = views
        self._lock = threading.Lock()
        self._t0 = 0.0
        self._progress = ProgressState()
        self._columns_cache: dict[tuple[str, float], list[str]] = {}
        self._build(spec)
        self._refresh()

    # ---------------------------------------------------------------- building
    def _build(self, spec: Spec) -> None:
        self.name = w.Text(
            value=spec.name,
            description="Search name",
            tooltip="Names the search and its folder.",
            style={"description_width": "initial"},
            continuous_update=False,
        )
        self.name.observe(self._on_change, names="value")
        self.controls: dict[str, Control] = {}
        panels = []
        for section in SECTIONS:
            rows = []
            for name, info in section_fields(section):
                control = make_control(section, name, info, getattr(getattr(spec, section), name))
                control.on_change(self._on_change)
                self.controls[control.path] = control
                rows.append(control.widget)
            if section == "data":
                rows.append(self._upload_row())
            panels.append(w.VBox(rows, layout=w.Layout(padding="6px")))
        self.tabs = w.Tab(children=panels, titles=[TAB_TITLES[s] for s in SECTIONS])
        self.summary = w.HTML()
        self.problems = w.HTML()
        self.run_button = w.Button(
            description="Run",
            button_style="success",
            icon="play",
            tooltip="Start a new search with these settings in a new folder",
        )
        self.stop_button = w.Button(
            description="Stop",
            button_style="danger",
            icon="stop",
            disabled=True,
            tooltip="Stop after the current epoch; everything so far is kept",
        )
        self.resume_button = w.Button(
            description="Resume",
            button_style="info",
            icon="forward",
            disabled=True,
            tooltip="Continue the stopped search where it ended",
        )
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.resume_button.on_click(lambda _: self.resume())
        self.status = w.HTML("Ready.")
        self.progress = w.IntProgress(
            value=0, min=0, max=1, description="Trials", bar_style="info", layout=w.Layout(width="420px")
        )
        self.progress_text = w.HTML()
        self.best_so_far = w.HTML()
        self.views_box = w.VBox()
        self._build_results()
        self._build_spec_files()
        header = w.HTML("<h3 style='margin:4px 0'>tunewidgets: hyperparameter search for Keras</h3>")
        self.widget = w.VBox(
            [
                header,
                self.name,
                self.tabs,
                self.summary,
                self.problems,
                w.HBox([self.run_button, self.stop_button, self.resume_button]),
                self.status,
                w.HBox([self.progress, self.progress_text]),
                self.best_so_far,
                self.views_box,
                self.results_box,
                self.files_box,
            ]
        )

    def _upload_row(self) -> w.Widget:
        self.upload = w.FileUpload(
            accept=".csv",
            multiple=False,
            description="Upload CSV",
            tooltip="Copy a CSV file into the data folder and use it",
        )
        self.upload.observe(self._on_upload, names="value")
        self.preview_button = w.Button(
            description="Preview data",
            icon="table",
            tooltip="Load the data now and show what was inferred: task, classes, columns, rows dropped",
        )
        self.preview_button.on_click(lambda _: self.preview_data())
        self.data_report = w.HTML()
        return w.VBox(
            [w.HBox([w.HTML("", layout=w.Layout(width="190px")), self.upload, self.preview_button]), self.data_report]
        )

    def preview_data(self) -> Any:
        """Loads the data as a search would and shows what was inferred (no training, no TensorFlow)."""
        from ..data import prepare

        try:
            spec = self.spec
            dataset = prepare(spec.data, self.data)
        except SpecError as e:
            self.data_report.value = "".join(
                f'<div style="color:#c0392b">&#9888; {html.escape(str(i))}</div>' for i in e.issues
            )
            return None
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in dataset.report)
        self.data_report.value = f"<b>What the search will use</b><ul style='margin:2px 0'>{lines}</ul>"
        return dataset

    def _build_results(self) -> None:
        self.best_box = w.HTML()
        self.evaluate_button = w.Button(
            description="Evaluate on test split", icon="check", disabled=True, layout=w.Layout(width="auto")
        )
        self.evaluate_button.on_click(lambda _: self.evaluate())
        self.model_path = w.Text(
            value="best_model.keras", description="Model file", style={"description_width": "initial"}
        )
        self.save_model_button = w.Button(description="Save best model", icon="save", disabled=True)
        self.save_model_button.on_click(lambda _: self.save_best_model())
        self.code_button = w.Button(description="Show Keras code", icon="code", disabled=True)
        self.code_button.on_click(lambda _: self.show_code())
        self.results_output = w.HTML()
        self.code = w.HTML()
        self.results_box = w.VBox(
            [
                self.best_box,
                w.HBox([self.evaluate_button, self.model_path, self.save_model_button, self.code_button]),
                self.results_output,
                self.code,
            ]
        )

    def _build_spec_files(self) -> None:
        self.spec_path = w.Text(value="search.json", description="Spec file", style={"description_width": "initial"})
        self.save_spec_button = w.Button(description="Save spec", icon="download")
        self.load_spec_button = w.Button(description="Load spec", icon="upload")
        self.save_spec_button.on_click(lambda _: self.save_spec(self.spec_path.value))
        self.load_spec_button.on_click(lambda _: self.load_spec(self.spec_path.value))
        self.spec_upload = w.FileUpload(accept=".json", multiple=False, description="Open spec")
        self.spec_upload.observe(self._on_spec_upload, names="value")
        self.files_message = w.HTML()
        self.files_box = w.VBox(
            [
                w.HBox([self.spec_path, self.save_spec_button, self.load_spec_button, self.spec_upload]),
                self.files_message,
            ]
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> Dashboard:
        """A dashboard filled from a spec file."""
        return cls(Spec.from_file(path), **kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ---------------------------------------------------------------- spec <-> controls
    def _read(self) -> tuple[Spec | None, list[Issue]]:
        """The spec the controls describe, and every problem (parse and validation)."""
        issues: list[Issue] = []
        raw: dict[str, Any] = {"name": self.name.value}
        for section in SECTIONS:
            raw[section] = {}
        for path, control in self.controls.items():
            section, name = path.split(".")
            try:
                raw[section][name] = control.get()
            except (ParseError, ValueError) as e:
                issues.append(Issue(path, str(e)))
        if issues:
            return None, issues
        try:
            spec = spec_from_dict(_to_json_form(raw), validate=False)
        except SpecError as e:
            return None, e.issues
        return spec, validate(spec, check_files=True)

    @property
    def spec(self) -> Spec:
        """The spec the controls describe; raises :class:`SpecError` when it is not valid."""
        spec, issues = self._read()
        if issues or spec is None:
            raise SpecError(issues)
        return spec

    @spec.setter
    def spec(self, spec: Spec) -> None:
        self.set_spec(spec)

    def set_spec(self, spec: Spec) -> None:
        """Fills every control from ``spec``."""
        self._updating = True
        try:
            self.name.value = spec.name
            for path, control in self.controls.items():
                section, name = path.split(".")
                control.set(getattr(getattr(spec, section), name))
        finally:
            self._updating = False
        self._refresh()

    # ---------------------------------------------------------------- live validation
    _updating = False

    def _on_change(self, _source: Any = None) -> None:
        if not self._updating:
            self._refresh()

    def _refresh(self) -> None:
        spec, issues = self._read()
        self.issues = issues
        by_path: dict[str, list[str]] = {}
        general = []
        for issue in issues:
            if issue.path in self.controls:
                by_path.setdefault(issue.path, []).append(issue.message)
            else:
                general.append(str(issue))
        for path, control in self.controls.items():
            control.show_error("; ".join(by_path.get(path, [])) or None)
        self.problems.value = "".join(f'<div style="color:#c0392b">&#9888; {html.escape(m)}</div>' for m in general)
        if spec is not None:
            for path, control in self.controls.items():
                section, name = path.split(".")
                control.set_visible(is_active(spec, section, name) or path in by_path)
            self._offer_columns(spec)
        running = self.search is not None and self.search.running
        self.run_button.disabled = bool(issues) or running
        if issues:
            n = len(issues)
            self.summary.value = (
                f'<b style="color:#c0392b">{n} problem{"s" if n > 1 else ""} to fix before Run '
                "(marked next to each control)</b>"
            )
        elif spec is not None:
            from ..space import budget_notes, describe, size_text

            notes = "".join(f'<div style="color:#b9770e">&#9888; {html.escape(n)}</div>' for n in budget_notes(spec))
            self.summary.value = f"<b>{html.escape(describe(spec))}</b> {html.escape(size_text(spec))}{notes}"

    def _offer_columns(self, spec: Spec) -> None:
        if spec.data.source != "csv" or not spec.data.path:
            return
        path = Path(spec.data.path)
        try:
            key = (str(path), path.stat().st_mtime)
        except OSError:
            return
        if key not in self._columns_cache:
            from ..data import read_csv_header

            try:
                self._columns_cache[key] = read_csv_header(path)
            except SpecError:
                return
        columns = self._columns_cache[key]
        for name in ("data.target", "data.columns"):
            control = self.controls[name]
            assert isinstance(control, SettingControl)
            control.set_columns(columns)

    # ---------------------------------------------------------------- running
    def _new_folder(self, name: str) -> Path:
        """Claims a new, empty folder under the base folder (atomically: two dashboards never share one)."""
        base = self.base_dir.resolve()
        stem = safe_folder_name(name)
        base.mkdir(parents=True, exist_ok=True)
        for n in range(1, 10_000):
            folder = base / (stem if n == 1 else f"{stem}-{n}")
            if not folder.is_relative_to(base):  # pragma: no cover - safe_folder_name prevents it
                raise ProjectError(f"the folder for '{name}' would be outside {base}")
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return folder
        raise ProjectError(f"no free folder name for '{stem}' in {base}")

    def run(self) -> None:
        """Starts a new search with the current settings (what the Run button does)."""
        with self._lock:
            if self.search is not None and self.search.running:
                return  # a second click while running starts nothing
            try:
                spec = self.spec
            except SpecError:
                self._refresh()
                return
            from ..search import Search

            try:
                search = Search(spec, self._new_folder(spec.name), data=self.data)
            except (SpecError, ProjectError) as e:
                self._show_error(str(e))
                return
            self._start(search)

    def resume(self) -> None:
        """Continues the last search in its folder (what the Resume button does)."""
        with self._lock:
            if self.search is None or self.search.running:
                return
            from ..search import Search

            old = self.search
            self._start(Search(old.spec, old.directory, data=self.data))

    def stop(self) -> None:
        """Asks the running search to stop after its current epoch."""
        if self.search is not None and self.search.running:
            self.search.stop()
            self.stop_button.disabled = True
            self.stop_button.description = "Stopping..."
            self.status.value = "Stopping after the current epoch..."

    def _start(self, search: Any) -> None:
        self.search = search
        self.results = None
        self._progress = ProgressState()
        self._t0 = time.time()
        self.run_button.disabled = True
        self.resume_button.disabled = True
        self.stop_button.disabled = False
        self.stop_button.description = "Stop"
        for button in (self.evaluate_button, self.save_model_button, self.code_button):
            button.disabled = True
        self.best_box.value = self.results_output.value = self.code.value = ""
        self.best_so_far.value = ""
        self.status.value = f"Starting in <code>{html.escape(str(search.directory))}</code>..."
        search.events.subscribe(self._on_event)
        for view in self._attach_views(search):
            search.events.subscribe(view.on_event)
        search.start()

    def _ensure_views(self) -> list[Any]:
        if self._views is None:
            from ..plots import default_views

            self._views = default_views()
        self.views_box.children = [v.widget for v in self._views]
        return self._views

    def _attach_views(self, search: Any) -> list[Any]:
        views = self._ensure_views()
        for view in views:
            view.reset(search)
        return views

    @property
    def views(self) -> list[Any]:
        """The live views (plots and trial table) shown under the controls."""
        return self._ensure_views()

    @classmethod
    def open(cls, directory: str | os.PathLike[str], **kwargs: Any) -> Dashboard:
        """A dashboard showing a finished (or stopped) search from disk: its spec, plots and results.

        Resume continues it when it was stopped or interrupted.
        """
        from ..results import load
        from ..search import Search

        results = load(directory)
        dash = cls(results.spec, **kwargs)
        dash.search = Search(results.spec, results.directory, data=dash.data)
        dash.search.record = results.record
        dash.results = results
        dash._attach_views(results)
        dash.progress.max = max(1, len(results.record.trials))
        dash.progress.value = sum(1 for t in results.record.trials.values() if t.status.is_finished())
        dash.status.value = (
            f"Opened <code>{html.escape(str(results.directory))}</code>: search {html.escape(results.status)}."
        )
        dash.resume_button.disabled = results.status not in ("stopped", "interrupted", "failed")
        dash._show_results()
        return dash

    def wait(self, timeout: float | None = None) -> Any:
        """Waits for the running search to end and the views to show it; returns its results.

        Raises the search's error if it broke (bad data, a folder in use...).
        """
        if self.search is None:
            return None
        results = self.search.wait(timeout)
        for view in self._views or []:
            view.settle(30)
        if results is None and self.search.error is not None:
            raise self.search.error  # the same message the dashboard shows
        return results

    # ---------------------------------------------------------------- events (search thread)
    def _on_event(self, event: Event) -> None:
        state = self._progress
        state.apply(event)
        if isinstance(event, SearchStarted):
            self.progress.max = max(1, event.planned_trials or 1)
            self.progress.value = min(self.progress.max, state.done)
            verb = "Resumed" if event.resumed else "Running"
            prepared = "".join(f"<li>{html.escape(line)}</li>" for line in event.data_report)
            notes = "".join(f'<div style="color:#b9770e">&#9888; {html.escape(n)}</div>' for n in event.notes)
            self.status.value = (
                f"{verb}: {html.escape(event.plan or event.algorithm)} Objective "
                f"<b>{html.escape(event.objective)}</b> ({event.direction}).<br>"
                f"Data: {html.escape(event.data_summary)}"
                + (f"<ul style='margin:2px 0'>{prepared}</ul>" if prepared else "")
                + notes
            )
            self._show_best()
        elif isinstance(event, (TrialStarted, EpochEnded)):
            self._show_progress()
        elif isinstance(event, TrialEnded):
            self.progress.value = min(self.progress.max, state.done)
            self._show_progress()
            self._show_best()
        elif isinstance(event, SearchEnded):
            self._ended(event)

    def _show_progress(self) -> None:
        state = self._progress
        text = (
            f"{state.done} of {state.planned_trials} trials done; {state.running_text()}; "
            f"elapsed {duration_text(time.time() - self._t0)}"
        )
        left = state.seconds_left()
        if left is not None:
            text += f"; about {duration_text(left)} left"
        self.progress_text.value = text

    def _show_best(self) -> None:
        record = self.search.record
        best = record.best()
        if best is None:
            return
        self.best_so_far.value = (
            f"Best so far: trial {best.number}, <b>{html.escape(record.objective)} = "
            f"{best.score:.4f}</b><br>{_inline(best.tuned_values())}"
        )

    def _ended(self, event: SearchEnded) -> None:
        search = self.search
        self.progress_text.value = (
            f"{self.progress.value} of {self.progress.max} trials done; took {duration_text(time.time() - self._t0)}"
        )
        text = {
            EndReason.COMPLETED: "Search completed.",
            EndReason.STOPPED: "Stopped. Everything so far is kept; Resume continues it.",
            EndReason.FAILED: "Search ended: too many trials failed in a row.",
            EndReason.ERROR: "The search broke.",
        }[event.reason]
        colour = "#c0392b" if event.reason in (EndReason.FAILED, EndReason.ERROR) else "inherit"
        message = f" {html.escape(event.message)}" if event.message and event.reason != EndReason.STOPPED else ""
        counts = search.record.counts()
        self.status.value = (
            f'<span style="color:{colour}">{text}{message}</span> '
            f"({counts['completed']} completed, {counts['failed']} failed) "
            f"Results in <code>{html.escape(str(search.directory))}</code>"
        )
        self.stop_button.disabled = True
        self.stop_button.description = "Stop"
        self.resume_button.disabled = event.reason not in (EndReason.STOPPED, EndReason.FAILED)
        self._refresh_run_button()
        from ..results import Results

        self.results = Results(search.directory, search.spec, search.record)
        self._show_results()

    def _show_results(self) -> None:
        record = self.results.record
        best = record.best()
        if best is None:
            return
        self.best_box.value = (
            f"<h4 style='margin:6px 0'>Best trial {best.number}: "
            f"{html.escape(record.objective)} = {best.score:.4f}</h4>"
            f"{_table(best.tuned_values())}"
        )
        for button in (self.evaluate_button, self.save_model_button, self.code_button):
            button.disabled = False

    def _refresh_run_button(self) -> None:
        self.run_button.disabled = bool(self.issues)

    def _show_error(self, message: str) -> None:
        self.status.value = f'<span style="color:#c0392b">&#9888; {html.escape(message)}</span>'

    # ---------------------------------------------------------------- after a search
    def evaluate(self) -> dict[str, float] | None:
        """Scores the best model on the test split and shows it."""
        if self.results is None:
            return None
        self.results_output.value = "Scoring the best model on the test split (in a worker process)..."
        try:
            scores = self.results.evaluate()
            line = self.results.test_summary()
        except (LookupError, OSError, RuntimeError) as e:
            self.results_output.value = f'<span style="color:#c0392b">{html.escape(str(e))}</span>'
            return None
        self.results_output.value = f"<b>Best model on the test split:</b> {html.escape(line)}" + _table(scores)
        return scores

    def save_best_model(self, path: str | None = None) -> Path | None:
        """Saves the best model as ``.keras`` (the Model file box by default)."""
        if self.results is None:
            return None
        try:
            saved = self.results.save_best_model(path or self.model_path.value)
        except (ValueError, LookupError, OSError, RuntimeError) as e:
            self.results_output.value = f'<span style="color:#c0392b">{html.escape(str(e))}</span>'
            return None
        self.results_output.value = f"Saved the best model to <code>{html.escape(str(saved))}</code>"
        return saved

    def best_model_code(self) -> str | None:
        """Keras code that builds the best model."""
        if self.results is None or self.results.best_trial is None:
            return None
        from ..codegen import model_code
        from ..hypermodel import SpecHyperModel, values_from_hp

        results = self.results
        ds = results.dataset
        values = values_from_hp(results.spec, ds, results.best_trial.hyperparameters)
        steps = max(1, math.ceil(len(ds.x_train) / int(values["batch_size"])))
        return model_code(
            values, ds.input_shape, ds.task, ds.n_classes, steps, SpecHyperModel(results.spec, ds).epochs()
        )

    def show_code(self) -> None:
        code = self.best_model_code()
        if code is not None:
            self.code.value = f"<pre style='font-size:12px'>{html.escape(code)}</pre>"

    # ---------------------------------------------------------------- spec files
    def save_spec(self, path: str | os.PathLike[str]) -> Path | None:
        """Writes the current spec to a JSON file (refused while it has problems)."""
        try:
            spec = self.spec
        except SpecError as e:
            self.files_message.value = f'<span style="color:#c0392b">Not saved: {html.escape(str(e))}</span>'
            return None
        p = Path(path)
        spec.save(p)
        self.files_message.value = f"Saved the spec to <code>{html.escape(str(p))}</code>"
        return p

    def load_spec(self, path: str | os.PathLike[str]) -> bool:
        """Fills the controls from a spec file; a bad file is reported, the controls kept."""
        try:
            spec = Spec.from_file(path)
        except SpecError as e:
            self.files_message.value = f'<span style="color:#c0392b">Not loaded: {html.escape(str(e))}</span>'
            return False
        self.set_spec(spec)
        self.files_message.value = f"Loaded <code>{html.escape(str(path))}</code>"
        return True

    def _on_spec_upload(self, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        try:
            spec = spec_from_dict(json.loads(bytes(files[0]["content"]).decode("utf-8")))
        except (SpecError, ValueError) as e:
            self.files_message.value = f'<span style="color:#c0392b">Not loaded: {html.escape(str(e))}</span>'
            return
        self.set_spec(spec)
        self.files_message.value = f"Loaded {html.escape(files[0]['name'])}"

    def _on_upload(self, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[0]
        target = self.base_dir / "data" / safe_folder_name(Path(upload["name"]).name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bytes(upload["content"]))
        self._updating = True
        try:
            self.controls["data.source"].set("csv")
            self.controls["data.path"].set(str(target))
        finally:
            self._updating = False
        self._refresh()


def _to_json_form(raw: dict[str, Any]) -> dict[str, Any]:
    """Control values (knob objects, tuples) in the spec file's JSON form."""
    from ..spec.knobs import Choice, Fixed, Range

    out: dict[str, Any] = {"name": raw["name"]}
    for section in SECTIONS:
        out[section] = {
            k: (v.to_json() if isinstance(v, (Fixed, Range, Choice)) else list(v) if isinstance(v, tuple) else v)
            for k, v in raw[section].items()
        }
    return out


def _inline(values: dict[str, Any]) -> str:
    return ", ".join(f"{html.escape(k)}={_fmt(v)}" for k, v in values.items())


__all__ = ["Dashboard", "KnobControl", "SettingControl", "safe_folder_name"]
