"""The engine: turns a spec into a keras-tuner search that others can watch and stop.

``Search`` knows nothing of widgets or plots. Observers subscribe to
``search.events``; the dashboard and the command line are two of them. Keras is
imported when a search runs, not when this module is imported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

from ..data import Dataset, file_issues
from ..data.arrays import UserData
from ..errors import ProjectError, SearchError, SpecError
from ..events import EndReason, Event, EventBus, SearchEnded, SearchStarted, TrialEnded
from ..progress import trial_number
from ..spec import Spec
from .cluster import ClusterTarget, where_trials_train
from .folder.eventlog import EventLog, write_tables
from .folder.project import Project, ProjectLock
from .folder.protocol import pickle_callbacks
from .folder.record import SearchRecord
from .folder.store import SearchFiles, check_tuner_files, open_folder, read_record, rewrite_log
from .from_tuner import from_tuner
from .machine_checks import backend_issues, disk_notes, worker_issues
from .opened import results_of
from .own_model import check_hypermodel, hypermodel_inputs
from .pool import Job, WorkerPool, warm_up
from .results import Results
from .started import nothing_to_train, prepared_data, search_started

log = logging.getLogger(__name__)


class Search:
    """A hyperparameter search of one spec in one project directory.

    Args:
        spec: what to search (validated here; a bad spec raises :class:`SpecError`).
        directory: the project directory; results are written there as they happen.
        data: the DataFrame or ``(X, y)`` arrays for a spec with ``data.source="dataframe"``; with
            ``hypermodel``, your arrays as ``tuner.search`` takes them: ``(x, y)`` (the spec's
            ``data.validation_split`` of the last rows validates), ``(x, y, (x_val, y_val))``, or
            :class:`tunewidgets.Arrays` (test arrays too).
        hypermodel: your own ``build_model(hp)`` function or ``keras_tuner.HyperModel``, trained in place of the
            network the spec's model, regularization and optimizer sections describe; the spec's training
            and tuner sections still say how. Its hyperparameters are searched as it declares them, except
            those the spec's ``hypermodel.hyperparameters`` narrows or fixes.
        overwrite: start afresh when the directory holds another search.
        tensorboard: also write TensorBoard logs (scalars and HParams) under ``directory/tensorboard``.
        callbacks: Keras callbacks for every trial's ``fit`` (sent to the worker processes and
            copied for each trial, as keras-tuner does); one that raises fails that trial, and
            the search goes on.
        workers: how many trials train at once, each in its own process (default: the spec's
            ``tuner.workers``); with ``cluster``, how many trials (or groups of ``tuner.fuse`` trials)
            train at once on the cluster.
        cluster: train the trials on a Dask cluster: a scheduler's address (``"tcp://host:8786"``), a
            ``distributed.Client`` or cluster object you made (``LocalCluster``, dask-jobqueue, dask-kubernetes,
            dask-gateway), or ``"local-gpus"`` (one Dask worker per GPU of this machine). The oracle and every
            file stay on this machine, which opens no port; each group of trials is a Dask task (the data is sent
            once to each worker); a task whose worker is lost trains again. See the docs' "On a cluster" page.
        recycle_mb: a worker process whose memory grew by this many MB since its first trial
            hands over to a fresh one between trials (0: never).
        keep_warm: seconds a finished worker waits, TensorFlow imported, for this process's next
            search, which then starts at once instead of after the worker's start-up (default 60,
            or the ``TUNEWIDGETS_KEEP_WARM`` environment variable; 0: workers exit with the search).

    Trials train in worker processes (:mod:`tunewidgets.engine.pool`), never in this one: a
    notebook stays responsive and light, and TensorFlow's per-model memory is given back.

    A directory that holds a stopped or interrupted search of the same spec is
    resumed: finished trials are kept, an interrupted one runs again.

    Example:
        >>> s = Search(Spec(), "runs/demo")          # doctest: +SKIP
        >>> s.events.subscribe(print)                 # doctest: +SKIP
        >>> results = s.run()                         # doctest: +SKIP
    """

    def __init__(
        self,
        spec: Spec,
        directory: str | os.PathLike[str],
        *,
        data: Any = None,
        hypermodel: Any = None,
        overwrite: bool = False,
        tensorboard: bool = False,
        callbacks: list[Any] | None = None,
        workers: int | None = None,
        cluster: Any = None,
        listen: str | None = None,
        recycle_mb: float = 300.0,
        keep_warm: float | None = None,
    ):
        spec = spec if workers is None else spec.replace(**{"tuner.workers": workers})
        if not str(directory).strip():
            raise ProjectError("the folder for the search's results is empty: name one, such as runs/my-search")
        self.packed, self.arrays, spec = hypermodel_inputs(hypermodel, data, spec)  # the user's own model and arrays
        #: where the trials train: None for this machine's worker processes, else the Dask cluster
        self.cluster: ClusterTarget | None = where_trials_train(cluster, listen)
        issues = spec.validate()
        issues = issues or ([] if self.packed else file_issues(spec))  # a CSV file that is not there, a column it lacks
        # what this machine allows: workers against its cores, memory and the trials
        issues = issues or backend_issues() + worker_issues(spec, local=self.cluster is None)
        if issues:
            raise SpecError(issues)
        self.spec = spec
        self.pickled_callbacks = pickle_callbacks(callbacks or [])
        self.recycle_mb = recycle_mb
        self.keep_warm = keep_warm
        self.directory = Path(directory)
        self.project = Project(self.directory)
        self.data = data
        self.overwrite = overwrite
        self.tensorboard = tensorboard
        self.events = EventBus()
        self.record = SearchRecord()
        self.events.subscribe(self._apply)
        self.error: BaseException | None = None
        self.end_reason: EndReason | None = None
        self.results: Results | None = None
        self.dataset: Dataset | UserData | None = None  # the prepared data, once the search has started
        #: your own hypermodel's hyperparameters (keras-tuner's configs), once the search has found them
        self.space: list[dict[str, Any]] | None = None
        #: what could not be read of the folder's record (a damaged event log), told at the start of a run
        self.notes: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = threading.Lock()
        self._pool: WorkerPool | None = None
        #: How many worker processes the last run started (replacements of retired or crashed ones included).
        self.worker_processes = 0

    @classmethod
    def from_tuner(cls, tuner: Any, *args: Any, **kwargs: Any) -> Search:
        """Your keras-tuner tuner as it is: ``Search.from_tuner(tuner, x, y, epochs=10, validation_split=0.2)``
        takes what your ``tuner.search(...)`` takes, and keeps what the tuner says (its oracle and settings, the
        objective, executions per trial, a tailored space, the seed, its ``directory/project_name``: afterwards
        your ``tuner.reload()`` and ``tuner.get_best_models()`` read this search). What tunewidgets adds is asked
        by keyword: ``workers``, ``fuse``, ``cluster``, ``pruning`` ("median" or "asha"), ``target``, ``tpe=True``,
        ``tensorboard``, ``keep_warm``."""
        from .from_tuner import split_options

        spec_changes, options, fit_kwargs = split_options(kwargs)
        made = from_tuner(tuner, args, fit_kwargs)
        Project(made.folder).keep_tuner_outside()
        spec = made.spec.replace(**spec_changes).check() if spec_changes else made.spec
        return cls(spec, made.folder, hypermodel=made.hypermodel, data=made.data, callbacks=made.callbacks, **options)

    # ------------------------------------------------------------------ control
    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`stop` was called: the running trials end after their current epoch."""
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        """Whether the search is running now (in this process)."""
        return self._running.locked()

    def stop(self) -> None:
        """Asks the search to stop: the current epoch finishes and everything so far is kept."""
        self._stop.set()
        pool = self._pool
        if pool is not None:
            pool.stop()

    def warm_up(self) -> int:
        """Starts this search's worker processes now, in the background, without training yet.

        They import TensorFlow while you do something else and wait for :meth:`start` or :meth:`run`
        (up to ``tunewidgets.engine.warm.SPARE_SECONDS``), which then trains its first epoch at once.
        Never blocks; returns how many were started (none when as many already wait, or with
        ``keep_warm=0``). A dashboard does this when it is shown.
        """
        if self.keep_warm == 0:
            return 0
        return warm_up(1 if self.cluster is not None else self.spec.tuner.workers)

    def start(self) -> threading.Thread:
        """Runs the search in a background thread and returns at once.

        Errors are kept in ``self.error`` and published as a ``SearchEnded`` event.
        """
        if self.running:
            raise RuntimeError("this search is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run_quietly, name=f"tunewidgets:{self.spec.name}", daemon=True)
        self._thread.start()
        return self._thread

    def wait(self, timeout: float | None = None) -> Results | None:
        """Waits for a background search; returns its results (``None`` on timeout)."""
        if self._thread is None:
            return self.results
        self._thread.join(timeout)
        return None if self._thread.is_alive() else self.results

    def _run_quietly(self) -> None:
        try:
            self.run()
        except BaseException as e:  # noqa: BLE001 - kept for the caller, published as an event
            self.error = e

    def _apply(self, event: Event) -> None:
        self.record.apply(event)

    # ------------------------------------------------------------------ running
    def run(self) -> Results:
        """Runs (or resumes) the search here and returns its results when it ends."""
        if not self._running.acquire(blocking=False):
            raise RuntimeError("this search is already running")
        lock = ProjectLock(self.directory)
        try:
            try:
                lock.acquire()
            except ProjectError as e:  # observers still learn that this search ended
                self.error, self.end_reason = e, EndReason.ERROR
                self.events.publish(SearchEnded(EndReason.ERROR, str(e)))
                raise
            self.error = None
            self.end_reason = None
            results, interrupt = self._run_locked()
            if interrupt is not None:
                raise interrupt  # recorded as stopped; the caller still sees the interrupt
            return results
        finally:
            lock.release()
            self._stop.clear()
            self._running.release()

    def _run_locked(self) -> tuple[Results, KeyboardInterrupt | None]:
        eventlog: EventLog | None = None
        unsubscribe = unfile = None
        self._write_error: ProjectError | None = None
        reason, message = EndReason.ERROR, ""
        interrupt: KeyboardInterrupt | None = None
        unwatch = None
        try:
            resumed = self._prepare_directory()
            self.record, self.notes = read_record(self.project)
            self.record.mark_interrupted()
            ended = nothing_to_train(self.record) if resumed else None
            if ended is not None:
                return self._finish(*ended), None  # told to the observers, not written to the log
            if self.packed is not None:
                self.space = check_hypermodel(self.project, self.packed, self.spec, resumed=resumed)
            if resumed:
                check_tuner_files(self.project, len(self.record.completed()))
                if self.notes:  # the log was damaged or deleted: written anew from the record, then appended to
                    rewrite_log(self.project, self.record)
            eventlog = EventLog(self.project.events, on_error=self._write_failed)
            unsubscribe = self.events.subscribe(eventlog)
            unfile = self.events.subscribe(SearchFiles(self.project, self.record, self._write_failed))
            self._target_hit: TrialEnded | None = None
            unwatch = self.events.subscribe(self._watch_target, TrialEnded)
            job = Job(
                self.directory,
                workers=self.spec.tuner.workers,
                cluster="" if self.cluster is None else self.cluster.address,
                cluster_env=() if self.cluster is None else self.cluster.env,
                recycle_mb=self.recycle_mb,
                keep_warm=self.keep_warm,
                tensorboard=self.tensorboard,
                callbacks=self.pickled_callbacks,
            )
            self._pool = WorkerPool(job, self.events.publish)
            if self.stop_requested:
                self._pool.stop()
            self._pool.launch()  # they import TensorFlow while the data is prepared here
            self.dataset = dataset = prepared_data(self.project, self.spec, self.data, self.arrays)
            self.events.publish(self._started(dataset, resumed))
            reason, message, interrupt = self._pool.run()
            if self._write_error is not None:
                raise self._write_error
            if reason is EndReason.ERROR and interrupt is None:
                raise SearchError(message)  # a worker broke: the caller hears why (the trials so far are kept)
            hit = self._target_hit
            if hit is not None and reason in (EndReason.STOPPED, EndReason.COMPLETED) and interrupt is None:
                reason = EndReason.TARGET_REACHED
                message = (
                    f"target reached: trial {trial_number(hit.trial_id)} scored {hit.score:.4f} "
                    f"(target {self.spec.tuner.target:g})"
                )
        except BaseException as e:
            ours = isinstance(e, (SearchError, ProjectError, SpecError))
            reason, message = EndReason.ERROR, str(e) if ours else f"{type(e).__name__}: {e}"
            self.error = e
            if self._pool is not None:
                self._pool.abort()
            raise
        finally:
            if self._pool is not None:
                self.worker_processes = self._pool.started
            self._pool = None
            if eventlog is not None or self.error is not None:
                self._finish(reason, message)
            for undo in (unsubscribe, unwatch, unfile):
                if undo is not None:
                    undo()
            if eventlog is not None:
                eventlog.close()
                with contextlib.suppress(OSError):  # tables are derived: the trials' own files are kept
                    write_tables(self.record, self.directory)
        assert self.results is not None
        return self.results, interrupt

    def _write_failed(self, error: OSError) -> None:
        """A result could not be written (a full disk, a folder made read-only): the search stops, with that said."""
        if self._write_error is not None:
            return
        self._write_error = ProjectError(
            f"cannot write the search's results in {self.directory.resolve()}: {error.strerror or error}; "
            "the search stopped. Every trial that ended before is kept; free some space (or make the folder "
            "writable) and run the same search again to resume"
        )
        self.stop()

    def _watch_target(self, event: Event) -> None:
        """Ends the search (the current epoch of every other trial finishes) once a trial reaches the target."""
        target = self.spec.tuner.target
        if target is None or self._target_hit is not None or not isinstance(event, TrialEnded):
            return
        score = event.score if event.status.has_score() else None
        if score is not None and (score == target or self.record.direction.better(score, target)):  # reached
            self._target_hit = event
            if self._pool is not None:
                self._pool.stop()

    def stop_trial(self, trial_id: str) -> bool:
        """Ends one running trial after its current epoch, scored by its best epoch so far; the search goes on.

        Returns False when no trial of that id is training now.
        """
        pool = self._pool
        return pool is not None and pool.stop_trial(trial_id)

    def _finish(self, reason: EndReason, message: str) -> Results:
        """Keeps the search's results, then publishes its end (a subscriber of ``SearchEnded`` reads
        ``search.results``: there is one way to make them)."""
        best = self.record.best()
        self.end_reason = reason
        self.results = results_of(self.directory, self.spec, self.record)  # set first: subscribers read it
        self.events.publish(SearchEnded(reason, message, best.trial_id if best else None, best.score if best else None))
        return self.results

    def _started(self, dataset: Any, resumed: bool) -> SearchStarted:
        """The start of a run: what it will train, what the data preparation did, what came before."""
        notes = self.notes + ([] if self.packed else disk_notes(self.spec, dataset, self.directory))
        return search_started(self.spec, dataset, self.record, resumed=resumed, notes=notes)

    # ------------------------------------------------------------------ project
    def _prepare_directory(self) -> bool:
        """Checks the project directory; returns whether this resumes a search."""
        return open_folder(self.project, self.spec, overwrite=self.overwrite)


def run(spec: Spec, directory: str | os.PathLike[str], **kwargs: Any) -> Results:
    """Runs a search to its end (see :class:`Search` for the arguments)."""
    return Search(spec, directory, **kwargs).run()


__all__ = ["Search", "run", "warm_up"]
