"""The engine: drives a keras-tuner search in worker processes, records it, and gives its results.

It knows nothing of widgets or plots: observers subscribe to ``Search.events``. The calling process
never imports TensorFlow; worker processes do.

* :mod:`~tunewidgets.engine.search`: :class:`Search`, one search of one spec in one project folder;
* :mod:`~tunewidgets.engine.pool`, :mod:`~tunewidgets.engine.warm`, :mod:`~tunewidgets.engine.relay`:
  worker processes, warm workers, the event relay; :mod:`~tunewidgets.engine.machine_checks`: settings checked
  against this machine; :mod:`~tunewidgets.engine.results`: the user-facing results;
* :mod:`~tunewidgets.engine.folder`: the project folder, shared with the workers (its files, the
  controller <-> worker protocol, the event log, the record, the folder's truth);
* :mod:`~tunewidgets.engine.worker`: inside a worker process (``python -m tunewidgets.engine.worker``):
  the trial loop, keras-tuner's oracle, the chief's server. It imports nothing of the modules above.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .opened import load
    from .pool import warm_up
    from .results import Results, SearchStatus
    from .search import Search, run

_LAZY = {
    "Results": "results",
    "SearchStatus": "results",
    "load": "opened",
    "Search": "search",
    "run": "search",
    "warm_up": "pool",
}


def __getattr__(name: str) -> Any:
    # imported on first use: a worker process (python -m tunewidgets.engine.worker) needs none of these
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Results", "Search", "SearchStatus", "load", "run", "warm_up"]
