"""The controller side of worker processes: start them, relay their events, keep them going.

A search's trials train in worker processes (:mod:`tunewidgets.engine.worker`), never in the
process that shows the dashboard. This module imports no Keras: the kernel stays light.

One worker (the default) keeps keras-tuner's oracle itself. With several, the first is the
chief: it serves the oracle over gRPC on 127.0.0.1 (keras-tuner's own chief/worker mode) and the
others ask it for trials, so they never train the same hyperparameters twice. With a Dask cluster,
one worker keeps the oracle and sends the trials to the cluster (role ``cluster``). Each worker
appends its events to its file (:mod:`tunewidgets.engine.folder.protocol`); the pool reads every
such file and publishes the events in order (:mod:`tunewidgets.engine.relay`).

A worker whose memory has grown too much retires between trials and a fresh one replaces
it; a worker that dies mid-trial has that trial recorded as failed and is replaced, up to
a limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..events import EndReason, Event, TrialEnded, TrialStarted, TrialStatus
from .folder.project import Project
from .folder.protocol import LEFT_WAITING, Role, WorkerEnd, WorkerEndRecord, WorkerFiles
from .relay import Relay
from .warm import exit_text, keep_warm_seconds, launch, start_spare, warm_workers

#: A worker that dies this many times in a row (without finishing a trial in between) ends the search.
MAX_CRASHES = 3


@dataclass(frozen=True)
class Job:
    """What a pool runs: one search's project, and how its workers run (not what they search)."""

    directory: Path
    workers: int = 1  # local worker processes, or with ``cluster`` the groups of trials training at once there
    cluster: str = ""  # a Dask scheduler's address: the trials train there (see tunewidgets.engine.cluster)
    cluster_env: tuple[tuple[str, str], ...] = ()  # what the cluster's worker process is given (its credentials)
    recycle_mb: float = 300.0  # a worker retires between trials once it has grown by this much
    keep_warm: float | None = None  # seconds a finished worker waits for the next search (None: the default)
    tensorboard: bool = False
    callbacks: bytes = b""  # the user's Keras callbacks, cloudpickled


@dataclass
class _Worker:
    worker_id: str
    role: Role
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    training: bool = True  # False once its training loop has ended (a chief then only serves)
    end: WorkerEndRecord | None = None  # its end file, once read
    key: tuple[str, ...] = ()  # what a warm worker must match to be handed another search


def worker_threads(workers: int) -> int:
    """The cores each of ``workers`` local worker processes may use (0: all); several on one machine share it."""
    return max(1, (os.cpu_count() or 1) // workers) if workers > 1 else 0


def warm_up(workers: int = 1) -> int:
    """Starts spare worker processes for a search of ``workers`` local workers (see ``Search.warm_up``), in the
    background; returns how many were started."""
    return start_spare(worker_threads(workers), workers)


class WorkerPool:
    """Runs one search's trials in ``workers`` processes and relays their events.

    Args:
        job: what to run (the project folder, how many workers, where they train, ...).
        publish: called with every event the workers report, in each worker's order, and with the
            end of a trial whose worker died (from the thread that calls :meth:`run`).
    """

    poll_seconds = 0.02  # how soon an epoch reaches the views (reading the event files costs next to nothing)

    def __init__(self, job: Job, publish: Callable[[Event], None]):
        self.job = job
        self.publish = publish
        self.n = job.workers
        self.keep_warm = keep_warm_seconds() if job.keep_warm is None else job.keep_warm
        self.files = WorkerFiles(Project(job.directory).workers)
        self.workers: dict[str, _Worker] = {}
        self.relay = Relay(self.files, self._handle)
        #: worker id -> {trial id: start time}; a worker trains several at once with fused trials
        self.running: dict[str, dict[str, float]] = {}
        self.crashes = 0
        self.started = 0  # worker processes started, replacements included
        self.failure = ""
        self.error = ""
        self._stop = threading.Event()
        self._stop_signalled = False

    # ------------------------------------------------------------------ lifecycle
    def launch(self) -> None:
        """Starts the worker processes; they import TensorFlow, then wait for :meth:`run`."""
        self._clean_workdir()
        if self.job.cluster:
            self._start("tuner0", Role.CLUSTER)
        elif self.n == 1:
            self._start("tuner0", Role.SOLO)
        else:
            self._start("tuner0", Role.CHIEF)
            for i in range(1, self.n):
                self._start(f"tuner{i}", Role.CLIENT)

    def abort(self) -> None:
        """Ends launched workers without running (the search could not start)."""
        self._shutdown()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def run(self) -> tuple[EndReason, str, KeyboardInterrupt | None]:
        """Trains until every trial ran, the search is stopped, or it cannot go on.

        Returns why it ended, a message for people, and the interrupt (Ctrl-C, a kernel interrupt) that
        stopped it, if one did: the caller raises it once everything is recorded.
        """
        if not self.workers:
            self.launch()
        if self.stop_requested:
            self._request_stop()
        self.files.go.write_text("go\n")
        interrupted: KeyboardInterrupt | None = None
        try:
            while self._active():
                try:
                    self._step()
                    if self.stop_requested or self.failure or self.error:
                        self._request_stop()
                    time.sleep(self.poll_seconds)
                except KeyboardInterrupt as e:  # Ctrl-C or a kernel interrupt: stop now, still record it all
                    if interrupted is None:
                        self._signal_all(signal.SIGINT)
                    interrupted = e
                    self._request_stop()
            self._step()
        finally:
            self._shutdown()
            self.relay()
            self.relay.close()
            self._close_running("the worker ended before the trial did")
        if interrupted is not None:
            return EndReason.STOPPED, "interrupted; resume to continue", interrupted
        if self.error:
            return EndReason.ERROR, self.error, None
        if self.failure:
            return EndReason.FAILED, self.failure, None
        if self.stop_requested or any(
            w.end is not None and w.end.reason is WorkerEnd.STOPPED for w in self.workers.values()
        ):
            return EndReason.STOPPED, "stopped by request; resume to continue", None
        return EndReason.COMPLETED, "", None

    def stop(self) -> None:
        """Every worker stops after its current epoch (the trials on a cluster too)."""
        self._stop.set()
        self._request_stop()

    def stop_trial(self, trial_id: str) -> bool:
        """Ends one running trial after its current epoch (wherever it trains); False if none runs by that id."""
        if not any(trial_id in trials for trials in self.running.values()):
            return False
        self.files.stop_trial(trial_id).write_text("stop\n")
        return True

    def _clean_workdir(self) -> None:
        self.files.dir.mkdir(parents=True, exist_ok=True)
        for p in self.files.dir.iterdir():
            if p.is_file():
                p.unlink()
        if self.job.callbacks:
            self.files.callbacks.write_bytes(self.job.callbacks)

    def _start(self, worker_id: str, role: Role) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.files.end(worker_id).unlink()
        argv = [str(Path(self.job.directory).resolve()), "--id", worker_id, "--role", role.value]
        argv += ["--recycle-mb", str(self.job.recycle_mb), "--parent", str(os.getpid())]
        if role is Role.CLUSTER:
            argv += ["--cluster", self.job.cluster]
        threads = 0 if role is Role.CLUSTER else worker_threads(self.n)
        if self.job.tensorboard:
            argv.append("--tensorboard")
        process, log_file, key = launch(
            self.files, worker_id, argv, threads, self.keep_warm, extra_env=dict(self.job.cluster_env)
        )
        self.workers[worker_id] = _Worker(worker_id, role, process, log_file, key=key)
        self.started += 1
        self.relay.follow(worker_id)

    def _active(self) -> bool:
        return any(w.training for w in self.workers.values())

    # ------------------------------------------------------------------ supervising
    def _step(self) -> None:
        self.relay()
        for worker in list(self.workers.values()):
            if not worker.training:
                continue
            ended = self.files.read_end(worker.worker_id)
            if ended is not None and worker.process is not None and ended.pid != worker.process.pid:
                ended = None  # left by an earlier process of the same name
            code = worker.process.poll() if worker.process else None
            if ended is None and code is None:
                continue
            if ended is None and code == LEFT_WAITING and not self.running.get(worker.worker_id):
                # a warm worker that left (the session's memory was short) as this search was handed to it:
                # it began nothing; a fresh one starts in its place
                self.relay()
                self._reap(worker)
                self._start(worker.worker_id, worker.role)
                continue
            if ended is None:  # died without saying why: a crash (killed, out of memory, ...)
                self.relay()
                self._crashed(worker, code)
                continue
            worker.end = ended
            worker.training = False
            if worker.role is not Role.CHIEF and not self._park(worker, 0.0):  # a chief serves until the end
                self._reap(worker)
            self.relay()
            reason = ended.reason
            if reason is WorkerEnd.RETIRED and not self.stop_requested:
                replacement = Role.SOLO if worker.role is Role.SOLO else Role.CLIENT
                self._start(worker.worker_id if worker.role is not Role.CHIEF else self._new_id(), replacement)
            elif reason is WorkerEnd.FAILED:
                self.failure = ended.message or "too many failed trials"
            elif reason is WorkerEnd.ERROR:  # the cluster's own process speaks for the whole search
                message = ended.message
                self.error = message if worker.role is Role.CLUSTER else f"worker {worker.worker_id}: {message}"
        chief = self.workers.get("tuner0")
        chief_gone = (
            chief is not None and chief.role is Role.CHIEF and chief.process and chief.process.poll() is not None
        )
        if chief_gone and not self.error and any(w.training for w in self.workers.values() if w is not chief):
            code = chief.process.returncode  # type: ignore[union-attr]
            self.error = f"the chief worker process ended ({exit_text(code)}){self.files.last_line('tuner0')}"
            self._signal_all(signal.SIGTERM)

    def _crashed(self, worker: _Worker, code: int | None) -> None:
        worker.training = False
        self._reap(worker)
        why = exit_text(code) + self.files.last_line(worker.worker_id)
        for trial_id, started in self.running.pop(worker.worker_id, {}).items():
            self.publish(
                TrialEnded(
                    trial_id, TrialStatus.FAILED, None, None, time.time() - started, f"its worker process died: {why}"
                )
            )
        self.crashes += 1
        if worker.role is Role.CHIEF:
            self.error = f"the chief worker process died: {why}"
            self._signal_all(signal.SIGTERM)
        elif self.crashes >= MAX_CRASHES:
            self.error = f"worker processes died {self.crashes} times in a row; last: {why}"
        elif not self.stop_requested:
            self._start(self._new_id() if worker.role is Role.CLIENT else worker.worker_id, worker.role)

    def _new_id(self) -> str:
        i = len(self.workers)
        while f"tuner{i}" in self.workers or f"tuner{i}" in self.relay.workers:
            i += 1
        return f"tuner{i}"

    def _handle(self, worker_id: str, event: Event) -> None:
        """One relayed event: kept track of (which trial each worker trains), then published."""
        if isinstance(event, TrialStarted):
            self.running.setdefault(worker_id, {})[event.trial_id] = event.time
        elif isinstance(event, TrialEnded):
            self.running.get(worker_id, {}).pop(event.trial_id, None)
            if event.status.has_score():
                self.crashes = 0
        self.publish(event)

    def _close_running(self, message: str) -> None:
        for worker_id, trials in list(self.running.items()):
            for trial_id, started in trials.items():
                self.publish(TrialEnded(trial_id, TrialStatus.STOPPED, None, None, time.time() - started, message))
            del self.running[worker_id]

    # ------------------------------------------------------------------ stopping
    def _request_stop(self) -> None:
        stop = self.files.stop
        if stop.exists() or self._stop_signalled:
            return
        try:
            stop.parent.mkdir(parents=True, exist_ok=True)
            stop.write_text("stop\n")
        except OSError:  # a full disk, a folder made read-only: the workers are told by a signal instead
            self._stop_signalled = True
            self._signal_all(signal.SIGINT)

    def _signal_all(self, sig: int) -> None:
        for worker in self.workers.values():
            if worker.process and worker.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(sig)

    def _shutdown(self) -> None:
        """Ends every process: trainers have stopped by now; the chief is told the search is over."""
        self._request_stop()
        for worker in self.workers.values():
            if worker.process and worker.process.poll() is None and worker.role is Role.CHIEF:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for worker in self.workers.values():
            if worker.process is None:
                continue
            if self._park(worker, deadline):
                continue
            try:
                worker.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            self._reap(worker)
        with contextlib.suppress(FileNotFoundError):
            self.files.chief.unlink()

    def _park(self, worker: _Worker, deadline: float) -> bool:
        """Keeps a worker that said it stays warm for this process's next search (a chief once it stopped serving)."""
        process = worker.process
        if process is None or worker.end is None or not worker.end.warm:
            return False
        if worker.role is Role.CHIEF:
            while not self.files.served(worker.worker_id).exists() and time.monotonic() < deadline:
                if process.poll() is not None:
                    return False
                time.sleep(0.02)
        if process.poll() is not None:
            return False
        warm_workers.put(worker.key, process, self.keep_warm)
        worker.process = None
        self._reap(worker)
        return True

    def _reap(self, worker: _Worker) -> None:
        if worker.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(10)
        if worker.log_file is not None:
            worker.log_file.close()
            worker.log_file = None


__all__ = ["MAX_CRASHES", "Job", "WorkerPool", "warm_up", "worker_threads"]
