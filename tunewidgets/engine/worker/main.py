"""A worker process: trains a search's trials, reports each event to a file the controller reads.

Trials never train in the notebook's kernel. The controller (:mod:`tunewidgets.engine.pool`)
starts one or more of these processes; each reads the spec and the prepared data from the
project folder and runs the trial loop (:mod:`tunewidgets.engine.worker.loop`) over keras-tuner's oracle.

Roles:

* ``solo``: the only worker; keeps keras-tuner's oracle in this process.
* ``chief``: keeps the oracle and serves it to the others over gRPC (keras-tuner's
  ``OracleServicer``), while training trials like any worker.
* ``client``: asks the chief for trials (keras-tuner's ``OracleClient``; the chief's loopback address
  comes from ``workers/chief.json``).
* ``cluster``: keeps the oracle and sends the trials to a Dask cluster (``--cluster ADDRESS``), training none
  itself (:mod:`tunewidgets.engine.worker.driver`).

The files it shares with the controller are described in :mod:`tunewidgets.engine.folder.protocol`.

Why processes: TensorFlow keeps part of every traced model alive even after
``keras.backend.clear_session()`` (about 6 MB per small trial, measured: 80 trials of a plain
Keras loop grew 600 MB per 100 trials). A worker therefore retires once its memory has grown
by ``--recycle-mb`` and a fresh one takes over; the oracle's state on disk makes that a
resume. It also keeps the kernel light and responsive, and lets trials run in parallel.

Usage (what the controller runs)::

    python -m tunewidgets.engine.worker PROJECT --id tuner1 --role client
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from ..._atomic import atomic_write_text
from ..._memory import rss_mb
from ...events import EventBus
from ...spec import Spec
from ..folder.eventlog import EventLog
from ..folder.project import Project
from ..folder.protocol import LEFT_WAITING, Role, WorkerEnd, WorkerEndRecord, WorkerFiles
from .chief import ChiefServer, wait_for_chief
from .lean import import_keras_tuner
from .standby import next_assignment, redirect_output, stand_by


class WorkerContext:
    """What the trial loop sees of its worker: the spec, an event sink, the stop and retire checks."""

    def __init__(self, project: Path, worker_id: str, *, recycle_mb: float, parent: int | None):
        self.project = Project(project)
        self.files = WorkerFiles(self.project.workers)
        self.worker_id = worker_id
        self.spec = Spec.from_file(self.project.spec)
        self.events = EventBus()
        self.log = EventLog(self.files.events(worker_id))
        self.events.subscribe(self.log)
        self.recycle_mb = recycle_mb
        self.parent = parent
        self.trials = 0
        self._stop_file = self.files.stop

    @property
    def stop_requested(self) -> bool:
        return self._stop_file.exists() or self.orphaned

    @property
    def orphaned(self) -> bool:
        """The controller that started this process is gone."""
        return self.parent is not None and os.getppid() != self.parent

    def trial_stop_requested(self, trial_id: str) -> bool:
        """The user stopped this one trial."""
        return self.files.stop_trial(trial_id).exists()

    def trial_started(self) -> None:
        global _baseline_mb
        self.trials += 1
        if self.trials == 2 and _baseline_mb is None:
            # the process's first trial paid TensorFlow's one-time costs: measure growth from here, for the
            # process's whole life (a warm worker carries what earlier searches left)
            _baseline_mb = rss_mb()

    def should_retire(self) -> bool:
        """Called before each trial: has memory grown enough that a fresh process should take over?"""
        return _grown(self.recycle_mb)


#: This process's memory after its first trial (None before that).
_baseline_mb: float | None = None


def _grown(limit_mb: float) -> bool:
    return limit_mb > 0 and _baseline_mb is not None and rss_mb() - _baseline_mb > limit_mb


def _die_with_parent(parent: int) -> None:
    """Linux: get SIGTERM when the controller dies, so no worker outlives it."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # died before prctl took effect
        sys.exit(0)


def _wait_for_go(ctx: WorkerContext) -> None:
    """Waits until the controller has the data ready (it starts workers early so imports overlap)."""
    while not ctx.files.go.exists():
        if ctx.stop_requested:
            sys.exit(0)
        time.sleep(0.05)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tunewidgets.engine.worker", description=__doc__)
    parser.add_argument("project", type=Path, nargs="?", help="the search's folder (none with --spare)")
    parser.add_argument("--id", dest="worker_id", default="tuner0")
    parser.add_argument("--role", type=Role, choices=list(Role), default=Role.SOLO)
    parser.add_argument("--cluster", help="cluster: the Dask scheduler's address")
    parser.add_argument("--recycle-mb", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=0, help="cores each worker may use (0: all)")
    parser.add_argument("--tensorboard", action="store_true")
    parser.add_argument("--parent", type=int, help="the controller's process id (exit when it is gone)")
    parser.add_argument("--evaluate", metavar="TRIAL", help="a task, not a search: score a trial on the test split")
    parser.add_argument(
        "--save-model", nargs=2, metavar=("TRIAL", "PATH"), help="a task, not a search: save a trial's model"
    )
    parser.add_argument(
        "--discover", action="store_true", help="a task, not a search: the hyperparameters of hypermodel.pkl"
    )
    parser.add_argument(
        "--spare",
        action="store_true",
        help="no search yet: import Keras, then wait --keep-warm seconds for one on stdin (a dashboard just shown)",
    )
    parser.add_argument(
        "--keep-warm",
        type=float,
        default=0.0,
        help="after the search, wait this many seconds for the controller to hand over another one on stdin",
    )
    return parser


def run(argv: list[str] | None = None, *, hard_exit: bool = False) -> int:
    """Trains as one worker; ``hard_exit`` (the process entry point) skips the interpreter's teardown.

    The process entry point may also stay warm: after its search it waits ``--keep-warm`` seconds
    for the controller to send another search (one JSON line on stdin:
    ``{"argv": [...], "log": PATH, "env": {...}}``) and trains that one with TensorFlow already imported.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.project is None and not args.spare:
        parser.error("the search's folder is required (unless --spare)")
    if args.parent:
        _die_with_parent(args.parent)
    code, warm = stand_by() if args.spare else _run_search(args, may_stay=hard_exit)
    while warm:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(143))  # while it waits, SIGTERM ends the process
        assignment = next_assignment(args.keep_warm, args.parent)
        if assignment is None:
            code = LEFT_WAITING  # (a search handed over as it left is started afresh by its controller)
            break
        redirect_output(assignment["log"])
        os.environ.clear()
        os.environ.update(assignment["env"])
        args = parser.parse_args(assignment["argv"])
        code, warm = _run_search(args, may_stay=hard_exit)
    if hard_exit:
        # Everything is on disk (events fsynced, end file written, the oracle saved by keras-tuner
        # at each trial end); skip TensorFlow's slow interpreter teardown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _run_search(args: argparse.Namespace, *, may_stay: bool) -> tuple[int, bool]:
    """Trains one search's trials; returns the exit code and whether to stay warm for another."""
    terminate = threading.Event()
    # SIGTERM: a chief finishes serving (the search is over); any other worker ends at once, like a crash
    # (its trial is recorded by the controller), and writes nothing a newer worker could be confused by
    signal.signal(signal.SIGTERM, lambda *_: terminate.set() if args.role is Role.CHIEF else os._exit(143))

    cluster = None
    if args.role is Role.CLUSTER:  # connected first: the Dask workers import Keras while this process does
        from .scheduler import SECURITY_ENV, Cluster

        cluster = Cluster(args.cluster, os.environ.pop(SECURITY_ENV, ""))
    # the slow import (TensorFlow) first, while the controller prepares the data
    held = import_keras_tuner()
    if held:
        print(f"tunewidgets worker: keras-tuner imported without {', '.join(sorted(held))} (unused here)", flush=True)
    if args.evaluate or args.save_model or args.discover:
        return _run_task(args, may_stay=may_stay)

    ctx = WorkerContext(args.project, args.worker_id, recycle_mb=args.recycle_mb, parent=args.parent)
    _wait_for_go(ctx)
    reason, message = WorkerEnd.DONE, ""
    server: ChiefServer | None = None
    interrupted = False
    try:
        if args.role is Role.CLIENT:
            address = wait_for_chief(ctx.files, lambda: ctx.stop_requested)
            host, _, port = address.rpartition(":")
            os.environ.update(
                KERASTUNER_TUNER_ID=args.worker_id, KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=port
            )
        else:  # never let an inherited setting turn this process into a client
            for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
                os.environ.pop(name, None)
        reason, message, server = _train(ctx, args, cluster)
    except KeyboardInterrupt:
        reason, message, interrupted = WorkerEnd.STOPPED, "interrupted", True
    except SystemExit:  # the search was stopped before this worker began
        reason, message = WorkerEnd.STOPPED, "stopped before it began"
    except BaseException as e:  # recorded for the controller; the process fails
        from ...model.user import ArraysMisfit
        from ..folder.travel import MissingModule

        plain = isinstance(e, (MissingModule, ArraysMisfit))  # said as is: what to do is in it
        reason, message = WorkerEnd.ERROR, str(e) if plain else f"{type(e).__name__}: {e}"
        traceback.print_exc()
    finally:
        if cluster is not None:
            cluster.close()
        ctx.log.close()
        # an interrupted or grown worker is not worth keeping
        warm = (
            may_stay
            and args.keep_warm > 0
            and reason in (WorkerEnd.DONE, WorkerEnd.STOPPED)
            and not interrupted
            and not _grown(args.recycle_mb)
        )
        ctx.files.write_end(args.worker_id, WorkerEndRecord(reason, message, os.getpid(), warm))
        if server is not None:  # keep serving the oracle until the controller says the search is over
            while not terminate.is_set() and not ctx.orphaned:
                terminate.wait(0.2)
            server.stop()
            atomic_write_text(ctx.files.served(args.worker_id), str(os.getpid()))
    return (1 if reason is WorkerEnd.ERROR else 0), warm


def _run_task(args: argparse.Namespace, *, may_stay: bool) -> tuple[int, bool]:
    """Scores or saves one trial's model (``--evaluate``, ``--save-model``); the controller waits for the end file."""
    reason, message = WorkerEnd.DONE, ""
    try:
        from .task import discover, evaluate, save_model

        if args.discover:
            discover(args.project)
        if args.evaluate:
            evaluate(args.project, args.evaluate)
        if args.save_model:
            save_model(args.project, *args.save_model)
    except Exception as e:  # noqa: BLE001 - reported to the caller, who raises it
        reason = WorkerEnd.ERROR
        from ..folder.travel import MissingModule

        if isinstance(e, MissingModule):
            message = str(e)
        elif isinstance(e, OSError):  # its first argument is an error number: say what it means, and where
            message = f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")
        elif args.discover:
            from ...model.user import build_failure

            message = build_failure(e)
        elif isinstance(e, (LookupError, ValueError)):
            message = str(e.args[0]) if e.args else str(e)
        else:
            message = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    warm = may_stay and args.keep_warm > 0 and not _grown(args.recycle_mb)
    WorkerFiles(Project(args.project).workers).write_end(
        args.worker_id, WorkerEndRecord(reason, message, os.getpid(), warm)
    )
    return (0 if reason is WorkerEnd.DONE else 1), warm


def _train(ctx: WorkerContext, args: argparse.Namespace, cluster: Any) -> tuple[WorkerEnd, str, ChiefServer | None]:
    from .device import configure_gpu, limit_threads
    from .heap import frozen_heap
    from .kt_tuner import load_inputs

    dataset, user = load_inputs(ctx.project, ctx.spec)  # the user's own hypermodel and arrays, or the spec's data
    import keras

    print(
        f"tunewidgets worker {ctx.worker_id} ({args.role.value}), pid {os.getpid()}, "
        f"Keras backend {keras.backend.backend()}",
        flush=True,
    )
    if cluster is None:
        configure_gpu()
    if args.threads:
        limit_threads(args.threads)

    from ...model.boundary import BoundaryGrid, applies
    from ...model.spec_hypermodel import SpecHyperModel
    from ...model.user import UserHyperModel
    from .kt_tuner import grouped, loop_settings, make_tuner, override_hyperparameters
    from .loop import TrialLoop
    from .outcomes import Retire, StopRequested, TooManyFailures

    callbacks: list[Any] = []
    if ctx.files.callbacks.exists():
        from ..folder.travel import loads

        callbacks = loads(ctx.files.callbacks.read_bytes(), "the callbacks")
    if args.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(ctx.project.tensorboard)))
    hypermodel = UserHyperModel(user, ctx.spec, dataset) if user is not None else SpecHyperModel(ctx.spec, dataset)
    overrides = override_hyperparameters(ctx.project, ctx.spec)
    directory, project_name = ctx.project.tuner_location()  # keras_tuner/ here, or your own tuner's project
    tuner = make_tuner(ctx.spec, hypermodel, dataset.task, directory, project_name, overrides)
    server = None
    if args.role is Role.CHIEF:
        server = ChiefServer(tuner.oracle)
        ctx.files.announce_chief(server.host, server.port, os.getpid())
    settings = loop_settings(ctx.spec, dataset.task, grouped=grouped(hypermodel), tensorboard=args.tensorboard)
    loop: Any
    if cluster is not None:
        from .driver import ClusterDriver
        from .payload import session_of

        session = session_of(ctx.project, ctx.files, dataset, tensorboard=args.tensorboard)
        loop = ClusterDriver(cluster, tuner, ctx, settings, session, slots=ctx.spec.tuner.workers)
    else:
        loop = TrialLoop(
            tuner,
            hypermodel,
            settings,
            ctx,
            fit_args=(dataset.x_train, dataset.y_train),
            fit_kwargs={"validation_data": (dataset.x_val, dataset.y_val)},
            callbacks=callbacks,
            boundary=BoundaryGrid(dataset) if user is None and applies(dataset) else None,
        )
    from .scheduler import ClusterError

    try:
        with frozen_heap():
            loop.run()
    except ClusterError as e:
        return WorkerEnd.ERROR, str(e), server
    except StopRequested:
        return WorkerEnd.STOPPED, "", server
    except Retire:
        return WorkerEnd.RETIRED, "", server
    except TooManyFailures as e:
        return WorkerEnd.FAILED, str(e), server
    finally:
        keras.backend.clear_session()
    return WorkerEnd.DONE, "", server


if __name__ == "__main__":
    sys.exit(run(hard_exit=True))
