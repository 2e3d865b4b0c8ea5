"""scikit-learn in a helper process, so that it (and SciPy under it, about 60 MB) is not imported into the
notebook's kernel, where it would stay for as long as the kernel lives.

A dashboard starts a helper when it is shown (:func:`start`): it imports what preparing data needs and waits.
:func:`call` hands it a function of tunewidgets that uses scikit-learn and its arguments, and returns what the
function returned there, or raises what it raised (a :class:`~.errors.DataError` naming the field): a search's
start and Preview data prepare the data there (:func:`~.data.prepare.prepare`), the live views estimate the
hyperparameters' importance there. A waiting helper leaves after :data:`IDLE_SECONDS` without a request, when the
session's memory is short or when its parent ended; the next call starts a fresh one (a second or so, while a
search's workers import TensorFlow).

Where scikit-learn is imported already (the notebook's own code imported it; a worker; a test), the function runs
in this process: a helper would save nothing there.

The helper is ``python -m tunewidgets.sklearn_helper PARENT_PID``: requests and answers are pickles on its
standard input and output (not :mod:`multiprocessing`, whose spawned children re-run a script that has no
``if __name__ == "__main__"`` guard).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import signal
import subprocess
import sys
import threading
from typing import IO, Any

from ._memory import wait_for_input

#: A waiting helper leaves after this many seconds without a request.
IDLE_SECONDS = 120.0

#: ... or once the session has less than this left (MB): a kernel or a search needs the memory more.
HELPER_MIN_FREE_MB = 256.0

#: Seconds between two looks at the session's memory (and at the parent) while waiting.
LOOK_EVERY = 0.5

#: What a helper may be asked to run: ``module:function`` of tunewidgets.
PREPARE = "tunewidgets.data.prepare:prepare"
FOREST_IMPORTANCE = "tunewidgets.plots._data:forest_importance"
TARGETS = frozenset({PREPARE, FOREST_IMPORTANCE})

#: What a helper imports as it starts (a second or two), so that a search started later prepares its data at once.
PRELOAD = ("pandas", "sklearn.datasets", "sklearn.model_selection", "sklearn.preprocessing", "tunewidgets.data.prepare")

_lock = threading.Lock()
_waiting: _Helper | None = None


class HelperGone(RuntimeError):
    """The helper process ended before it answered."""


class _Helper:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tunewidgets.sklearn_helper", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def ask(self, target: str, args: tuple[Any, ...]) -> Any:
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        try:
            pickle.dump((os.getcwd(), target, args), process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.flush()
            answer = pickle.load(process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as e:
            self.close()
            raise HelperGone(f"the scikit-learn helper ended before it answered (exit code {process.poll()})") from e
        except BaseException:  # interrupted while it works: its answer would reach the next request, so it goes
            process.kill()
            self.close()
            raise
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def _here() -> bool:
    """Whether scikit-learn is imported in this process already (a helper would save nothing)."""
    return "sklearn" in sys.modules


def start() -> None:
    """Starts a helper now (it imports scikit-learn), unless one is waiting or scikit-learn is imported here."""
    global _waiting
    if _here():
        return
    with _lock:
        if _waiting is None or not _waiting.alive():
            _waiting = _Helper()


def call(target: str, *args: Any) -> Any:
    """``target(*args)`` (one of :data:`TARGETS`) in the waiting helper (started now if there is none), or in
    this process where scikit-learn is imported already. A helper that ended before it answered is replaced once."""
    global _waiting
    if target not in TARGETS:
        raise ValueError(f"the scikit-learn helper runs only {sorted(TARGETS)}, not {target!r}")
    if _here():
        return _function(target)(*args)
    for attempt in (1, 2):
        with _lock:  # one request at a time: a helper answers in order
            if _waiting is None or not _waiting.alive():
                _waiting = _Helper()
            try:
                return _waiting.ask(target, args)
            except HelperGone:
                _waiting = None
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


def _function(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


# ---------------------------------------------------------------- the helper process
def _wait_for_request(stream: IO[bytes], parent: int) -> bool:
    """True once a request arrives; False when the helper should leave (idle, memory short, parent gone)."""
    ready, short = wait_for_input(stream.fileno(), IDLE_SECONDS, parent, HELPER_MIN_FREE_MB, LOOK_EVERY)
    if short:
        print(f"tunewidgets scikit-learn helper {os.getpid()} gives its memory back: {short}", file=sys.stderr)
    return ready


def main(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a kernel's interrupt reaches its process group: not for us
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever prints goes to stderr: standard output carries only the answers
    for module in PRELOAD:  # what preparing data imports, before it is asked
        importlib.import_module(module)
    while _wait_for_request(requests, parent):
        try:
            cwd, target, args = pickle.load(requests)
        except EOFError:
            return  # the parent closed the pipe
        answer: Any
        try:
            os.chdir(cwd)  # a CSV file's path is relative to the notebook's folder
            answer = _function(target)(*args) if target in TARGETS else ValueError(f"not a target: {target!r}")
        except Exception as e:  # noqa: BLE001 - sent back and raised there
            answer = e
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an exception that does not pickle: its words do
            payload = pickle.dumps(RuntimeError(f"{type(answer).__name__}: {answer}"))
        answers.write(payload)
        answers.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]))
