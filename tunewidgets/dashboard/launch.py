"""Getting a search going without holding the kernel.

When a dashboard is shown, a background thread starts spare worker processes (they import
TensorFlow while the person reads the settings), imports what preparing the data needs, and
builds the live views. Run then only reads the settings and claims a folder on the kernel's
thread; the views are shown, subscribed and the search started on a thread of its own, so the
kernel answers at once and the first epoch's point comes as soon as the worker has trained it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from .._memory import memory_short
from ..engine import Results, Search, warm_up
from ..engine.machine_checks import WORKER_MB
from ..events import Event
from . import widgets as w

log = logging.getLogger(__name__)


class View(Protocol):
    """What the dashboard asks of a live view (the plots of :mod:`tunewidgets.plots` are one)."""

    widget: w.Widget

    def reset(self, source: Search | Results) -> None: ...

    def on_event(self, event: Event) -> None: ...

    def settle(self, timeout: float | None = 30) -> bool: ...


class Launcher:
    """The dashboard's live views, made once, and the start of each search.

    Args:
        box: where the views are shown (at Run, or when a finished search is opened).
        views: the views to show (the plots of :mod:`tunewidgets.plots` when None, made on first need).
    """

    def __init__(self, box: w.Box, views: list[View] | None = None):
        self.box = box
        self._views = views
        self._views_lock = threading.Lock()
        self._warming: threading.Thread | None = None
        self._starting: threading.Thread | None = None
        self._stop_early = False
        #: spare worker processes started by :meth:`warm_up` (for tests and the curious)
        self.spares = 0
        #: why the last warm-up started no spare though it was asked for some (the session's memory is short)
        self.no_spares = ""
        #: what went wrong starting the last search's views (shown by the dashboard; the search still runs)
        self.error: BaseException | None = None

    # ---------------------------------------------------------------- before Run
    def warm_up(self, workers: int) -> threading.Thread:
        """Starts ``workers`` spare workers and the scikit-learn helper (:mod:`..sklearn_helper`) and makes the views,
        on a background thread (the first call; later calls start spares again if those waited in vain).

        No spare starts when the session's memory is already short for one worker (:attr:`no_spares` says so):
        it would import TensorFlow only to give its memory back, or get a kernel killed for memory."""
        thread = threading.Thread(target=self._warm, args=(workers,), name="tunewidgets:warm-up", daemon=True)
        self._warming = thread
        thread.start()
        return thread

    def _warm(self, workers: int) -> None:
        try:
            short = memory_short(WORKER_MB) if workers else None
            self.no_spares = short or ""
            if short is not None:
                log.info("no spare worker: %s", short)
            elif workers:
                self.spares += warm_up(workers)
            from .. import sklearn_helper

            sklearn_helper.start()  # the data is prepared there: scikit-learn is not imported into this kernel
            self.views()
        except Exception:  # noqa: BLE001 - a head start only: Run does it all again and says what is wrong
            log.debug("the dashboard's warm-up failed", exc_info=True)

    def views(self) -> list[View]:
        """The live views, made on first need (importing plotly takes a second or more)."""
        with self._views_lock:
            if self._views is None:
                from ..plots import default_views

                self._views = list[View](default_views())
            return self._views

    @property
    def made(self) -> list[View]:
        """The views made so far (none before the first need)."""
        return list(self._views or [])

    def show(self, source: Search | Results) -> list[View]:
        """Shows the views, following ``source``."""
        views = self.views()
        self.box.children = [v.widget for v in views]
        for view in views:
            view.reset(source)
        return views

    # ---------------------------------------------------------------- Run
    @property
    def starting(self) -> bool:
        """Whether a search is being started (its views made and subscribed) right now."""
        return self._starting is not None and self._starting.is_alive()

    def launch(self, search: Search, on_event: Callable[[Event], None], on_error: Callable[[str], None]) -> None:
        """Starts ``search`` on a thread of its own once its views follow it; returns at once."""
        self._stop_early = False
        self.error = None
        thread = threading.Thread(
            target=self._launch, args=(search, on_event, on_error), name="tunewidgets:launch", daemon=True
        )
        self._starting = thread
        thread.start()

    def _launch(self, search: Search, on_event: Callable[[Event], None], on_error: Callable[[str], None]) -> None:
        search.events.subscribe(on_event)
        try:
            for view in self.show(search):
                search.events.subscribe(view.on_event)
        except Exception as e:  # noqa: BLE001 - the search runs without its plots, and says why
            self.error = e
            on_error(f"the live views could not be shown ({type(e).__name__}: {e}); the search runs without them")
        search.start()
        if self._stop_early:  # Stop was pressed while the search was being started
            search.stop()

    def stop(self, search: Search) -> None:
        """Stops ``search``, also when it is still being started."""
        self._stop_early = True
        search.stop()

    def started(self, timeout: float | None = None) -> bool:
        """Waits until the last search has been started; False on timeout."""
        thread = self._starting
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True


__all__ = ["Launcher", "View"]
