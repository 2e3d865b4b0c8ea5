"""The engine: drives a keras-tuner search in worker processes, records it, and gives its results.

It knows nothing of widgets or plots: observers subscribe to ``Search.events``. The calling process
never imports TensorFlow; worker processes do.

* :mod:`~tunewidgets.engine.search`: :class:`Search`, one search of one spec in one project folder;
* :mod:`~tunewidgets.engine.project`: the project folder's layout and its lock;
* :mod:`~tunewidgets.engine.pool`, :mod:`~tunewidgets.engine.warm`, :mod:`~tunewidgets.engine.relay`,
  :mod:`~tunewidgets.engine.protocol`: worker processes, warm workers, the event relay and the
  controller <-> worker files;
* :mod:`~tunewidgets.engine.worker`, :mod:`~tunewidgets.engine.chief`, :mod:`~tunewidgets.engine.tuner`:
  inside a worker process: its main loop, the chief's server, keras-tuner wired to events;
* :mod:`~tunewidgets.engine.record`, :mod:`~tunewidgets.engine.eventlog`, :mod:`~tunewidgets.engine.results`:
  a search's record in memory, its events on disk, and the user-facing results.
"""

from .results import Results, SearchStatus, load
from .search import Search, run

__all__ = ["Results", "Search", "SearchStatus", "load", "run"]
