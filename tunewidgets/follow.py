"""Any keras-tuner search, live: one callback for the user's own ``tuner.search(...)``, and a watcher of a search
folder another process writes (:func:`watch`).

``tuner.search(x, y, epochs=10, validation_split=0.2, callbacks=[tunewidgets.live()])`` shows the live
views in the notebook while that search runs, per-epoch training curves included, and records every epoch
beside keras-tuner's files (``<project>/tunewidgets/events.jsonl``, a folder keras-tuner ignores), so a later
``tunewidgets.load(project)`` shows the curves too. keras-tuner deep-copies the callbacks for each trial:
every copy is this one object, so one record and one set of views follow the whole search.
"""

from __future__ import annotations

import contextlib
import html
import os
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from ._kt_frames import running_trial
from ._memory import FREE_MEMORY, memory_short
from .engine.folder.eventlog import EventLog
from .engine.folder.record import SearchRecord
from .engine.folder.tuner_files import KerasTunerStatus
from .engine.ktproject import tuner_kind, watched_events
from .errors import MemoryWarning
from .events import Direction, EpochEnded, Event, SearchStarted, TrialEnded, TrialStarted, TrialStatus

_CLASS: Any = None

#: What a keras-tuner search training in this kernel needs beside what it imported (MB): the guide's program of
#: notebook 10 (3 trials x 2 runs) grew its kernel by about 70 MB of its own after Keras was imported; more for a
#: larger model.
IN_KERNEL_SEARCH_MB = 256.0


def live(tuner: Any = None, *, show: bool = True, interval: float = 0.5) -> Any:
    """A Keras callback that shows a keras-tuner search live and records its curves.

    Args:
        tuner: the keras-tuner tuner running the search; found from the running search when not given.
        show: display the live views (in a notebook; elsewhere only the curves are recorded).
        interval: seconds between redraws of the views.

    Warns:
        MemoryWarning: when the session's memory is short for a search in this kernel (what it has, what holds
            it, how to free it); the callback is made all the same.

    Example:
        >>> tuner.search(x, y, epochs=10, validation_split=0.2, callbacks=[tunewidgets.live()])  # doctest: +SKIP
    """
    global _CLASS
    if tuner is not None and not (hasattr(tuner, "oracle") and hasattr(tuner, "search")):
        raise TypeError(
            f"tw.live(tuner=...): expected the keras-tuner tuner running the search, got {type(tuner).__name__}; "
            "or leave it out: tw.live() finds the search it is given to"
        )
    if _CLASS is None:
        import keras

        _CLASS = type("LiveSearch", (_LiveSearch, keras.callbacks.Callback), {})
    callback = _CLASS()
    callback.setup(tuner, show=show, interval=interval)
    short = memory_short(IN_KERNEL_SEARCH_MB)
    if short is not None:  # said before the search starts, as a dashboard says it above Run
        warnings.warn(
            f"{short} {FREE_MEMORY} The search trains in this kernel: it still starts, but the system may kill "
            "this kernel for memory (its trials so far stay in the tuner's folder).",
            MemoryWarning,
            stacklevel=2,
        )
    return callback


def _not_called(*_: Any, **__: Any) -> None:
    raise TypeError("callbacks=[tw.live] gives the function itself: call it, callbacks=[tw.live()]")


# ``callbacks=[tw.live]``: Keras asks the function for what a callback has; it says what to write instead
for _method in ("set_model", "set_params", "on_train_begin", "on_epoch_end"):
    setattr(live, _method, _not_called)


class _LiveSearch:
    """The callback's work (mixed with ``keras.callbacks.Callback`` by :func:`live`)."""

    model: Any

    def setup(self, tuner: Any, *, show: bool, interval: float) -> None:
        self.tuner = tuner
        self.given = tuner is not None  # tw.live(tuner=...): only that tuner's search is followed
        self.warned: set[str] = set()
        self.show = show
        self.interval = interval
        self.record = SearchRecord()
        self.views: Any = None
        self.log: EventLog | None = None  # open while a trial trains: keras-tuner tells no callback its search ended
        self.log_path: Path | None = None
        self.trial_id: str | None = None
        self.execution = -1
        self.ended = True
        self.fitting = True  # the trial began with on_train_begin (Model.fit), not with its first epoch

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self  # keras-tuner copies the callbacks for each trial: every copy is this one

    # ------------------------------------------------------------------ Keras' hooks
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._follow(fitting=True)

    def _follow(self, *, fitting: bool) -> None:
        """The trial training now begins here (``fitting``: ``Model.fit``'s own start, a new execution of the
        same trial too); a HyperModel's own training loop calls no ``on_train_begin``: its first epoch does."""
        found = self._running_trial()
        if found is None:
            return
        tuner, trial = found
        if self.log_path is None:
            self._start(tuner)
        if trial.trial_id != self.trial_id:
            if not self.ended and self.trial_id is not None:  # the last one ended without on_train_end
                self._publish(self._unheard_end(tuner))
            self.trial_id, self.execution, self.ended = str(trial.trial_id), 0, False
            self.fitting = fitting
            self._publish(TrialStarted(self.trial_id, dict(trial.hyperparameters.values), worker=str(tuner.tuner_id)))
        elif fitting:
            self.execution += 1

    def _unheard_end(self, tuner: Any) -> TrialEnded:
        """How the last trial ended, as keras-tuner's oracle recorded it (a loop of its own, or it raised)."""
        assert self.trial_id is not None
        trial = tuner.oracle.trials.get(self.trial_id)
        status = str(getattr(trial, "status", ""))
        if status == KerasTunerStatus.COMPLETED and trial.score is not None:
            best = None if trial.best_step is None else int(trial.best_step) + 1
            return TrialEnded(self.trial_id, TrialStatus.COMPLETED, float(trial.score), best, 0.0, "")
        return TrialEnded(self.trial_id, TrialStatus.FAILED, None, None, 0.0, "it raised before it ended")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.trial_id is None or (self.ended or not self.fitting):  # a loop of its own: which trial is it?
            self._follow(fitting=False)
        if self.trial_id is None or self.ended:
            return
        metrics = {}
        for k, v in (logs or {}).items():
            try:
                metrics[k] = float(v)
            except (TypeError, ValueError):
                continue
        self._publish(EpochEnded(self.trial_id, epoch + 1, metrics, execution=self.execution))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        tuner = self.tuner
        if self.trial_id is None or self.ended or tuner is None:
            return
        if self.execution + 1 < int(getattr(tuner, "executions_per_trial", 1) or 1):
            return
        self.ended = True
        score, best = self._best_epoch()
        status = TrialStatus.COMPLETED if score is not None else TrialStatus.FAILED
        message = "" if score is not None else f"no {self.record.objective} was logged"
        self._publish(TrialEnded(self.trial_id, status, score, best, 0.0, message))

    def _best_epoch(self) -> tuple[float | None, int | None]:
        """The trial's best value of the objective and its epoch, from the curves seen (keras-tuner's own score,
        averaged over executions, is what ``tunewidgets.load`` reads from its files afterwards)."""
        trial = self.record.trials.get(self.trial_id or "")
        points = [(e, v) for e, v in (trial.curves.get((0, self.record.objective), []) if trial else []) if v == v]
        if not points:
            return None, None
        epoch, value = self.record.direction.pick(points, key=lambda p: p[1])
        return value, epoch

    # ------------------------------------------------------------------ the search
    def _running_trial(self) -> tuple[Any, Any] | None:
        """The tuner and the trial training now: keras-tuner's loop holds them in the frames that called fit.
        Another tuner's search than the one followed so far is a new search, recorded in its own folder (unless
        ``tuner=`` named the first); a fit outside any search is said once."""
        found = running_trial()
        if found is None:
            self._warn_once(
                "outside",
                "tw.live() records keras-tuner searches, and this fit runs outside one: give it to the search, "
                "tuner.search(..., callbacks=[tw.live()])",
            )
            return None
        owner, trial = found
        if self.tuner is not None and owner is not self.tuner:
            if self.given:
                named = getattr(self.tuner, "project_dir", "?")
                self._warn_once(
                    "other",
                    f"tw.live(tuner=...) names the tuner of {named}, but it was given to the search of "
                    f"{getattr(owner, 'project_dir', '?')}: nothing of that search is recorded; leave tuner= out",
                )
                return None
            self._next_search()
        self.tuner = owner
        return owner, trial

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            warnings.warn(message, UserWarning, stacklevel=4)

    def _next_search(self) -> None:
        """The same callback given to another tuner's search: the first one's record is closed (its trial
        ended as its oracle says) and the new search gets its own, in its own folder."""
        if self.tuner is not None and not self.ended and self.trial_id is not None:
            self._publish(self._unheard_end(self.tuner))
        if self.log is not None:
            self.log.close()
        self.record, self.views, self.log, self.log_path = SearchRecord(), None, None, None
        self.trial_id, self.execution, self.ended = None, -1, True

    def _start(self, tuner: Any) -> None:
        oracle = tuner.oracle
        self.log_path = watched_events(Path(tuner.project_dir))
        objective = oracle.objective
        self._publish(
            SearchStarted(
                name=Path(tuner.project_dir).name,
                objective=str(objective.name),
                direction=Direction(objective.direction),
                algorithm=tuner_kind(oracle.get_state(), []),
                planned_trials=getattr(oracle, "max_trials", None),
                epochs=0,
                resumed=False,
            )
        )
        if self.show:
            self.views = _show_views(self.record, self.interval)

    def _publish(self, event: Event) -> None:
        self.record.apply(event)
        if self.log is None and self.log_path is not None:
            self.log = EventLog(self.log_path)
        if self.log is not None:
            self.log(event)
            if isinstance(event, TrialEnded):  # closed between trials, so the last trial's end closes it for good
                self.log.close()
                self.log = None
        if self.views is not None:
            self.views.on_event(event)


def _show_views(record: SearchRecord, interval: float) -> Any:
    """The live views, displayed in a notebook (None elsewhere: only the curves are recorded)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return None
    if shell is None or not hasattr(shell, "kernel"):
        return None
    from IPython.display import display

    from .plots.live import LiveViews

    views = LiveViews(record, interval=interval)
    display(views)
    return views


class Watcher:
    """A search folder's views, kept up to date while another process or kernel runs the search there.

    Every ``interval`` seconds it looks at the files' sizes and times (nothing is opened when nothing changed),
    reads the folder again when something did, and redraws; its status line says how many trials there are and
    when the folder last changed, and says so when nothing has changed for ``quiet`` seconds. It only reads.
    """

    def __init__(self, path: str | os.PathLike[str], *, interval: float = 1.0, quiet: float = 60.0):
        import ipywidgets as w

        from .engine.opened import load
        from .plots.live import LiveViews

        self.path = Path(path)
        self.interval = interval
        self.quiet = quiet
        self._load = load
        self.results = load(self.path)  # a folder that holds no search is refused here
        self.views = LiveViews(self.results)
        self.views.reset(self.results)
        self.status = w.HTML()
        self.widget = w.VBox([self.status, self.views.widget])
        self._seen = self._stamp()
        self._changed = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tunewidgets-watch", daemon=True)
        self._say()
        self._thread.start()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _stamp(self) -> tuple[tuple[str, int, int], ...]:
        """The size and time of every file the folder's record is read from."""
        out = []
        for p in sorted(self.path.rglob("*.json*")):
            with contextlib.suppress(OSError):
                st = p.stat()
                out.append((str(p), st.st_size, st.st_mtime_ns))
        return tuple(out)

    def poll(self) -> bool:
        """Reads the folder again if a file changed; returns whether it did."""
        stamp = self._stamp()
        if stamp == self._seen:
            self._say()
            return False
        self._seen, self._changed = stamp, time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a file caught mid-write is read again at the next change
            self.results = self._load(self.path)
        self.views.reset(self.results)
        self._say()
        return True

    def _say(self) -> None:
        counts = self.results.record.counts()
        idle = time.monotonic() - self._changed
        text = f"{len(self.results.record.trials)} trials ({counts['running']} running), {self.results.status}"
        if self.results.status == "running" and idle > self.quiet:
            text += f"; nothing has changed for {idle:.0f} s: is the search still running?"
        notes = getattr(self.results, "notes", None) or []  # a damaged or missing file: said here as tw.load says it
        said = "".join(f"<br>&#9888; {html.escape(note)}" for note in notes)
        self.status.value = f"Watching {html.escape(str(self.path))}: {html.escape(text)}{said}"

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):  # a watcher never breaks the kernel; the next poll tries again
                self.poll()

    def stop(self) -> None:
        """Stops watching (the views stay as they are)."""
        self._stop.set()


def watch(path: str | os.PathLike[str], *, interval: float = 1.0, quiet: float = 60.0) -> Watcher:
    """Live views of a search folder another process or kernel is writing: a keras-tuner project
    (``directory/project_name``) or a tunewidgets search. Read-only.

    Example:
        >>> tunewidgets.watch("my_dir/my_project")   # doctest: +SKIP
    """
    return Watcher(path, interval=interval, quiet=quiet)


__all__ = ["Watcher", "live", "watch"]
