"""Every use of a private keras-tuner name, in one place.

keras-tuner has no public way to do these things: serve its oracle over gRPC on a port of our choosing
(its own serving loop can neither be stopped nor given a port), let a worker import keras-tuner without the
Bayesian oracle's scikit-learn and SciPy and hand them back when needed, let random sampling draw more than
20 times before it gives up on a small space, write its state files whole or not at all, and, for the oracles
tunewidgets builds on its own (:mod:`.oracles`), find a trial's folder, tell values already tried, and draw
new values at random as its oracles do.
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
    ("keras_tuner.src.engine.oracle", "Oracle._get_trial_dir"),  # trial_dir
    ("keras_tuner.src.engine.oracle", "Oracle._duplicate"),  # duplicate
    ("keras_tuner.src.engine.oracle", "Oracle._random_values"),  # random_values
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
    value: Any = found
    for part in attribute.split("."):  # "Class.method": a private method of a public class
        if not hasattr(value, part):
            raise PrivateAPIMissing(f"keras-tuner {_version()} has no {module}.{attribute}")
        value = getattr(value, part)
    return value


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


_ORACLE = "keras_tuner.src.engine.oracle"


def _oracle_method(oracle: Any, name: str) -> Any:
    """``oracle``'s private method ``name`` (one of :data:`PRIVATE_NAMES`), bound to it."""
    method = getattr(oracle, name, None)
    if method is None:
        raise PrivateAPIMissing(f"keras-tuner {_version()} has no {_ORACLE}.Oracle.{name}")
    return method


def trial_dir(oracle: Any, trial_id: str) -> str:
    """The folder of ``oracle``'s trial ``trial_id``, made if missing (``Oracle._get_trial_dir``)."""
    return str(_oracle_method(oracle, "_get_trial_dir")(trial_id))


def duplicate(oracle: Any, values: dict[str, Any]) -> bool:
    """Whether ``oracle`` has tried ``values`` already, by its own record of them (``Oracle._duplicate``)."""
    return bool(_oracle_method(oracle, "_duplicate")(values))


def random_values(oracle: Any) -> dict[str, Any] | None:
    """Values not tried yet, drawn at random as keras-tuner's random search draws them (``Oracle._random_values``);
    None when every draw up to the oracle's limit (:func:`set_max_collisions`) was of values already tried."""
    values = _oracle_method(oracle, "_random_values")()
    return None if values is None else dict(values)


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
    "duplicate",
    "private",
    "random_values",
    "set_max_collisions",
    "trial_dir",
    "write_state_whole",
]
