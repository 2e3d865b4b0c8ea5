"""tunewidgets: an interactive hyperparameter-tuning dashboard for Keras, in Jupyter.

Importing this package is quick and does not import TensorFlow; Keras loads when
a search runs or a model is asked for.

    >>> import tunewidgets as tw
    >>> spec = tw.Spec.from_file("examples/specs/quickstart.json")   # doctest: +SKIP
    >>> results = tw.run(spec, "runs/quickstart")                    # doctest: +SKIP
    >>> tw.load("runs/quickstart").trials                            # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import DataError, Issue, MemoryWarning, ProjectError, SearchError, SpecError
from .spec import Choice, Fixed, Range, Spec, choice

__version__ = "0.1.0"

_LAZY = {
    "Arrays": "tunewidgets.data.arrays",
    "Search": "tunewidgets.engine",
    "run": "tunewidgets.engine",
    "load": "tunewidgets.engine",
    "Results": "tunewidgets.engine",
    "Dashboard": "tunewidgets.dashboard",
    "live": "tunewidgets.follow",
    "watch": "tunewidgets.follow",
    "Watcher": "tunewidgets.follow",
}


_SUBMODULES = ("plots", "data", "engine", "dashboard", "events")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name in _SUBMODULES:  # tunewidgets.plots and friends, imported on first use
        return import_module(f"tunewidgets.{name}")
    raise AttributeError(f"module 'tunewidgets' has no attribute {name!r}")


__all__ = [
    "Arrays",
    "Choice",
    "Dashboard",
    "DataError",
    "Fixed",
    "Issue",
    "MemoryWarning",
    "ProjectError",
    "Range",
    "Results",
    "Search",
    "SearchError",
    "Spec",
    "SpecError",
    "Watcher",
    "choice",
    "live",
    "load",
    "run",
    "watch",
    "__version__",
]
