"""Writes binder/constraints.txt: the exact versions a Binder session needs, taken from the environment the
tests ran in (the venv that `bash .ci/run` made and tested), so that Binder installs what CI tested.

Only what a Binder session uses is pinned: tunewidgets' own dependencies with the CPU build of TensorFlow,
and JupyterLab, Notebook, Voila, ipykernel and jupyter-resource-usage (the memory indicator in JupyterLab's
status bar), each with everything it requires, walked through the installed packages' metadata. Test-only
tools (pytest, playwright, ruff, mypy, hypothesis...), the JAX backend and tunewidgets itself and the
packaging tools (pip, setuptools, wheel) are left out.

    . .venv/bin/activate && python binder/make_constraints.py
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOTS = [("tunewidgets", {"tensorflow-cpu"}), ("jupyterlab", set()), ("notebook", set()), ("voila", set())]
ROOTS += [("ipykernel", set()), ("jupyter-resource-usage", set())]
# packaging tools, not what a session runs: a pin here would also hold back the build of tunewidgets itself
TOOLS = {"pip", "setuptools", "wheel"}
OUT = Path(__file__).resolve().parent / "constraints.txt"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure() -> dict[str, str]:
    """Every installed distribution the roots need (with their extras), by canonical name: its version."""
    env = default_environment()
    seen: dict[str, str] = {}
    todo = list(ROOTS)
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        key = (canonical(name), frozenset(extras))
        if key in done:
            continue
        done.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional requirement whose marker held but that is not installed: not needed
        seen[canonical(name)] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not any(
                req.marker.evaluate({**env, "extra": extra}) for extra in (extras or {""})
            ):
                continue
            todo.append((req.name, set(req.extras)))
    seen.pop("tunewidgets", None)  # the repository itself, installed by postBuild
    return {name: version for name, version in seen.items() if name not in TOOLS}


def main() -> None:
    pins = closure()
    if not {"tensorflow-cpu", "voila", "jupyter-resource-usage"} <= pins.keys():
        sys.exit("run this in the tested venv (tunewidgets[test,tensorflow-cpu] and jupyter-resource-usage installed)")
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    header = (
        "# The versions the tests ran with (the venv of `bash .ci/run`), restricted to what a Binder session needs.\n"
        "# Made by `python binder/make_constraints.py` in that venv; used by requirements.txt and postBuild.\n"
        f"# Python {sys.version_info.major}.{sys.version_info.minor} (runtime.txt)\n"
    )
    OUT.write_text(header + "\n".join(lines) + "\n")
    print(f"{OUT}: {len(lines)} pins")


if __name__ == "__main__":
    main()
