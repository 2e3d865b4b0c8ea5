"""The layout holds: no import circles (lazy imports included), layers import only downwards, small modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tunewidgets"

#: Layers from the bottom up: a module may import its own layer and the ones below, never above.
LAYERS = [
    {"errors", "events", "progress", "_atomic", "_memory", "_backend", "_kt_frames", "sklearn_helper"},
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
    assert (
        "tunewidgets.model.spec_hypermodel" in GRAPH["tunewidgets.engine.worker.main"]
    )  # a lazy import, inside _train


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
            forbidden = ("tunewidgets.model.spec_hypermodel", "tunewidgets.model.codegen", "tunewidgets.model.build")
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


#: The adapters: the only modules that may use a dependency's private names (keras-tuner's, CPython's frames,
#: plotly's and its widgets').
ADAPTERS = {"tunewidgets.engine.worker.private", "tunewidgets._kt_frames", "tunewidgets.plots._widget"}
#: Names of the standard library that start with an underscore and are documented as public.
DOCUMENTED = {"os._exit"}
#: A NamedTuple's documented methods and attributes (tunewidgets defines NamedTuple classes).
NAMEDTUPLE = {"_replace", "_asdict", "_make", "_fields", "_field_defaults"}
PRIVATE_MODULES = ("keras_tuner.src", "keras.src")
GETATTR = {"getattr", "setattr", "hasattr", "delattr"}


def is_private(name: str) -> bool:
    """One leading underscore, not a dunder (``__x`` is name-mangled: a class's own)."""
    return re.fullmatch(r"_[A-Za-z0-9]\w*", name) is not None and not name.endswith("__")


def private_module(module: str) -> bool:
    return module.startswith(PRIVATE_MODULES) or (
        not module.startswith("tunewidgets") and any(is_private(part) for part in module.split("."))
    )


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def stored_names(body: list[ast.stmt]) -> set[str]:
    """The names a module's or a class's body defines at its own level: functions, classes, names assigned
    (dataclass fields included)."""
    names, stack = set(), list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, DEFINITIONS):
            names.add(node.name)
            continue  # their bodies are their own scope
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return names


def self_or_cls(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in {"self", "cls"}


def own_names(trees: list[ast.Module]) -> tuple[set[str], set[str]]:
    """The names tunewidgets defines itself: what its objects carry (a class's methods and attributes, a
    NamedTuple's methods, attributes assigned on ``self`` or ``cls``), and what its modules define at their
    top. Imports define none: a private name imported from elsewhere is a use."""
    members: set[str] = set()
    top: set[str] = set()
    for tree in trees:
        top |= stored_names(tree.body)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                members |= stored_names(node.body)
                if any(ast.unparse(base).endswith("NamedTuple") for base in node.bases):
                    members |= NAMEDTUPLE
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and self_or_cls(node.value):
                members.add(node.attr)
    return members, top


TREES = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}
MEMBERS, TOP_LEVEL = own_names(list(TREES.values()))


def own_modules(tree: ast.Module) -> set[str]:
    """The names a module binds to what it imports of tunewidgets (``from . import _data``: its module)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("tunewidgets"))
        for alias in node.names
    }


def private_uses(tree: ast.Module, members: set[str], top: set[str]) -> list[str]:
    """Every private name of another package ``tree`` uses: ``x._name`` where no object of tunewidgets carries
    ``_name`` (on ``self`` too: a mixin's self is a dependency's object), unless ``x`` is a tunewidgets module
    that defines it; ``getattr(x, "_name")`` and its kin; a private name's string assigned (``NAME = "_name"``);
    an import of a private module or name (``keras_tuner.src``, ``keras.src`` included); such a module's name
    in a string that is not a docstring."""
    docstrings = {
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    modules = own_modules(tree)

    def foreign(name: object, names: set[str]) -> bool:
        return isinstance(name, str) and is_private(name) and name not in names

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and foreign(node.attr, members):
            base = ast.unparse(node.value)
            of_own_module = node.attr in top and (base in modules or base.startswith("tunewidgets."))
            if not of_own_module and ast.unparse(node) not in DOCUMENTED:
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETATTR:
            if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and foreign(node.args[1].value, members):
                found.append(ast.unparse(node))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Constant):
            if foreign(node.value.value, members | top):
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if private_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [a.name for a in node.names if not node.module.startswith("tunewidgets") and is_private(a.name)]
            if private_module(node.module) or names:
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Constant) and str(node.value).startswith(PRIVATE_MODULES):
            found += [] if id(node) in docstrings else [repr(node.value)]
    return found


def test_the_private_name_finder_finds_each_kind_of_use():
    source = """
import os, sys
from keras_tuner.src.engine import oracle
from plotly.io._renderers import renderers
from plotly.io import _renderers
import keras.src.backend
from . import _ours
MAX = "_max_collisions"
PATH = "keras_tuner.src.utils"
class Mixin:
    def f(self, fig, point):
        self._duplicate(fig)
        fig._layout_obj._props
        sys._getframe(1)
        getattr(fig, "_data")
        fig._helper
        self._mine = 1
        return self._mine, fig._mine, _ours._helper, os._exit, point._replace
"""
    found = private_uses(ast.parse(source), {"_mine", *NAMEDTUPLE}, {"_helper"})
    assert "self._duplicate" in found and "fig._layout_obj._props" in found and "fig._layout_obj" in found
    assert "sys._getframe" in found and "getattr(fig, '_data')" in found and "MAX = '_max_collisions'" in found
    assert "from keras_tuner.src.engine import oracle" in found and "import keras.src.backend" in found
    assert "from plotly.io._renderers import renderers" in found and "from plotly.io import _renderers" in found
    assert "'keras_tuner.src.utils'" in found and "fig._helper" in found  # a module's function is no member
    assert not {"self._mine", "fig._mine", "_ours._helper", "os._exit", "point._replace"} & set(found)


def test_the_names_tunewidgets_defines_are_read():
    assert {"_tw_study", "_study", "_esm", "_replace"} <= MEMBERS  # self._x, a method, a class attribute
    assert "_figure_now" in TOP_LEVEL  # a module's function: no object's member (fig._figure_now is flagged)
    assert not {"_data", "_layout_obj", "_trait_values", "_duplicate", "_getframe"} & MEMBERS


def test_dependencies_private_names_are_used_in_the_adapters_only():
    """keras-tuner's, Keras', plotly's, ipywidgets', CPython's: each private use sits in an adapter module,
    where a dependency that moved a name fails in one place (keras-tuner's are checked by test_private_apis)."""
    uses = {name: private_uses(tree, MEMBERS, TOP_LEVEL) for name, tree in TREES.items() if name not in ADAPTERS}
    assert {name: found for name, found in uses.items() if found} == {}
    assert set(MODULES) >= ADAPTERS


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


# ---------------------------------------------------------------------------- one owner of each rule
#: keras-tuner's trial statuses: spelled only where :class:`KerasTunerStatus` mirrors them (the worker side uses
#: keras-tuner's own ``keras_tuner.engine.trial.TrialStatus``).
KERAS_TUNER_STATUSES = {"COMPLETED", "FAILED", "INVALID", "RUNNING", "STOPPED", "IDLE"}
STATUS_OWNER = "tunewidgets.engine.folder.tuner_files"
#: what a better objective is: said only by ``Direction``
DIRECTION_OWNER = "tunewidgets.events"
#: ``trial_`` starting a part of a path (``trial_<id>``, ``trial_*/trial.json``, ``f"trial_{id}"``), not a name
#: such as ``trial_id``
TRIAL_FOLDER = re.compile(r"""(?<![A-Za-z0-9_.])trial_(?=[*<{0-9/"'`]|$)""")


def string_constants(source: str) -> list[str]:
    """Every string constant in ``source``: literals, docstrings, the literal parts of f-strings."""
    return [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def keras_tuner_statuses(source: str) -> list[str]:
    return [value for value in string_constants(source) if value in KERAS_TUNER_STATUSES]


def _is_direction_word(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in ("max", "min")


def _is_max_or_min(node: ast.expr) -> bool:
    return _is_direction_word(node) or (isinstance(node, ast.Name) and node.id in ("max", "min"))


def direction_rules(source: str) -> list[str]:
    """What only ``Direction`` should say: comparisons of anything with ``"max"`` / ``"min"`` (``x == "max"``,
    ``x in ("max", "min")``, the test of ``a if direction == "max" else b``), and a choice between the two words
    or the two built-ins (``"min" if name.endswith("loss") else "max"``, ``max if ... else min``). ``"min" in keys``
    asks for a key (a range's ``{"min": .., "max": ..}``), and a key or a subscript is no comparison: neither is
    flagged."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.IfExp) and _is_max_or_min(node.body) and _is_max_or_min(node.orelse):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
            continue
        if not isinstance(node, ast.Compare):
            continue
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                flagged = isinstance(right, (ast.Tuple, ast.List, ast.Set)) and any(map(_is_direction_word, right.elts))
            else:
                flagged = _is_direction_word(left) or _is_direction_word(right)
            if flagged:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
            left = right
    return found


def trial_folders(source: str) -> list[str]:
    return [value for value in string_constants(source) if TRIAL_FOLDER.search(value)]


def test_the_rules_below_catch_what_they_name():
    assert keras_tuner_statuses('if trial.status == "COMPLETED": pass\nS = {"status": "IDLE"}') == ["COMPLETED", "IDLE"]
    assert keras_tuner_statuses('"""A COMPLETED trial."""\nx = "completed"') == []
    assert len(direction_rules('a = 1 if d == "max" else 2\nb = "min" != d\nc = d in ("max", "min")')) == 3
    assert len(direction_rules('d = "min" if name.endswith("loss") else "max"\npick = max if up else min')) == 2
    assert direction_rules('if "min" in keys or "max" in raw: x = raw["min"], {"max": 1}.get("max")') == []
    assert trial_folders('p = f"trial_{i}"\nq = d.glob("trial_*/trial.json")\nr = n.removeprefix("trial_")') == [
        "trial_",
        "trial_*/trial.json",
        "trial_",
    ]
    assert trial_folders('"""Its ``trial_<id>`` folder."""') == ["Its ``trial_<id>`` folder."]
    assert trial_folders('x = {"trial_id": 1, "kind": "trial_started", "hp": "tuner/trial_id"}') == []


def test_keras_tuner_statuses_are_spelled_by_their_enum_only():
    spelled = [
        f"{name}: {value}"
        for name, path in MODULES.items()
        if name != STATUS_OWNER
        for value in keras_tuner_statuses(path.read_text())
    ]
    assert spelled == []


def test_only_direction_compares_with_max_and_min_or_chooses_between_them():
    compared = [
        f"{name} {where}"
        for name, path in MODULES.items()
        if name != DIRECTION_OWNER
        for where in direction_rules(path.read_text())
    ]
    assert compared == []


def test_only_the_project_folder_spells_keras_tuners_trial_folders():
    spelled = [
        f"{name}: {value[:60]!r}"
        for name, path in MODULES.items()
        if not name.startswith("tunewidgets.engine.folder.")
        for value in trial_folders(path.read_text())
    ]
    assert spelled == []
