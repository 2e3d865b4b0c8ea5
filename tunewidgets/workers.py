"""The controller side of worker processes: start them, relay their events, keep them going.

A search's trials train in worker processes (:mod:`tunewidgets._worker`), never in the
process that shows the dashboard. This module imports no Keras: the kernel stays light.

One worker (the default) keeps keras-tuner's oracle itself. With several, the first is the
chief: it serves the oracle over gRPC (keras-tuner's own chief/worker mode) and the others
ask it for trials, so they never train the same hyperparameters twice. Each worker appends
its events to ``workers/<id>.jsonl``; the controller reads every such file, including those of
workers on other machines that share the project folder, and republishes the events in
order on the search's event bus, which records them in ``events.jsonl`` and feeds the views.

A worker whose memory has grown too much retires between trials and a fresh one replaces
it; a worker that dies mid-trial has that trial recorded as failed and is replaced, up to
a limit.
"""

from __future__ import annotations

import atexit
import collections
import concurrent.futures
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._worker import CALLBACKS_FILE, CHIEF_FILE, GO_FILE, STOP_FILE, WORKERS_DIR, end_path, served_path
from .events import EndReason, Event, TrialEnded, TrialStarted, TrialStatus
from .results import parse_event_line

if TYPE_CHECKING:
    from .search import Search

log = logging.getLogger(__name__)

#: The chief's default address: this machine only, a free port.
LOCAL = "127.0.0.1:0"

#: A worker that dies this many times in a row (without finishing a trial in between) ends the search.
MAX_CRASHES = 3

#: Seconds a finished worker stays alive, TensorFlow imported, for the next search of this process
#: (the environment variable ``TUNEWIDGETS_KEEP_WARM`` overrides it; 0 turns it off). A search
#: started within that time skips the worker's start-up (about 2 s on 2 cores); the price is the
#: worker's memory for that long after a search.
KEEP_WARM_SECONDS = 60.0


def keep_warm_seconds() -> float:
    raw = os.environ.get("TUNEWIDGETS_KEEP_WARM")
    if raw is None:
        return KEEP_WARM_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"TUNEWIDGETS_KEEP_WARM: expected seconds (a number, 0 to turn off), got {raw!r}") from None
    if not seconds >= 0:
        raise ValueError(f"TUNEWIDGETS_KEEP_WARM: expected 0 or more seconds, got {raw!r}")
    return seconds


class _WarmWorkers:
    """Finished worker processes waiting for another search of this process (see ``KEEP_WARM_SECONDS``)."""

    #: Hand a worker over only this long before its own wait runs out, so it cannot exit mid-handover.
    margin = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[tuple[tuple[str, ...], float, float, subprocess.Popen[bytes]]] = []

    def put(self, key: tuple[str, ...], process: subprocess.Popen[bytes], seconds: float) -> None:
        with self._lock:
            self._idle.append((key, time.monotonic(), seconds, process))
            while len(self._idle) > max(2, os.cpu_count() or 1):  # never more waiting than one machine runs
                _let_go(self._idle.pop(0)[3])

    def parked(self) -> list[subprocess.Popen[bytes]]:
        """The processes handed back (some may have exited since)."""
        with self._lock:
            return [process for *_, process in self._idle]

    def take(self, key: tuple[str, ...], assignment: dict[str, object]) -> subprocess.Popen[bytes] | None:
        """A waiting worker started with the same environment, given ``assignment``; None if there is none."""
        with self._lock:
            keep = []
            found = None
            for entry in self._idle:
                entry_key, since, seconds, process = entry
                fresh = time.monotonic() - since < seconds - self.margin and process.poll() is None
                if found is None and fresh and entry_key == key and _hand_over(process, assignment):
                    found = process
                elif fresh:
                    keep.append(entry)
                else:
                    _let_go(process)
            self._idle = keep
        return found

    def close(self) -> None:
        """Lets every waiting worker go (they exit when their input closes)."""
        with self._lock:
            for *_, process in self._idle:
                _let_go(process)
            self._idle = []


def _hand_over(process: subprocess.Popen[bytes], assignment: dict[str, object]) -> bool:
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps(assignment).encode() + b"\n")
        process.stdin.flush()
        return True
    except (OSError, ValueError):
        _let_go(process)
        return False


def _let_go(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError, ValueError):
        if process.stdin is not None:
            process.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(0)  # reap it if it already exited


#: Environment variables a worker reads when it starts (names starting with these).
_READ_AT_START = (
    "KERAS",
    "TF_",
    "TENSORFLOW",
    "CUDA",
    "XLA",
    "JAX",
    "TORCH",
    "OMP_",
    "MKL",
    "OPENBLAS",
    "PYTHON",
    "LD_",
    "PATH",
    "HOME",
)

warm_workers = _WarmWorkers()
atexit.register(warm_workers.close)


@dataclass
class _Worker:
    worker_id: str
    role: str
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    training: bool = True  # False once its training loop has ended (a chief then only serves)
    end: dict[str, Any] = field(default_factory=dict)
    key: tuple[str, ...] = ()  # what a warm worker must match to be handed another search


class _Tail:
    """Reads the complete new lines of one worker's event file."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self) -> list[Event]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        events = [parse_event_line(line) for line in lines if line.strip()]
        if None in events:
            log.warning("skipped a damaged event line in %s", self.path)
        return [e for e in events if e is not None]


class WorkerPool:
    """Runs one search's trials in ``workers`` processes and relays their events.

    Args:
        search: the search (its spec, whose ``tuner.workers`` says how many processes train at
            once, directory, event bus, stop flag, callbacks).
        listen: the chief's address (``HOST:PORT``; port 0 picks a free one). Use
            ``0.0.0.0:PORT`` to let workers on other machines join.
        recycle_mb: a worker retires between trials once it has grown by this much.
    """

    poll_seconds = 0.1

    def __init__(
        self, search: Search, *, listen: str = LOCAL, recycle_mb: float = 300.0, keep_warm: float | None = None
    ):
        self.search = search
        self.n = search.spec.tuner.workers
        self.listen = listen
        self.recycle_mb = recycle_mb
        self.keep_warm = keep_warm_seconds() if keep_warm is None else keep_warm
        self.workdir = search.directory / WORKERS_DIR
        self.workers: dict[str, _Worker] = {}
        self.tails: dict[str, _Tail] = {}
        self.running: dict[str, tuple[str, float]] = {}  # worker id -> (trial id, start time)
        self.crashes = 0
        self.started = 0  # worker processes started, replacements included
        self.failure = ""
        self.error = ""
        self._lock = threading.RLock()
        self._pending: collections.deque[tuple[str, Event]] = collections.deque()

    # ------------------------------------------------------------------ lifecycle
    def launch(self) -> None:
        """Starts the worker processes; they import TensorFlow, then wait for :meth:`run`."""
        self._clean_workdir()
        if self.n == 1 and self.listen == LOCAL:
            self._start("tuner0", "solo")
        else:
            self._start("tuner0", "chief")
            for i in range(1, self.n):
                self._start(f"tuner{i}", "client")

    def abort(self) -> None:
        """Ends launched workers without running (the search could not start)."""
        self._shutdown()

    def run(self) -> tuple[EndReason, str]:
        """Trains until every trial ran, the search is stopped, or it cannot go on."""
        if not self.workers:
            self.launch()
        if self.search.stop_requested:
            self._request_stop()
        (self.workdir / GO_FILE).write_text("go\n")
        interrupted: KeyboardInterrupt | None = None
        try:
            while self._active():
                try:
                    self._step()
                    if self.search.stop_requested or self.failure or self.error:
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
            self._relay()
            self._close_running("the worker ended before the trial did")
        if interrupted is not None:
            self.search._interrupt = interrupted
            return EndReason.STOPPED, "interrupted; resume to continue"
        if self.error:
            return EndReason.ERROR, self.error
        if self.failure:
            return EndReason.FAILED, self.failure
        if self.search.stop_requested or any(w.end.get("reason") == "stopped" for w in self.workers.values()):
            return EndReason.STOPPED, "stopped by request; resume to continue"
        return EndReason.COMPLETED, ""

    def stop(self) -> None:
        self._request_stop()

    def _clean_workdir(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for p in self.workdir.iterdir():
            if p.is_file():
                p.unlink()
        if self.search.pickled_callbacks:
            (self.workdir / CALLBACKS_FILE).write_bytes(self.search.pickled_callbacks)

    def _start(self, worker_id: str, role: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            end_path(self.workdir, worker_id).unlink()
        argv = [
            str(self.search.directory.resolve()),
            "--id",
            worker_id,
            "--role",
            role,
            "--recycle-mb",
            str(self.recycle_mb),
            "--parent",
            str(os.getpid()),
        ]
        if role == "chief":
            argv += ["--listen", self.listen]
        threads = max(1, (os.cpu_count() or 1) // self.n) if self.n > 1 else 0  # several on one machine share it
        if self.search.tensorboard:
            argv.append("--tensorboard")
        process, log_file, key = _launch(self.workdir, worker_id, argv, threads, self.keep_warm)
        self.workers[worker_id] = _Worker(worker_id, role, process, log_file, key=key)
        self.started += 1
        self.tails.setdefault(worker_id, _Tail(self.workdir / f"{worker_id}.jsonl"))

    def _active(self) -> bool:
        return any(w.training for w in self.workers.values()) or self._remote_active()

    def _remote_active(self) -> bool:
        """Workers on other machines: they have an event file here and have not ended."""
        return any(
            not end_path(self.workdir, wid).exists() and not self.search.stop_requested
            for wid in self.tails
            if wid not in self.workers
        )

    # ------------------------------------------------------------------ supervising
    def _step(self) -> None:
        self._relay()
        for worker in list(self.workers.values()):
            if not worker.training:
                continue
            ended = _read_end(self.workdir, worker.worker_id)
            if ended is not None and worker.process is not None and ended.get("pid") != worker.process.pid:
                ended = None  # left by an earlier process of the same name
            code = worker.process.poll() if worker.process else None
            if ended is None and code is None:
                continue
            if ended is None:  # died without saying why: a crash (killed, out of memory, ...)
                self._relay()
                self._crashed(worker, code)
                continue
            worker.end = ended
            worker.training = False
            if worker.role != "chief" and not self._park(worker, 0.0):  # a chief serves until the search is over
                self._reap(worker)
            self._relay()
            reason = ended.get("reason")
            if reason == "retired" and not self.search.stop_requested:
                self._start(worker.worker_id if worker.role != "chief" else self._new_id(), _replacement(worker))
            elif reason == "failed":
                self.failure = ended.get("message", "too many failed trials")
            elif reason == "error":
                self.error = f"worker {worker.worker_id}: {ended.get('message', '')}"
        chief = self.workers.get("tuner0")
        chief_gone = chief is not None and chief.role == "chief" and chief.process and chief.process.poll() is not None
        if chief_gone and not self.error and any(w.training for w in self.workers.values() if w is not chief):
            code = chief.process.returncode
            self.error = f"the chief worker process ended ({_exit_text(code)}){_last_line(self.workdir, 'tuner0')}"
            self._signal_all(signal.SIGTERM)

    def _crashed(self, worker: _Worker, code: int | None) -> None:
        worker.training = False
        self._reap(worker)
        why = _exit_text(code) + _last_line(self.workdir, worker.worker_id)
        running = self.running.pop(worker.worker_id, None)
        if running is not None:
            trial_id, started = running
            self.search.events.publish(
                TrialEnded(
                    trial_id, TrialStatus.FAILED, None, None, time.time() - started, f"its worker process died: {why}"
                )
            )
        self.crashes += 1
        if worker.role == "chief":
            self.error = f"the chief worker process died: {why}"
            self._signal_all(signal.SIGTERM)
        elif self.crashes >= MAX_CRASHES:
            self.error = f"worker processes died {self.crashes} times in a row; last: {why}"
        elif not self.search.stop_requested:
            self._start(self._new_id() if worker.role == "client" else worker.worker_id, worker.role)

    def _new_id(self) -> str:
        i = len(self.workers)
        while f"tuner{i}" in self.workers or f"tuner{i}" in self.tails:
            i += 1
        return f"tuner{i}"

    def _relay(self) -> None:
        """Publishes new events from every worker's file (local and remote) in the order each wrote them.

        Events wait in a queue until published, so an interrupt (Ctrl-C) arriving while one is
        being handled loses none of the others.
        """
        with self._lock:
            for path in self.workdir.glob("*.jsonl"):
                self.tails.setdefault(path.stem, _Tail(path))
            for worker_id, tail in self.tails.items():
                self._pending.extend((worker_id, event) for event in tail.read())
            while self._pending:
                worker_id, event = self._pending.popleft()
                if isinstance(event, TrialStarted):
                    self.running[worker_id] = (event.trial_id, event.time)
                elif isinstance(event, TrialEnded):
                    if self.running.get(worker_id, ("",))[0] == event.trial_id:
                        del self.running[worker_id]
                    if event.status is TrialStatus.COMPLETED:
                        self.crashes = 0
                self.search.events.publish(event)

    def _close_running(self, message: str) -> None:
        for worker_id, (trial_id, started) in list(self.running.items()):
            self.search.events.publish(
                TrialEnded(trial_id, TrialStatus.STOPPED, None, None, time.time() - started, message)
            )
            del self.running[worker_id]

    # ------------------------------------------------------------------ stopping
    def _request_stop(self) -> None:
        stop = self.workdir / STOP_FILE
        if not stop.exists():
            stop.parent.mkdir(parents=True, exist_ok=True)
            stop.write_text("stop\n")

    def _signal_all(self, sig: int) -> None:
        for worker in self.workers.values():
            if worker.process and worker.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(sig)

    def _shutdown(self) -> None:
        """Ends every process: trainers have stopped by now; the chief is told the search is over."""
        self._request_stop()
        for worker in self.workers.values():
            if worker.process and worker.process.poll() is None and worker.role == "chief":
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
            (self.workdir / CHIEF_FILE).unlink()

    def _park(self, worker: _Worker, deadline: float) -> bool:
        """Keeps a worker that said it stays warm for this process's next search (a chief once it stopped serving)."""
        process = worker.process
        if process is None or not worker.end.get("warm"):
            return False
        if worker.role == "chief":
            while not served_path(self.workdir, worker.worker_id).exists() and time.monotonic() < deadline:
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


def _launch(
    workdir: Path, worker_id: str, argv: list[str], threads: int, keep_warm: float
) -> tuple[subprocess.Popen[bytes], IO[bytes] | None, tuple[str, ...]]:
    """A worker process for ``argv``: a warm one started alike if there is one, else a new one.

    Returns the process, its log file when it is new (close it when the process ends), and the key a
    warm worker must match to be handed this worker's next search.
    """
    if threads:
        argv = [*argv, "--threads", str(threads)]
    if keep_warm:
        argv = [*argv, "--keep-warm", str(keep_warm)]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH", "")) if p)
    # A warm worker must have been started alike: TensorFlow's thread counts are fixed once it has run, and
    # settings read at import (the Keras backend, TensorFlow's, CUDA's) cannot change; the rest it is given.
    fixed = sorted(f"{k}={v}" for k, v in env.items() if k.startswith(_READ_AT_START))
    key = (os.getcwd(), f"threads={threads}", *fixed)
    log_path = workdir / f"{worker_id}.log"
    assignment = {"argv": argv, "log": str(log_path), "env": env}
    process = warm_workers.take(key, assignment) if keep_warm else None
    if process is not None:
        return process, None, key
    workdir.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed when the worker ends
    process = _SPAWNER.submit(
        subprocess.Popen,
        [sys.executable, "-m", "tunewidgets._worker", *argv],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.PIPE if keep_warm else subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own session: a terminal's Ctrl-C reaches it only through us, once
    ).result()
    return process, log_file, key


#: Worker processes are started from this one long-lived thread. A worker asks Linux for a signal when
#: its parent dies (PR_SET_PDEATHSIG), and Linux sends it when the *thread* that started the process
#: ends: a worker started from a search's background thread would die with that thread, warm or not.
_SPAWNER = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tunewidgets:spawn")


def run_task(directory: Path, task: list[str], *, keep_warm: float | None = None, timeout: float = 600) -> None:
    """Runs one task that needs Keras (``--evaluate TRIAL``, ``--save-model TRIAL PATH``) in a worker process.

    The caller never imports TensorFlow: a notebook's kernel and ``tunewidgets report`` stay light and
    quiet (TensorFlow's log lines go to the worker's log). A worker left warm by the last search does
    it at once; otherwise a new one starts (a couple of seconds) and stays warm for what comes next.

    Raises:
        RuntimeError: with the worker's message when the task failed.
    """
    directory = Path(directory)
    keep_warm = keep_warm_seconds() if keep_warm is None else keep_warm
    workdir = directory / WORKERS_DIR
    worker_id = "task"
    with contextlib.suppress(FileNotFoundError):
        end_path(workdir, worker_id).unlink()
    argv = [str(directory.resolve()), "--id", worker_id, "--role", "solo", "--parent", str(os.getpid()), *task]
    process, log_file, key = _launch(workdir, worker_id, argv, 0, keep_warm)
    deadline = time.monotonic() + timeout
    try:
        while True:
            ended = _read_end(workdir, worker_id)
            if ended is not None and ended.get("pid") == process.pid:
                break
            code = process.poll()
            if code is not None or time.monotonic() > deadline:
                if code is None:
                    process.kill()
                raise RuntimeError(
                    f"the worker process ended before its task did ({_exit_text(process.poll())})"
                    f"{_last_line(workdir, worker_id)}"
                )
            time.sleep(0.02)
        if ended.get("warm") and process.poll() is None:
            warm_workers.put(key, process, keep_warm)
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
    finally:
        if log_file is not None:
            log_file.close()
    if ended.get("reason") != "done":
        raise RuntimeError(ended.get("message") or "the task failed")


def _replacement(worker: _Worker) -> str:
    return "solo" if worker.role == "solo" else "client"


def _read_end(workdir: Path, worker_id: str) -> dict[str, str] | None:
    try:
        return json.loads(end_path(workdir, worker_id).read_text())
    except (OSError, ValueError):
        return None


def _exit_text(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {code}"


def _last_line(workdir: Path, worker_id: str) -> str:
    try:
        lines = (workdir / f"{worker_id}.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f"; last output: {lines[-1][:300]}" if lines else ""


def _package_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


__all__ = ["WorkerPool"]
