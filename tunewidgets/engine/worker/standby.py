"""A worker between searches: a spare started before any search, or a finished worker kept warm.

It waits for the controller's next search on stdin (one JSON line: ``{"argv": [...], "log": PATH, "env": {...}}``),
TensorFlow already imported, so that search trains its first epoch at once.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from typing import Any

from ..._memory import wait_for_input
from .lean import import_keras_tuner


def stand_by() -> tuple[int, bool]:
    """A spare worker: Keras and keras-tuner imported before any search asks, then waiting for one.

    A dashboard starts one when it is shown, so that Run's first trial does not wait for TensorFlow.
    """
    import_keras_tuner()
    # and what training a search imports next (the trial loop, the spec's hypermodel, the input pipelines)
    from ...model import boundary, pipeline, spec_hypermodel, user  # noqa: F401
    from . import device, heap, kt_tuner, loop  # noqa: F401

    # what is alive now lives as long as the process: the collector's walk over it, which a search's start
    # would pay (about 0.2 s with TensorFlow loaded), is done now, and the search's own freeze finds it done
    gc.collect()
    gc.freeze()
    return 0, True


#: A waiting worker gives its memory back once its session (its own cgroup, and those above it: a Binder
#: session's 2 GB) has less than this left (MB), or is under memory pressure: another notebook's kernel or
#: search in the same session needs it more, and the kernel's OOM killer would otherwise pick one silently.
WARM_MIN_FREE_MB = 512.0

#: Seconds between two looks at the session's memory while waiting.
MEMORY_EVERY = 0.5


def next_assignment(seconds: float, parent: int | None, fd: int = 0) -> dict[str, Any] | None:
    """Waits for the controller's next search on stdin; None when it closed the pipe, went away, time ran
    out, or the session's memory is short (checked every :data:`MEMORY_EVERY` s; why is written to the log)."""
    sys.stdout.flush()
    sys.stderr.flush()
    deadline = time.monotonic() + seconds
    received = b""
    while True:
        ready, short = wait_for_input(fd, deadline - time.monotonic(), parent, WARM_MIN_FREE_MB, MEMORY_EVERY)
        if not ready:
            if short:
                print(f"tunewidgets worker {os.getpid()} gives its memory back, not waiting: {short}", flush=True)
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None
        received += chunk
        if b"\n" in received:
            return json.loads(received.split(b"\n", 1)[0])


def redirect_output(log: str) -> None:
    """Sends this process's output to the new search's log file."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


__all__ = ["MEMORY_EVERY", "WARM_MIN_FREE_MB", "next_assignment", "redirect_output", "stand_by"]
