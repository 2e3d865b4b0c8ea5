"""A worker imports keras-tuner without what TensorFlow and Keras load only for features it never uses.

On the TensorFlow backend, ``import keras_tuner`` also imports JAX (TensorFlow Lite's JAX
conversion), pandas (Keras's DataFrame inputs), scikit-learn (Keras's scikit-learn wrappers,
keras-tuner's Bayesian oracle) and SciPy (TensorFlow's legacy sparse inputs, the Bayesian oracle)
when they are installed. Each of those imports is optional (inside ``try``), and a worker trains
from NumPy arrays, so it imports keras-tuner with them held back: a second less at every worker's
start and 100 to 200 MB less memory per worker (measured: bench/worker_start.py). Only imports
made by TensorFlow, Keras or keras-tuner themselves are held back, and only during that import;
the Bayesian oracle gets its packages back when a search uses it (:func:`bayesian_ready`).
"""

from __future__ import annotations

import importlib
import importlib.abc
import inspect
import sys
from types import FrameType
from typing import Any

from ..._backend import keras_backend

#: Packages held back, when TensorFlow, Keras or keras-tuner import them while keras-tuner is imported.
HELD_BACK = frozenset({"jax", "pandas", "scipy", "sklearn"})
_LIBRARIES = ("tensorflow", "keras", "keras_tuner")


def _importer(frame: FrameType | None) -> str:
    """The module whose code runs the import statement (past the import machinery's own frames)."""
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen importlib") or frame.f_globals.get("__name__") == "importlib"
    ):
        frame = frame.f_back
    return str(frame.f_globals.get("__name__", "")) if frame is not None else ""


class _HoldBack(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.held: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.partition(".")[0] not in HELD_BACK:
            return None
        caller = getattr(inspect.currentframe(), "f_back", None)  # the frame that called this finder: importlib's
        if _importer(caller).partition(".")[0] not in _LIBRARIES:
            return None
        self.held.add(fullname.partition(".")[0])
        raise ModuleNotFoundError(f"No module named {fullname!r} (held back in a tunewidgets worker)", name=fullname)


def import_keras_tuner() -> set[str]:
    """Imports keras-tuner (and Keras, TensorFlow); returns the packages held back meanwhile."""
    if "keras_tuner" in sys.modules or keras_backend() != "tensorflow":
        import keras_tuner  # noqa: F401

        return set()
    finder = _HoldBack()
    sys.meta_path.insert(0, finder)
    try:
        import keras_tuner  # noqa: F401
    finally:
        sys.meta_path.remove(finder)
    return finder.held


def bayesian_ready() -> None:
    """Gives keras-tuner's Bayesian oracle the scikit-learn and SciPy it imports at start, if held back."""
    from .private import bayesian_module

    bayesian = bayesian_module()

    if getattr(bayesian, "scipy", None) is None or getattr(bayesian, "sklearn", None) is None:
        importlib.reload(bayesian)  # runs its guarded imports again, in the same module namespace
