"""nbformat, imported on first use.

plotly imports nbformat as it loads its renderers (which every ``FigureWidget`` does) only to read its version
when ``fig.show()`` renders a figure. nbformat imports jsonschema and, where Jupyter's server is installed beside
it, jsonschema's format checkers (a grammar compiled by lark, arrow, ...): about 20 MB held by every kernel that
shows a figure, for as long as it lives. Importing this module, before plotly, puts a stand-in for nbformat into
:data:`sys.modules`: the real module is imported when something first reads one of its names (as ``fig.show()``
does), and takes the stand-in's place. (:class:`importlib.util.LazyLoader` cannot do this before Python 3.12: the
import system reads the module's ``__spec__`` when plotly imports it, which loads it.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class _OnFirstUse(types.ModuleType):
    def __getattr__(self, name: str) -> Any:  # only for names the stand-in does not have: nbformat's own
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)  # whoever holds the stand-in (plotly) reads the real names now
        return getattr(real, name)


def on_first_use(name: str = "nbformat") -> None:
    """Puts the stand-in into :data:`sys.modules`, unless ``name`` is imported already or not installed."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = _OnFirstUse(name)
    stand_in.__spec__ = spec  # what the import system reads of a module already in sys.modules
    sys.modules[name] = stand_in


on_first_use()
