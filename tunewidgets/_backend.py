"""Which Keras backend a process will use, and whether it is installed: read without importing Keras."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

#: The package each Keras backend needs, and the tunewidgets extra that installs it.
BACKEND_PACKAGES = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "jax": ("jax", "jax"), "torch": ("torch", None)}


def keras_backend() -> str:
    """The backend Keras will choose when imported (as ``keras.src.backend.config`` decides it)."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    if "KERAS_HOME" in os.environ:
        folder = Path(os.environ["KERAS_HOME"])
    else:
        home = os.path.expanduser("~")
        folder = Path(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    try:
        config = json.loads((folder / "keras.json").read_text())
    except (OSError, ValueError):
        return "tensorflow"
    return str(config.get("backend", "tensorflow")) if isinstance(config, dict) else "tensorflow"


def backend_missing() -> str | None:
    """What to install when the backend Keras will choose is not installed here (None when it is)."""
    backend = keras_backend()
    package, extra = BACKEND_PACKAGES.get(backend, (backend, None))
    if importlib.util.find_spec(package) is not None:
        return None
    how = f"pip install 'tunewidgets[{extra}]'" if extra else f"pip install {package}"
    if backend == "tensorflow":
        how += " (or tunewidgets[tensorflow] for a GPU, or tunewidgets[jax] with KERAS_BACKEND=jax)"
    return f"Keras' backend here is {backend}, which is not installed: {how}"


__all__ = ["BACKEND_PACKAGES", "backend_missing", "keras_backend"]
