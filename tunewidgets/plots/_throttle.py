"""Redraws at most a few times a second, on a thread of their own, and once more after the last request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Calls ``flush`` at most once per ``interval`` seconds, and always once after the last request.

    Flushes run on one worker thread of the throttle's own: ``request`` only sets a
    flag, so the thread that requests (the search) pays next to nothing.
    """

    def __init__(self, flush: Callable[[], None], interval: float = 0.5, clock: Callable[[], float] = time.monotonic):
        self._flush = flush
        self.interval = interval
        self._clock = clock
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._last = -float("inf")
        self._thread: threading.Thread | None = None
        self._closed = False
        self._idle = threading.Event()
        self._idle.set()
        self.flushes = 0

    def request(self) -> None:
        """Asks for a flush; it runs on the worker thread within ``interval`` seconds."""
        self._idle.clear()
        self._wake.set()
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="tunewidgets-views", daemon=True)
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            if self._closed:
                return
            wait = self._last + self.interval - self._clock()
            if wait > 0:
                time.sleep(wait)
            self._wake.clear()
            self._run()
            if not self._wake.is_set():
                self._idle.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until every requested flush has run; ``False`` on timeout."""
        return self._idle.wait(timeout)

    def flush_now(self) -> None:
        """Flushes now, on the caller's thread (after a search ends, or on a click)."""
        self._run()

    def close(self) -> None:
        """Stops the worker thread."""
        self._closed = True
        self._wake.set()

    def _run(self) -> None:
        with self._flush_lock:
            self._last = self._clock()
            self.flushes += 1
            self._flush()


__all__ = ["Throttle"]
