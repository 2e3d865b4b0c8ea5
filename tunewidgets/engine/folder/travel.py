"""What travels to the worker processes by value: the user's own modules.

A hypermodel, a callback or a helper defined in a file of the user's (beside the notebook, a folder put on
``sys.path``) is pickled by reference by default: the worker would import that module by name, and a worker
started elsewhere (another folder, a Dask worker) has no such module. While the user's objects are pickled,
every module of the user's that this process has imported travels by value, as a notebook's code does; installed
packages, the standard library and tunewidgets itself travel by reference. A module that still cannot be
imported where an object is loaded is named with the one thing to do (:func:`missing_module_message`).
"""

from __future__ import annotations

import contextlib
import os
import site
import sys
import sysconfig
from collections.abc import Iterator
from types import ModuleType
from typing import Any


def _installed_prefixes() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            paths.add(sysconfig.get_paths()[key])
    with contextlib.suppress(AttributeError):
        paths.add(site.getusersitepackages())
    return [os.path.abspath(p) + os.sep for p in paths if p]


def _ours(name: str) -> bool:
    return name == "tunewidgets" or name.startswith("tunewidgets.")


def user_modules() -> list[ModuleType]:
    """The modules of the user's own files that this process imported (top-level names: a package covers its
    submodules): not ``__main__`` (by value anyway), not installed, not the standard library, not tunewidgets."""
    installed = _installed_prefixes()
    found: dict[str, ModuleType] = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(module, ModuleType) or not path or name == "__main__" or _ours(name):
            continue
        if any(os.path.abspath(path).startswith(prefix) for prefix in installed):
            continue
        top = name.split(".")[0]
        if top in sys.modules and not _ours(top):
            found.setdefault(top, sys.modules[top])
    return list(found.values())


@contextlib.contextmanager
def users_code_by_value() -> Iterator[None]:
    """While open, cloudpickle pickles the user's own modules' functions and classes by value."""
    import cloudpickle

    registered = []
    for module in user_modules():
        try:
            cloudpickle.register_pickle_by_value(module)
        except ValueError:  # already registered (by the user, or a test)
            continue
        registered.append(module)
    try:
        yield
    finally:
        for module in registered:
            with contextlib.suppress(ValueError):
                cloudpickle.unregister_pickle_by_value(module)


def dumps(obj: Any) -> bytes:
    """cloudpickle's bytes of ``obj``, the user's own modules by value."""
    import cloudpickle

    with users_code_by_value():
        return bytes(cloudpickle.dumps(obj))


class MissingModule(RuntimeError):
    """A worker cannot import a module the user's objects need: said as is, with what to do."""


def loads(data: bytes, what: str) -> Any:
    """The user's objects back from :func:`dumps`' bytes; a module missing here is :class:`MissingModule`,
    naming it and what to do (``what``: "the hypermodel", "the callbacks")."""
    import cloudpickle

    try:
        return cloudpickle.loads(data)
    except ModuleNotFoundError as e:
        raise MissingModule(missing_module_message(e, what)) from None


def missing_module_message(error: ModuleNotFoundError, what: str) -> str:
    """What to do when ``what`` (the hypermodel, the callbacks) needs a module the worker cannot import."""
    name = error.name or str(error)
    return (
        f"the workers could not import the module '{name}' that {what} needs: install it where the workers run "
        f"(pip install it, or pip install -e the folder that holds it), or import it in your own process "
        "before the search starts, so it travels with the search"
    )


__all__ = ["MissingModule", "dumps", "loads", "missing_module_message", "user_modules", "users_code_by_value"]
