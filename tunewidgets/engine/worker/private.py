"""Every use of a private keras-tuner name, in one place.

keras-tuner has no public way to do these four things: serve its oracle over gRPC on a port of our choosing
(its own serving loop can neither be stopped nor given a port), let a worker import keras-tuner without the
Bayesian oracle's scikit-learn and SciPy and hand them back when needed, let random sampling draw more than
20 times before it gives up on a small space, and write its state files whole or not at all.
:data:`PRIVATE_NAMES` lists each name used; a test checks them against the installed keras-tuner, and each
function raises :class:`PrivateAPIMissing` naming the one that is missing, so a keras-tuner that moved one
fails loudly and says where.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from ..._atomic import atomic_write_text

#: (module, attribute) of every private keras-tuner name this package uses; attribute None: the module itself.
PRIVATE_NAMES: tuple[tuple[str, str | None], ...] = (
    ("keras_tuner.src.distribute.oracle_chief", "OracleServicer"),
    ("keras_tuner.src.protos", "get_service_grpc"),
    ("keras_tuner.src.tuners.bayesian", None),
    ("keras_tuner.src.engine.oracle", "Oracle"),  # whose instances carry _max_collisions (MAX_COLLISIONS)
    ("keras_tuner.src.utils", "save_json"),  # every state file keras-tuner writes: made whole-or-nothing
)

#: The private attribute of keras-tuner's oracles that bounds random draws of values already tried.
MAX_COLLISIONS = "_max_collisions"


class PrivateAPIMissing(RuntimeError):
    """The installed keras-tuner lacks a private name tunewidgets relies on (see ``pyproject.toml``'s bounds)."""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("keras-tuner")
    except Exception:  # noqa: BLE001 - only for the message
        return "?"


def private(module: str, attribute: str | None = None) -> Any:
    """A private keras-tuner module, or one of its attributes; :class:`PrivateAPIMissing` when it is gone."""
    try:
        found: ModuleType = importlib.import_module(module)
    except ImportError as e:
        raise PrivateAPIMissing(f"keras-tuner {_version()} has no module {module} ({e})") from None
    if attribute is None:
        return found
    if not hasattr(found, attribute):
        raise PrivateAPIMissing(f"keras-tuner {_version()} has no {module}.{attribute}")
    return getattr(found, attribute)


def add_oracle_service(server: Any, oracle: Any) -> None:
    """Serves ``oracle`` on a gRPC ``server`` with keras-tuner's own service (what its clients speak)."""
    servicer = private("keras_tuner.src.distribute.oracle_chief", "OracleServicer")(oracle)
    private("keras_tuner.src.protos", "get_service_grpc")().add_OracleServicer_to_server(servicer, server)


def bayesian_module() -> ModuleType:
    """keras-tuner's Bayesian optimization module (its oracle imports scikit-learn and SciPy at its start)."""
    module: ModuleType = private("keras_tuner.src.tuners.bayesian")
    return module


def write_state_whole() -> None:
    """keras-tuner writes its state files (``oracle.json``, each ``trial.json``, ``<tuner id>.json``) in place,
    through ``keras_tuner.src.utils.save_json``: a full disk or a kill mid-write leaves a file cut short, and
    keras-tuner can then not reload the project. In this process they are written whole or not at all (a
    temporary file beside, then a rename): a failed write leaves the file as it was. Idempotent."""
    utils = private("keras_tuner.src.utils")
    if getattr(utils.save_json, "tw_whole", False):
        return

    def save_json(path: str, obj: Any) -> str:
        text = json.dumps(obj)
        atomic_write_text(Path(path), text, sync=False)  # as often as keras-tuner writes: no device flush
        return text

    save_json.tw_whole = True  # type: ignore[attr-defined]
    utils.save_json = save_json


def set_max_collisions(oracle: Any, draws: int) -> bool:
    """How many draws of values already tried random sampling makes before it ends a search (keras-tuner: 20).

    Returns False, changing nothing, on a keras-tuner whose oracle lacks the attribute: the search still runs,
    and may end a small space's search before every combination was tried.
    """
    if not hasattr(oracle, MAX_COLLISIONS):
        return False
    setattr(oracle, MAX_COLLISIONS, draws)
    return True


__all__ = [
    "MAX_COLLISIONS",
    "PRIVATE_NAMES",
    "PrivateAPIMissing",
    "add_oracle_service",
    "bayesian_module",
    "private",
    "set_max_collisions",
    "write_state_whole",
]
