"""The dashboard: the whole spec as controls, Run / Stop / Resume, progress and results.

The dashboard and the spec are two views of one thing: ``Dashboard(spec=...)``
fills the controls and ``dashboard.spec`` reads them back. Running hands the
spec to :class:`tunewidgets.engine.Search` in a background thread; the dashboard
observes its events like any other observer. TensorFlow is imported only in worker processes, never in
the kernel; a shown dashboard starts one in the background (:mod:`tunewidgets.dashboard.launch`).
"""

from __future__ import annotations

import html
import os
import threading
from pathlib import Path
from typing import Any

from ..engine import Results, Search
from ..engine.cluster import where_trials_train
from ..engine.folder.project import claim_folder, next_folder, safe_folder_name
from ..engine.own_model import Packed, hypermodel_inputs
from ..errors import Issue, ProjectError, SpecError
from ..events import EndReason, Event, SearchEnded, TrialEnded, TrialStarted
from ..progress import trial_number
from ..spec import Spec
from ..spec.parse import did_you_mean
from . import html as h
from . import widgets as w
from .controls import Control, KnobControl, SettingControl
from .form import SpecForm
from .history import HistoryPanel
from .hyper_form import HyperForm
from .launch import Launcher, View
from .progress_view import ProgressView
from .results_panel import ResultsPanel
from .run_bar import RunBar, ended_text
from .screen import Screen
from .spec_files import SpecFiles
from .where import WhereTrialsRun


class Dashboard:
    """A control panel for a Keras Tuner search. Display it in a notebook cell.

    Shown, it gets Run ready in the background (spare worker processes import TensorFlow, the views
    are made); Run returns at once and the first epoch's point follows within about a second.

    What a notebook cell needs: :attr:`spec` (the controls read back; :attr:`issues`, what is wrong with
    them), :meth:`control` (one field's control), :meth:`run`, :meth:`stop`, :meth:`resume`, :meth:`stop_trial`,
    :meth:`wait` (the search's :class:`tunewidgets.Results`, also :attr:`results` once it ended), and the ways
    to make one: :meth:`from_file`, :meth:`from_text`, :meth:`open`, :meth:`from_tuner`.

    The dashboard is a composition of panels, each with its own small surface: :attr:`form` (the settings'
    tabs and controls), :attr:`bar` (Run, Stop, Resume, stop one trial), :attr:`progress_view` (the status
    line, progress and best so far), :attr:`launcher` (the warm start and the live views), :attr:`results_panel`
    (the best trial, evaluate, save the model, its code), :attr:`spec_files` (save, load, share a setup) and
    :attr:`history` (the searches of the base folder), laid out by :attr:`screen`.

    Args:
        spec: the search to show (defaults to a small search on a built-in set).
        data: a DataFrame or ``(X, y)`` for ``data.source="dataframe"``; with ``hypermodel``, your
            arrays as ``tuner.search`` takes them (``(x, y)``, ``(x, y, (x_val, y_val))`` or
            :class:`tunewidgets.Arrays`).
        hypermodel: your own ``build_model(hp)`` function or ``keras_tuner.HyperModel``: the dashboard
            shows one control per hyperparameter it declares, and searches it instead of the spec's network.
        base_dir: where search folders are made (``runs`` by default); searches never write outside it.
        views: live views to show and feed during each search (objects with ``widget``, ``reset``,
            ``on_event`` and ``settle``); the plots of :mod:`tunewidgets.plots` by default.
        cluster: run the trials on a Dask cluster (as :class:`tunewidgets.Search` takes it); the Tuner tab
            says where trials run.

    Example:
        >>> dash = tunewidgets.Dashboard.from_file("examples/specs/quickstart.json")   # doctest: +SKIP
        >>> dash                                                                       # doctest: +SKIP
    """

    def __init__(
        self,
        spec: Spec | None = None,
        *,
        data: Any = None,
        hypermodel: Any = None,
        base_dir: str | os.PathLike[str] = "runs",
        views: list[View] | None = None,
        cluster: Any = None,
    ):
        spec = spec if spec is not None else Spec()
        self.cluster = where_trials_train(cluster)  # a bad one is refused here, with what to give
        self.data = data
        #: your own build_model(hp) or keras_tuner.HyperModel (None: the network the spec describes)
        self.hypermodel = hypermodel
        packed: Packed | None = None
        if hypermodel is not None:  # checked now: a function that cannot travel, arrays that do not fit
            packed, _, spec = hypermodel_inputs(hypermodel, data, spec)
        elif data is not None and spec.data.source != "dataframe":
            spec = spec.replace(**{"data.source": "dataframe"})
        self.base_dir = Path(base_dir)
        self.folder: Path | None = None  # where Run searches, when not a new folder under base_dir (from_tuner)
        self.callbacks: list[Any] = []  # Keras callbacks for every trial (your own tuner's search's)
        #: the last search started (or opened); None before the first Run
        self.search: Search | None = None
        #: the last search's results, once it ended (or was opened)
        self.results: Results | None = None
        self._lock = threading.Lock()
        self.bar = RunBar()  # the bar and the launcher before the form: its first check sets whether Run is enabled
        self.launcher = Launcher(w.VBox(), views)
        self.form = SpecForm(
            spec, self.data, self.base_dir, self._on_form_refresh, hypermodel=packed, local=self.cluster is None
        )
        self.where = WhereTrialsRun(self.cluster)
        self.progress_view = ProgressView()
        self.results_panel = ResultsPanel()
        self.spec_files = SpecFiles(lambda: self.spec, self.form.set_spec)
        self.history = HistoryPanel(self.base_dir)
        self.screen = self._lay_out()
        self.widget = self.screen.widget
        self.form.refresh()

    def _lay_out(self) -> Screen:
        """One screen: the settings in a column beside Run and the views, folded to a line from Run on."""
        bar, form, view = self.bar, self.form, self.progress_view
        form.append("tuner", self.where.widget)
        for button, act in ((bar.run_button, self.run), (bar.stop_button, self.stop), (bar.resume_button, self.resume)):
            button.on_click(lambda _, act=act: act())
        bar.stop_trial_button.on_click(lambda _: self.stop_trial())
        form.add_tab("Files", self.spec_files.box)
        form.add_tab("History", self.history.box, on_open=self.history.refresh)
        progress = w.HBox([view.progress, view.text], layout=w.shared_layout(flex_flow="row wrap"))
        main = [bar.box, view.status, progress, view.best_so_far, self.launcher.box]
        main += [self.history.figure_box, self.results_panel.box]
        return Screen(form.box, main, self._settings_line)

    def _settings_line(self) -> str:
        try:  # (what the search trains is said once, by the status line under Run)
            return f"{self.spec.name}: settings folded"
        except SpecError:
            return "the settings have problems"

    def show_settings(self, shown: bool) -> None:
        """Unfolds the settings column, or folds it to one line (as from Run on, until the Settings button)."""
        self.screen.show_settings(shown)

    def control(self, path: str) -> Control:
        """The control of one field (``"tuner.algorithm"``); its ``widget`` is what the dashboard shows."""
        controls = self.controls
        if path not in controls:
            raise KeyError(f"no field {path!r}{did_you_mean(path, list(controls))}; dash.controls lists them all")
        return controls[path]

    @property
    def controls(self) -> dict[str, Control]:
        """Every control the dashboard shows, by its field's path; your own model's hyperparameters as
        ``hypermodel.hyperparameters.<name>`` (the sections its search does not use are left out)."""
        return self.form.shown_controls()

    @property
    def hyperparameters(self) -> HyperForm | None:
        """Your own model's controls (``None`` for the spec's network); ``wait()`` waits for them to be found."""
        return self.form.hyper

    @classmethod
    def from_text(cls, text: str, **kwargs: Any) -> Dashboard:
        """A dashboard filled from a shared setup's text (``Spec.to_text``) or a spec's JSON."""
        return cls(Spec.from_text(text), **kwargs)

    def preview_data(self) -> Any:
        """Loads the data as a search would and shows what was inferred (no training, no TensorFlow)."""
        return self.form.preview_data()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> Dashboard:
        """A dashboard filled from a spec file."""
        return cls(Spec.from_file(path), **kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        self.warm_up()

    def warm_up(self) -> None:
        """Gets Run ready while the settings are read (what showing the dashboard does): spare worker
        processes import TensorFlow, and the views are made, all in the background. Spares that no
        search takes exit after a few minutes; ``TUNEWIDGETS_KEEP_WARM=0`` starts none, nor do settings that have
        problems (Run could not start) or a session whose memory is short."""
        if self._busy():
            return
        hyper = self.form.hyper
        try:
            workers = 1 if self.cluster is not None else self.spec.tuner.workers  # the cluster's own: its oracle
        except SpecError:
            workers = 0  # Run cannot start: no worker would be taken (the views are still made)
        self._spares_held_back = workers == 0 and hyper is None  # started once the problems are fixed
        # a hypermodel's discovery already runs in a worker, which then stays warm for Run
        self.launcher.warm_up(0 if hyper is not None and hyper.discovering else workers)

    def _busy(self) -> bool:
        return self.launcher.starting or (self.search is not None and self.search.running)

    # ---------------------------------------------------------------- spec <-> controls (the form)
    @property
    def spec(self) -> Spec:
        """The spec the controls describe; raises :class:`SpecError` when it is not valid."""
        return self.form.spec

    @spec.setter
    def spec(self, spec: Spec) -> None:
        """Fills every control from ``spec``."""
        self.form.set_spec(spec)

    @property
    def issues(self) -> list[Issue]:
        """Every problem of the controls' spec now (empty: Run is enabled)."""
        return self.form.issues

    _spares_held_back = False

    def _on_form_refresh(self, issues: list[Issue]) -> None:
        if not self._busy():  # (the form's first check runs while it is made: the folder is said from the next)
            known = not issues and hasattr(self, "form")
            self.bar.ready(bool(issues), self._new_folder(self.spec.name, claim=False) if known else None)
            if known and self._spares_held_back:
                self.warm_up()

    # ---------------------------------------------------------------- running
    def _data_for(self, spec: Spec) -> Any:
        """The user's own data, for a spec that reads it (a search refuses data its spec would ignore)."""
        return self.data if spec.data.source == "dataframe" or self.hypermodel is not None else None

    def _search(self, spec: Spec, folder: Path) -> Search:
        data, hypermodel, callbacks = self._data_for(spec), self.hypermodel, self.callbacks
        return Search(spec, folder, data=data, hypermodel=hypermodel, callbacks=callbacks, cluster=self.cluster)

    def _new_folder(self, name: str, claim: bool = True) -> Path:
        """Where Run searches: a new folder under the base folder, claimed (two dashboards never share one), or
        only named (``claim=False``: where Run would search now); your own tuner's search has its own."""
        if self.folder is not None:
            return self.folder
        return claim_folder(self.base_dir, name) if claim else next_folder(self.base_dir, name)

    def run(self) -> None:
        """Starts a new search with the current settings (what the Run button does); returns at once.

        The search starts on a background thread (:meth:`wait` waits for it to end).
        """
        with self._lock:
            if self._busy():
                return  # a second click while running starts nothing
            try:
                spec = self.spec
            except SpecError:
                self.form.refresh()
                return
            try:
                search = self._search(spec, self._new_folder(spec.name))
            except (SpecError, ProjectError) as e:
                self._show_error(str(e))
                return
            self._start(search)

    def resume(self) -> None:
        """Continues the last search in its folder (what the Resume button does)."""
        with self._lock:
            if self.search is None or self._busy():
                return
            old = self.search
            self._start(self._search(old.spec, old.directory))

    def stop(self) -> None:
        """Asks the running search to stop after its current epoch."""
        if self.search is not None and self._busy():
            self.launcher.stop(self.search)
            self.bar.stop_button.disabled = True
            self.bar.stop_button.description = "Stopping..."
            self.progress_view.status.value = "Stopping after the current epoch..."

    def _start(self, search: Search) -> None:
        self.search = search
        self.results = None
        self.progress_view.start()
        self.bar.running()
        self.results_panel.clear()
        self.progress_view.status.value = f"Starting in <code>{html.escape(str(search.directory))}</code>..."
        self.show_settings(False)
        self.launcher.launch(search, self._on_event, self._show_error)

    @property
    def views(self) -> list[View]:
        """The live views (plots and trial table) shown under the controls."""
        return self.launcher.views()

    @classmethod
    def open(cls, directory: str | os.PathLike[str], **kwargs: Any) -> Dashboard:
        """A dashboard showing a tunewidgets search from its folder (finished, stopped or interrupted): its spec,
        plots and results. Resume continues it when it was stopped or interrupted.

        A plain keras-tuner project folder has no settings to show or run again: it is refused with a
        :class:`tunewidgets.ProjectError` naming :func:`tunewidgets.watch` (its views, kept up to date) and
        :meth:`from_tuner` (its tuner, searched from the dashboard).
        """
        from .opening import opened

        return opened(cls, directory, **kwargs)

    @classmethod
    def from_tuner(cls, tuner: Any, *args: Any, **kwargs: Any) -> Dashboard:
        """Your keras-tuner tuner as it is, in the dashboard: ``Dashboard.from_tuner(tuner, x, y, epochs=10,
        validation_split=0.2)`` takes what your ``tuner.search(...)`` takes (see :meth:`tunewidgets.Search.from_tuner`);
        Run searches in the tuner's own ``directory/project_name``."""
        from .opening import from_tuner

        return from_tuner(cls, tuner, args, kwargs)

    def wait(self, timeout: float | None = None) -> Results | None:
        """Waits for the running search to end and the views to show it; returns its results.

        Raises the search's error if it broke (bad data, a folder in use...).
        """
        if self.search is None:
            return None
        self.launcher.started(timeout)
        results = self.search.wait(timeout)
        for view in self.launcher.made:
            view.settle(30)
        if results is None and self.search.error is not None:
            raise self.search.error  # the same message the dashboard shows
        return results

    # ---------------------------------------------------------------- events (search thread)
    def stop_trial(self, trial_id: str | None = None) -> bool:
        """Ends one running trial (the one chosen next to the button by default); the search goes on."""
        trial_id = trial_id or self.bar.trial_choice.value
        if self.search is None or not trial_id:
            return False
        stopped = bool(self.search.stop_trial(trial_id))
        if stopped:
            self.progress_view.status.value = f"Stopping trial {trial_number(trial_id)} after its current epoch..."
        return stopped

    def _on_event(self, event: Event) -> None:
        assert self.search is not None  # events come from the search
        self.progress_view.on_event(event, self.search.record)
        if isinstance(event, (TrialStarted, TrialEnded, SearchEnded)):
            self.bar.offer(list(self.progress_view.state.running))
        if isinstance(event, SearchEnded):
            self._ended(event)

    def _ended(self, event: SearchEnded) -> None:
        search = self.search
        assert search is not None  # events come from the search
        self.progress_view.ended()
        following = None if self.issues else self._new_folder(self.spec.name, claim=False)
        # the buttons first: by the time the status line says "Resume continues it", Resume does
        self.bar.stop_button.disabled = True
        self.bar.stop_button.description = "Stop"
        self.bar.resume_button.disabled = event.reason not in (EndReason.STOPPED, EndReason.FAILED)
        self.bar.ready(bool(self.issues), following)
        self.progress_view.status.value = ended_text(event, search.record, search.directory, following)
        # the settings stay folded: the curves and the best trial are what the screen shows now
        self.results = search.results  # set before the search published its end
        if self.results is not None:
            self.results_panel.show(self.results)

    def _show_error(self, message: str) -> None:
        self.progress_view.status.value = h.problems([message])


__all__ = ["Dashboard", "KnobControl", "SettingControl", "safe_folder_name"]
