"""The user's own hypermodel, on the notebook side (which never imports TensorFlow).

The build function or ``keras_tuner.HyperModel`` goes to the worker processes by cloudpickle, as the
callbacks do, so one defined in a notebook travels too; it is kept in the search's folder
(``hypermodel.pkl``) so that a resume, a killed kernel or a reload finds it. ``hypermodel.json`` keeps its
name, its source and a fingerprint: a resume with a changed function is refused, saying what changed.

Its hyperparameters are discovered in a worker process (:func:`discover_space`), which builds it the
way keras-tuner's ``Tuner`` does when a search starts; the space is cached in the folder (``space.json``).
A process that imported keras-tuner already (a program with a tuner of its own, ``from_tuner``) builds it
itself: no second import of TensorFlow before the search's worker starts.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import inspect
import json
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes, atomic_write_json
from ..data.arrays import Arrays, UserData
from ..errors import Issue, ProjectError, SpecError
from ..spec import Fixed, Spec
from ..spec.hyper import HyperModelSpec, override_issues
from .folder.project import Project
from .folder.travel import MissingModule, dumps, loads
from .warm import run_task


@dataclass(frozen=True)
class Packed:
    """A hypermodel ready to travel: its name, its cloudpickle bytes, its source (when Python has it)."""

    name: str
    pickled: bytes
    source: str
    fingerprint: str
    #: a HyperModel with a ``fit`` of its own (trained through it, one trial at a time)
    own_fit: bool = False

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "fingerprint": self.fingerprint}


def hypermodel_name(user: Any) -> str:
    """``build_model`` for a function, the class's name for a HyperModel."""
    if inspect.isfunction(user) or inspect.ismethod(user):
        return user.__name__
    return getattr(user, "__name__", None) or type(user).__name__


def source_of(user: Any) -> str:
    """The function's or class's source, as written (a notebook cell's included); '' when Python has none."""
    target = user if inspect.isfunction(user) or inspect.isclass(user) else type(user)
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        return ""


def _what_fails(user: Any) -> str:
    """The names a function refers to that cannot be pickled, for the message."""
    import cloudpickle

    if not inspect.isfunction(user):
        return ""
    refs = inspect.getclosurevars(user)
    bad = []
    for name, value in {**refs.nonlocals, **refs.globals}.items():
        try:
            cloudpickle.dumps(value)
        except Exception:  # noqa: BLE001 - any failure names the culprit
            bad.append(f"{name} ({type(value).__name__})")
    return f"; it refers to {', '.join(bad)}, which cannot be sent: create it inside the function" if bad else ""


def pack(user: Any) -> Packed:
    """Pickles the hypermodel for the worker processes; a clear :class:`SpecError` when it cannot be."""

    name = hypermodel_name(user)
    if isinstance(user, type) and callable(getattr(user, "build", None)):  # the HyperModel class, not one of it
        raise SpecError(
            Issue("hypermodel", f"{user.__name__} is a class: pass an instance of it, hypermodel={user.__name__}()")
        )
    if not callable(user) and not hasattr(user, "build"):
        raise SpecError(
            Issue(
                "hypermodel",
                f"expected a build_model(hp) function or a keras_tuner.HyperModel, got {type(user).__name__}",
            )
        )
    try:
        pickled = dumps(user)  # the user's own modules by value: a worker needs neither them nor sys.path
    except Exception as e:  # noqa: BLE001 - any failure is the same problem: it cannot travel
        raise SpecError(
            Issue(
                "hypermodel",
                f"{name} cannot be sent to the worker processes ({type(e).__name__}: {e}){_what_fails(user)}",
            )
        ) from None
    source = source_of(user)
    fingerprint = hashlib.sha256(source.encode() if source else pickled).hexdigest()[:16]
    return Packed(name, pickled, source, fingerprint, _own_fit(user))


def _own_fit(user: Any) -> bool:
    """Does a HyperModel define its own ``fit`` (read from its classes, without importing keras-tuner)?"""
    for cls in type(user).__mro__:
        if cls.__module__.startswith("keras_tuner"):
            return False
        if "fit" in vars(cls):
            return True
    return False


def store(project: Project, packed: Packed, *, resumed: bool) -> None:
    """Keeps the hypermodel in the folder; on a resume, refuses one that changed since the search started."""
    if resumed and project.hypermodel_info.exists():
        with contextlib.suppress(OSError, ValueError):
            before = json.loads(project.hypermodel_info.read_text(encoding="utf-8"))
            if before.get("fingerprint") != packed.fingerprint:
                raise ProjectError(
                    f"{project.directory} holds a search of another {before.get('name', 'hypermodel')}: "
                    f"{packed.name} changed since it started{_changes(before.get('source', ''), packed.source)}. "
                    "Run it in a new folder, or start afresh there with overwrite=True (which deletes its trials)"
                )
    atomic_write_bytes(project.hypermodel, packed.pickled)
    atomic_write_json(project.hypermodel_info, packed.info())


def _changes(before: str, after: str) -> str:
    if not before or not after:
        return ""
    diff = difflib.unified_diff(
        textwrap.dedent(before).splitlines(), textwrap.dedent(after).splitlines(), lineterm="", n=0
    )
    lines = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    gone = [f"was: {line[1:].strip()}" for line in lines if line.startswith("-")]
    new = [f"now: {line[1:].strip()}" for line in lines if line.startswith("+")]
    shown = "; ".join([*gone[:2], *new[:2]])
    more = len(gone) > 2 or len(new) > 2
    return f" ({shown}{'; ...' if more else ''})" if shown else ""


def load_space(project: Project, fingerprint: str) -> list[dict[str, Any]] | None:
    """The space cached in the folder for this hypermodel, if any."""
    try:
        cached = json.loads(project.space.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(cached, dict) or cached.get("fingerprint") != fingerprint:
        return None
    space = cached.get("space")
    return space if isinstance(space, list) else None


def discover_space(packed: Packed, directory: str | Path | None = None) -> list[dict[str, Any]]:
    """The hyperparameters the hypermodel declares (keras-tuner's JSON configs, conditional ones with their
    conditions), found by building it in a worker process; cached in ``directory`` (a temporary folder
    when None). Raises :class:`SpecError` naming the hypermodel when its build fails."""
    if directory is None:
        # whatever a worker killed mid-build left in it goes too; a file still being written is no error
        with tempfile.TemporaryDirectory(prefix="tunewidgets-space-", ignore_cleanup_errors=True) as folder:
            return discover_space(packed, folder)
    project = Project(Path(directory))
    cached = load_space(project, packed.fingerprint)
    if cached is not None:
        return cached
    project.directory.mkdir(parents=True, exist_ok=True)
    found = _FOUND.get(_pickled_key(packed))
    if found is not None:  # the same hypermodel, found in this process already (the dashboard, then Run)
        atomic_write_json(project.space, {"fingerprint": packed.fingerprint, "space": found})
        return found
    atomic_write_bytes(project.hypermodel, packed.pickled)
    atomic_write_json(project.hypermodel_info, packed.info())
    try:
        if "keras_tuner" in sys.modules:
            _discover_here(project, packed)
        else:
            run_task(project.directory, ["--discover"])
    except RuntimeError as e:
        said = str(e)
        message = said if said.startswith(packed.name) else f"{packed.name} could not be built: {said}"
        raise SpecError(Issue("hypermodel", message)) from None
    space = load_space(project, packed.fingerprint)
    if space is None:
        raise SpecError(
            Issue("hypermodel", f"{packed.name}'s hyperparameters could not be read back from {project.space}")
        )
    _FOUND[_pickled_key(packed)] = space
    return space


def _discover_here(project: Project, packed: Packed) -> None:
    """Discovery in this process, which imported keras-tuner already; what the build does wrong is raised as a
    ``RuntimeError`` worded as the worker's task words it."""
    import cloudpickle

    from ..model.user import build_failure, discover

    try:
        space = discover(cloudpickle.loads(packed.pickled), own_process=False)
    except Exception as e:  # noqa: BLE001 - the user's build raised it: said as the worker's task says it
        raise RuntimeError(build_failure(e)) from None
    atomic_write_json(project.space, {"fingerprint": packed.fingerprint, "space": space})


#: The spaces found in this process, by the hypermodel's pickled bytes (its code and every value it refers
#: to): a search started from a dashboard does not build the hypermodel again to find what the dashboard found.
_FOUND: dict[str, list[dict[str, Any]]] = {}


def _pickled_key(packed: Packed) -> str:
    return hashlib.sha256(packed.pickled).hexdigest()


def hypermodel_inputs(hypermodel: Any, data: Any, spec: Spec) -> tuple[Packed | None, Arrays | None, Spec]:
    """What ``Search(spec, folder, hypermodel=..., data=...)`` was given, checked: the hypermodel packed, the
    arrays (their lengths and splits checked now), the spec naming the hypermodel."""
    if hypermodel is None:
        if spec.hypermodel is not None:
            raise SpecError(
                Issue(
                    "hypermodel", f"this spec trains your {spec.hypermodel.name}: pass it, Search(..., hypermodel=...)"
                )
            )
        return None, None, spec
    packed = pack(hypermodel)
    if spec.hypermodel is None:
        spec = spec.replace(hypermodel=HyperModelSpec(packed.name))
    if spec.training.batch_size == Spec().training.batch_size:  # left as it comes: Keras' own, not a new hyperparameter
        spec = spec.replace(**{"training.batch_size": Fixed(32)})
    if data is None:
        raise SpecError(Issue("data", f"{packed.name} needs your arrays: data=(x, y) or tw.Arrays(...)"))
    arrays = Arrays.of(data)
    if not (isinstance(data, Arrays) or (isinstance(data, dict) and "validation_split" in data)):
        arrays.validation_split = spec.data.validation_split
    arrays.splits()  # x and y of different lengths, an empty validation set: said now
    return packed, arrays, spec


def check_hypermodel(project: Project, packed: Packed, spec: Spec, *, resumed: bool) -> list[dict[str, Any]]:
    """Keeps the user's hypermodel in the folder (a changed one does not resume), finds the hyperparameters it
    declares (in a worker process; cached in the folder) and checks the spec's overrides against them.
    Returns the space (keras-tuner's configs)."""
    assert spec.hypermodel is not None
    store(project, packed, resumed=resumed)
    space = discover_space(packed, project.directory)
    issues = override_issues(space, spec.hypermodel)
    if issues:
        raise SpecError(issues)
    return space


def user_data(project: Project, arrays: Arrays) -> UserData:
    """The user's arrays, split: written once into the folder, read back from it on a resume."""
    if UserData.saved(project.arrays):
        return UserData.load(project.arrays)
    data = UserData.from_arrays(arrays)
    data.save(project.arrays)
    return data


def kept_hypermodel(project: Project) -> tuple[Any, Arrays]:
    """The hypermodel and arrays a search keeps in its folder (unpickling it imports what it refers to)."""
    if not project.hypermodel.exists() or not UserData.saved(project.arrays):
        raise ProjectError(f"{project.directory} keeps no hypermodel or arrays: pass hypermodel= and data=")
    data = UserData.load(project.arrays)
    test = (data.x_test, data.y_test) if data.x_test is not None else None
    arrays = Arrays(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), test_data=test)
    try:
        user = loads(project.hypermodel.read_bytes(), "the hypermodel")
    except MissingModule:
        raise  # a module the hypermodel needs, named with what to do
    except Exception as e:  # noqa: BLE001 - cut short, changed: the file is damaged, whatever unpickling says
        raise ProjectError(
            f"{project.hypermodel} is damaged ({type(e).__name__}: {e}); the search's trials are kept. Pass your "
            "hypermodel again (tw.Search(spec, folder, hypermodel=build_model, data=...)), which writes it anew"
        ) from None
    return user, arrays


__all__ = [
    "Packed",
    "kept_hypermodel",
    "check_hypermodel",
    "discover_space",
    "hypermodel_name",
    "load_space",
    "pack",
    "hypermodel_inputs",
    "source_of",
    "store",
    "user_data",
]
