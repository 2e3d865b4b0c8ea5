"""The spec as a form: every field a control, checked as it changes, errors next to the field.

The form and the spec are two views of one thing: the form is filled from a spec and read back as
one; every problem (a value that does not parse, a validation issue, a CSV file's missing column)
is marked next to its control, the rest above the Run button.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import sklearn_helper
from .._memory import FREE_MEMORY, memory_short
from ..data import file_issues, read_csv_header
from ..engine.folder.project import safe_folder_name
from ..engine.machine_checks import WORKER_MB, worker_issues
from ..engine.own_model import Packed
from ..engine.warm import warm_workers
from ..errors import Issue, SpecError
from ..spec import SECTIONS, Spec, section_fields
from ..spec.budget import budget_notes
from ..spec.hyper import HyperModelSpec
from ..spec.lesson import Lesson
from ..spec.size import size_text
from ..spec.space import is_active
from . import html as h
from . import widgets as w
from .controls import Control, SettingControl, make_control, to_json_form
from .hyper_form import HyperForm
from .inputs import ParseError
from .rows import row

#: what the form says after the session's memory is short (Run stays enabled)
MEMORY_SHORT_ADVICE = f"{FREE_MEMORY} Run still starts, but a kernel or a worker may be killed for memory."

#: the sections a search of the user's own hypermodel shows (its model is the user's)
OWN_MODEL_SECTIONS = ("training", "tuner")

#: said in the Training tab of your own model's search
BATCH_SIZE_NOTE = (
    "Batch size: one value trains every trial with it, as your program passes it, and adds no hyperparameter "
    "to the search; several values make it one."
)

TAB_TITLES = {
    "data": "Data",
    "model": "Architecture",
    "regularization": "Regularization",
    "optimizer": "Optimizer",
    "training": "Training",
    "tuner": "Tuner",
}


class SpecForm:
    """Tabs of controls, one per spec section, with the search's name, summary and problems.

    ``on_refresh(issues)`` is called after every check (the dashboard enables Run when there are none).
    ``local``: the workers run on this machine (its cores and memory bound them, as ``Search`` checks).
    """

    def __init__(
        self,
        spec: Spec,
        data: Any,
        base_dir: Path,
        on_refresh: Callable[[list[Issue]], None],
        *,
        hypermodel: Packed | None = None,
        local: bool = True,
    ):
        self.data = data
        self.local = local
        #: the user's own hypermodel's controls, in place of the data, architecture, regularization and optimizer
        self.hyper: HyperForm | None = None
        if hypermodel is not None:
            overrides = spec.hypermodel.overrides if spec.hypermodel is not None else None
            self.hyper = HyperForm(hypermodel, self._on_change, overrides=overrides)
        self.base_dir = base_dir
        self._on_refresh = on_refresh
        self.issues: list[Issue] = []
        self._columns_cache: dict[tuple[str, float], list[str]] = {}
        self.name = w.Text(
            value=spec.name,
            description="Search name",
            tooltip="Names the search and its folder.",
            style={"description_width": "initial"},
            continuous_update=False,
            layout=w.Layout(),  # its own: a lesson hides it
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
            panels.append(w.VBox(rows, layout=w.shared_layout(padding="6px")))
        self.panels = dict(zip(SECTIONS, panels, strict=True))
        titles = [TAB_TITLES[s] for s in SECTIONS]
        if self.hyper is not None:  # the model is the user's: its hyperparameters, then how to train and search
            self.append("training", w.HTML(h.hint(BATCH_SIZE_NOTE)))
            kept = [i for i, s in enumerate(SECTIONS) if s in OWN_MODEL_SECTIONS]
            panels = [self.hyper.box, *(panels[i] for i in kept)]
            titles = [self.hyper.packed.name, *(titles[i] for i in kept)]
        self.tabs = w.Tab(children=panels, titles=titles)
        self.summary = w.HTML()
        self.problems = w.HTML()
        self.memory = w.HTML()  # the session's memory, when it is short for this search's workers (not a problem)
        self.notes = w.HTML(layout=w.Layout(display="none"))
        self.lesson = Lesson()
        self._apply_lesson(spec.lesson)
        self.box = w.VBox([self.notes, self.name, self.tabs, self.summary, self.problems, self.memory])
        self.refresh()
        if self.hyper is not None:
            self.hyper.start()

    def shown_controls(self) -> dict[str, Control]:
        """The controls of the tabs shown, by path: your own model's hyperparameters under
        ``hypermodel.hyperparameters.``, then the training and tuner sections (all of the spec's otherwise)."""
        if self.hyper is None:
            return dict(self.controls)
        shown: dict[str, Control] = {f"hypermodel.hyperparameters.{n}": c for n, c in self.hyper.controls.items()}
        shown.update((p, c) for p, c in self.controls.items() if p.split(".")[0] in OWN_MODEL_SECTIONS)
        return shown

    def append(self, section: str, widget: w.Widget) -> None:
        """A widget at the end of one section's tab ("tuner")."""
        panel = self.panels[section]
        panel.children = (*panel.children, widget)

    def add_tab(self, title: str, widget: w.Widget, on_open: Callable[[], object] | None = None) -> None:
        """A tab after the spec's sections (Files, History); ``on_open`` runs each time it is opened."""
        titles = (*self.tabs.titles, title)
        with self.tabs.hold_sync():  # one message: a page given the new tab before its title shows it blank
            self.tabs.children = (*self.tabs.children, widget)
            self.tabs.titles = titles
        if on_open is not None:
            index = len(self.tabs.children) - 1
            self.tabs.observe(lambda change: change["new"] == index and on_open(), names="selected_index")

    def _apply_lesson(self, lesson: Lesson) -> None:
        """Locks and hides the lesson's fields and shows its notes (Markdown) above the controls."""
        self.lesson = lesson
        for path, control in self.controls.items():
            control.set_lesson(locked=path in lesson.locked, hidden=path in lesson.hidden)
        self.name.disabled = "name" in lesson.locked
        self.name.layout.display = "none" if "name" in lesson.hidden else None
        self.notes.value = h.markdown(lesson.notes) if lesson.notes else ""
        self.notes.layout.display = None if lesson.notes else "none"

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
        return w.VBox([row(self.upload, self.preview_button, justify_content="flex-end"), self.data_report])

    def preview_data(self) -> Any:
        """Loads the data as a search would and shows what was inferred (no training, no TensorFlow)."""
        try:
            spec = self.spec
            data = self.data if spec.data.source == "dataframe" else None
            dataset = sklearn_helper.call(sklearn_helper.PREPARE, spec.data, data)
        except SpecError as e:
            self.data_report.value = h.problems([str(i) for i in e.issues])
            return None
        self.data_report.value = f"<b>What the search will use</b>{h.bullets(dataset.report)}"
        return dataset

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
        form = to_json_form(raw)
        if self.lesson:
            form["lesson"] = self.lesson.to_json()
        hyper_issues: list[Issue] = []
        if self.hyper is not None:
            overrides, hyper_issues = self.hyper.read()
            form["hypermodel"] = HyperModelSpec(self.hyper.packed.name, tuple(overrides.items())).to_json()
        try:
            spec = Spec.from_dict(form, validate=False)
        except SpecError as e:
            return None, e.issues
        workers = worker_issues(spec, local=self.local)  # what Search and the CLI refuse, marked here too
        if self.hyper is not None:
            return spec, spec.validate() + hyper_issues + workers
        return spec, (spec.validate() or file_issues(spec)) + workers

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
            if self.hyper is not None:
                self.hyper.set_overrides(spec.hypermodel.overrides if spec.hypermodel is not None else {})
            self._apply_lesson(spec.lesson)
        finally:
            self._updating = False
        self.refresh()

    # ---------------------------------------------------------------- live validation
    _updating = False
    #: seconds between two looks at the session's memory (reading /proc is cheap, not free)
    memory_every = 5.0
    _memory_read_at = -float("inf")

    def check_memory(self, spec: Spec | None) -> None:
        """Says above Run when the session's memory is short for this search's workers (Run stays enabled)."""
        if time.monotonic() - self._memory_read_at < self.memory_every:
            return
        self._memory_read_at = time.monotonic()
        workers = spec.tuner.workers if spec is not None and self.local else 1
        # spare workers waiting for this kernel's next search (a dashboard shown) hold what they bring along
        short = memory_short(max(workers - warm_workers.waiting(), 0) * WORKER_MB)
        self.memory.value = h.notes([f"{short} {MEMORY_SHORT_ADVICE}"]) if short else ""

    def _on_change(self, _source: Any = None) -> None:
        if not self._updating:
            self.refresh()

    def refresh(self) -> None:
        spec, issues = self._read()
        self.issues = issues  # all of them keep Run disabled, the hyperparameters still being found included
        finding = self.hyper is not None and self.hyper.space is None and not self.hyper.failure
        problems = [i for i in issues if not (finding and i.path == "hypermodel")]  # finding is no problem
        by_path: dict[str, list[str]] = {}
        general = []
        controls = dict(self.controls)
        if self.hyper is not None:
            controls.update({c.path: c for c in self.hyper.controls.values()})
        for issue in problems:
            if issue.path in controls:
                by_path.setdefault(issue.path, []).append(issue.message)
            else:
                general.append(str(issue))
        for path, control in controls.items():
            control.show_error("; ".join(by_path.get(path, [])) or None)
        self.problems.value = h.problems(general)
        if spec is not None:
            for path, control in self.controls.items():
                section, name = path.split(".")
                control.set_visible(is_active(spec, section, name) or path in by_path)
            self._offer_columns(spec)
        if finding and not problems:
            assert self.hyper is not None
            self.summary.value = (
                f"Finding the hyperparameters of <code>{html.escape(self.hyper.packed.name)}</code> "
                "(building it once): Run is ready when its controls are"
            )
        elif problems:
            n = len(problems)
            self.summary.value = (
                f'<b style="color:{h.ERROR}">{n} problem{"s" if n > 1 else ""} to fix before Run '
                "(marked next to each control)</b>"
            )
        elif spec is not None:
            notes = budget_notes(spec)
            size = "" if self.hyper is not None else html.escape(size_text(spec))
            if self.hyper is not None and self.hyper.packed.own_fit:
                notes.append(
                    f"{self.hyper.packed.name} has its own fit: its trials train through it, one at a time "
                    "(trials trained together need keras-tuner's default fit)"
                )
            self.summary.value = f"<b>{html.escape(spec.describe())}</b> {size}{h.notes(notes)}"
        self.check_memory(spec)
        self._on_refresh(issues)

    def _offer_columns(self, spec: Spec) -> None:
        if spec.data.source != "csv" or not spec.data.path:
            return
        path = Path(spec.data.path)
        try:
            key = (str(path), path.stat().st_mtime)
        except OSError:
            return
        if key not in self._columns_cache:
            try:
                self._columns_cache[key] = read_csv_header(path)
            except SpecError:
                return
        columns = self._columns_cache[key]
        for name in ("data.target", "data.columns"):
            control = self.controls[name]
            assert isinstance(control, SettingControl)
            control.set_columns(columns)

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
        self.refresh()


__all__ = ["MEMORY_SHORT_ADVICE", "TAB_TITLES", "SpecForm"]
