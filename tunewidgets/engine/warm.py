"""Starting worker processes, keeping finished ones warm, and one-off tasks that need Keras.

A finished worker (the chief too, once it stopped serving) can wait, TensorFlow imported, for the
next search of the same controller process, handed to it as one JSON line on its stdin; that search
then trains its first trial at once instead of after the worker's start-up. Tasks that need Keras
but are not a search (score a trial on the test split, save its model) run in a worker too, so the
caller (a notebook's kernel, ``tunewidgets report``) never imports TensorFlow.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from .folder.project import Project
from .folder.protocol import LEFT_WAITING, Role, WorkerEnd, WorkerEndRecord, WorkerFiles

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

    def waiting(self, key: tuple[str, ...] | None = None) -> int:
        """How many alive workers (started alike, with ``key``) wait with time to spare."""
        with self._lock:
            return sum(1 for entry in self._idle if key in (None, entry[0]) and self._fresh(entry))

    def _fresh(self, entry: tuple[tuple[str, ...], float, float, subprocess.Popen[bytes]]) -> bool:
        """Alive, and with time to spare before its own wait runs out."""
        _, since, seconds, process = entry
        return time.monotonic() - since < seconds - self.margin and process.poll() is None

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
                entry_key, _, _, process = entry
                fresh = self._fresh(entry)
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


def launch(
    files: WorkerFiles,
    worker_id: str,
    argv: list[str],
    threads: int,
    keep_warm: float,
    *,
    extra_env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], IO[bytes] | None, tuple[str, ...]]:
    """A worker process for ``argv``: a warm one started alike if there is one, else a new one.

    ``extra_env``: variables for this search only (read when it starts, not at the process's start).

    Returns the process, its log file when it is new (close it when the process ends), and the key a
    warm worker must match to be handed this worker's next search.
    """
    if threads:
        argv = [*argv, "--threads", str(threads)]
    if keep_warm:
        argv = [*argv, "--keep-warm", str(keep_warm)]
    env, key = _environment(threads)
    env.update(extra_env or {})
    log_path = files.log(worker_id)
    assignment: dict[str, object] = {"argv": argv, "log": str(log_path), "env": env}
    process = warm_workers.take(key, assignment) if keep_warm else None
    if process is not None:
        return process, None, key
    files.dir.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed when the worker ends
    return _spawn(argv, env, log_file, stdin=bool(keep_warm)), log_file, key


def _environment(threads: int) -> tuple[dict[str, str], tuple[str, ...]]:
    """A worker's environment, and the key a warm worker must match to be handed a search with it."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH", "")) if p)
    # A warm worker must have been started alike: TensorFlow's thread counts are fixed once it has run, and
    # settings read at import (the Keras backend, TensorFlow's, CUDA's) cannot change; the rest it is given.
    fixed = sorted(f"{k}={v}" for k, v in env.items() if k.startswith(_READ_AT_START))
    return env, (os.getcwd(), f"threads={threads}", *fixed)


def _spawn(argv: list[str], env: dict[str, str], output: IO[bytes] | int, *, stdin: bool) -> subprocess.Popen[bytes]:
    return _SPAWNER.submit(
        subprocess.Popen,
        [sys.executable, "-m", "tunewidgets.engine.worker", *argv],
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own session: a terminal's Ctrl-C reaches it only through us, once
    ).result()


#: Seconds a spare worker (:func:`start_spare`) waits for a search before it exits.
SPARE_SECONDS = 180.0

#: Past this size a spare's log (:func:`spare_log`) is begun anew.
SPARE_LOG_BYTES = 1 << 20


def spare_log() -> Path:
    """Where spare workers write until a search takes them (why one gave its memory back): one file for this
    user in the temporary folder, shared by every spare."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"tunewidgets-spares-{uid}.log"


def start_spare(threads: int = 0, count: int = 1) -> int:
    """Starts worker processes that import Keras now and wait for this process's next search.

    A dashboard calls it when it is shown: by the time Run is pressed the worker has TensorFlow
    imported, and the first epoch comes at once. Nothing starts when as many are already waiting
    alike, or when warm workers are turned off (``TUNEWIDGETS_KEEP_WARM=0``). A spare no search takes
    exits after :data:`SPARE_SECONDS`, or as soon as the session's memory is short (it says why in
    :func:`spare_log`), as a finished warm worker does. Returns how many were started.
    """
    if not keep_warm_seconds():
        return 0
    env, key = _environment(threads)
    argv = ["--spare", "--keep-warm", str(SPARE_SECONDS), "--parent", str(os.getpid())]
    argv += ["--threads", str(threads)] if threads else []
    with _spare_lock:  # two dashboards shown at once start the spares once
        missing = max(0, count - warm_workers.waiting(key))
        for _ in range(missing):
            with _open_spare_log() as log:
                warm_workers.put(key, _spawn(argv, env, log, stdin=True), SPARE_SECONDS)
    return missing


def _open_spare_log() -> IO[bytes]:
    path = spare_log()
    try:
        big = path.stat().st_size > SPARE_LOG_BYTES
    except OSError:
        big = False
    try:
        return open(path, "wb" if big else "ab")  # noqa: SIM115 - the caller closes it once the spare has it
    except OSError:
        return open(os.devnull, "wb")  # noqa: SIM115


_spare_lock = threading.Lock()


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
    project = Project(directory)
    keep_warm = keep_warm_seconds() if keep_warm is None else keep_warm
    files = WorkerFiles(project.workers)
    files.dir.mkdir(parents=True, exist_ok=True)  # a warm worker handed this task writes its log there
    worker_id = "task"
    with contextlib.suppress(FileNotFoundError):
        files.end(worker_id).unlink()
    argv = [str(project.directory.resolve()), "--id", worker_id, "--role", Role.SOLO.value]
    deadline = time.monotonic() + timeout
    for attempt in range(2):
        process, log_file, key = launch(files, worker_id, [*argv, "--parent", str(os.getpid()), *task], 0, keep_warm)
        ended = _task_end(files, worker_id, process, deadline)
        if ended is not None or attempt or process.poll() != LEFT_WAITING:
            break
        # a waiting worker that left (the session's memory was short) as the task was handed to it: a fresh one
        if log_file is not None:
            log_file.close()
    if ended is None:
        if log_file is not None:
            log_file.close()
        raise RuntimeError(
            f"the worker process ended before its task did ({exit_text(process.poll())}){files.last_line(worker_id)}"
        )
    try:
        if ended.warm and process.poll() is None:
            warm_workers.put(key, process, keep_warm)
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
    finally:
        if log_file is not None:
            log_file.close()
    if ended.reason is not WorkerEnd.DONE:
        raise RuntimeError(ended.message or "the task failed")


def _task_end(
    files: WorkerFiles, worker_id: str, process: subprocess.Popen[bytes], deadline: float
) -> WorkerEndRecord | None:
    """The task's end record; None when its process ended first (a waiting worker that had just left: exit
    code :data:`LEFT_WAITING`) or, past the deadline, stopped answering (then killed)."""
    while True:
        ended = files.read_end(worker_id)
        if ended is not None and ended.pid == process.pid:
            return ended
        code = process.poll()
        if code is not None or time.monotonic() > deadline:
            if code is None:
                process.kill()
            return None
        time.sleep(0.02)


def exit_text(code: int | None) -> str:
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


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])  # the folder holding the tunewidgets package


__all__ = [
    "KEEP_WARM_SECONDS",
    "SPARE_SECONDS",
    "exit_text",
    "keep_warm_seconds",
    "launch",
    "run_task",
    "spare_log",
    "start_spare",
    "warm_workers",
]
