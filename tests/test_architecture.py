"""The layout holds: no import circles (lazy imports included), layers import only downwards, small modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tunewidgets"

#: Layers from the bottom up: a module may import its own layer and the ones below, never above.
LAYERS = [
    {"errors", "events", "progress", "_atomic", "_memory", "_backend"},
    {"spec"},
    {"data"},
    {"model"},
    {"engine"},
    {"plots"},
    {"follow"},
    {"dashboard"},
    {"cli", "__init__"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """Every tunewidgets module ``name`` imports, at the top or inside a function, ``TYPE_CHECKING`` left out."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def external_imports(name: str) -> set[str]:
    tree = ast.parse(MODULES[name].read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def layer(name: str) -> int:
    top = name.split(".")[1] if "." in name else "__init__"
    return next(i for i, members in enumerate(LAYERS) if top in members)


def test_the_import_graph_is_read():
    assert "tunewidgets.engine.pool" in GRAPH["tunewidgets.engine.search"]
    assert "tunewidgets.model.hypermodel" in GRAPH["tunewidgets.engine.worker.main"]  # a lazy import, inside _train


def test_no_import_circles():
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)
    assert cycles == []


def test_layers_import_only_downwards():
    upward = [
        f"{a} -> {b}"
        for a, targets in GRAPH.items()
        for b in targets
        if layer(b) > layer(a) and not (a == "tunewidgets" and b.startswith("tunewidgets."))
    ]
    assert upward == []


def test_the_engine_and_the_dashboard_keep_to_their_own():
    for name in MODULES:
        if name.startswith("tunewidgets.engine"):
            assert not external_imports(name) & {"ipywidgets", "plotly", "anywidget", "itables"}, name
            assert not any(t.startswith(("tunewidgets.dashboard", "tunewidgets.plots")) for t in GRAPH[name]), name
        if name.startswith("tunewidgets.dashboard"):
            assert not external_imports(name) & {"keras", "keras_tuner", "tensorflow"}, name
            forbidden = ("tunewidgets.model.hypermodel", "tunewidgets.model.codegen", "tunewidgets.model.build")
            assert not any(t.startswith(forbidden) for t in GRAPH[name]), name


def side(name: str) -> str:
    """Which process runs an engine module: the worker's, the notebook's, or both (the folder they share)."""
    if name.startswith("tunewidgets.engine.worker"):
        return "worker"
    if name.startswith("tunewidgets.engine.folder"):
        return "folder"
    return "notebook"


def test_the_notebook_side_and_the_worker_side_import_nothing_of_each_other():
    crossing = [
        f"{a} -> {b}"
        for a, targets in GRAPH.items()
        if a.startswith("tunewidgets.engine.")
        for b in targets
        if b.startswith("tunewidgets.engine.")
        and b != "tunewidgets.engine"
        and {side(a), side(b)} in ({"worker", "notebook"}, {"folder", "notebook"}, {"folder", "worker"})
        and side(b) != "folder"
    ]
    assert crossing == []
    # the worker process's entry point and its trial loop are where the path says
    assert {"tunewidgets.engine.worker.main", "tunewidgets.engine.worker.loop"} <= set(MODULES)


def test_keras_tuner_internals_are_used_in_the_adapter_only():
    private = re.compile(r"keras_tuner\.src|\._symbolic_build|_get_jax_state|\b_max_collisions")
    users = sorted(
        name
        for name, path in MODULES.items()
        if private.search(path.read_text()) and name != "tunewidgets.engine.worker.private"
    )
    assert users == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= 400


PROJECT_FILES = re.compile(
    r"""["'](spec\.json|events\.jsonl|trials\.csv|curves\.csv|data\.npz|data\.json|evaluation\.json|keras_tuner|"""
    r"""chief\.json|callbacks\.pkl|GO|STOP|\.lock)["']"""
)


def test_only_the_engine_spells_a_project_file_name():
    spelled = [
        f"{name}: {match.group(0)}"
        for name, path in MODULES.items()
        if not name.startswith("tunewidgets.engine.")
        for match in PROJECT_FILES.finditer(path.read_text())
    ]
    assert spelled == []
