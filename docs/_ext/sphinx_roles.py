"""A griffe extension for the API reference: the package's docstrings are written for reading in the code and in
`help()`, with Sphinx roles (:class:`Spec`, :meth:`wait`) and doctest directives; in the site a role becomes inline
code and a ``# doctest: +SKIP`` directive is dropped from the examples. The docstrings themselves are unchanged."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj):`(~?)([^`]+)`( s\b)?")
DOCTEST = re.compile(r"[ \t]*# doctest: \+[A-Z_]+")


def _role(match: re.Match[str]) -> str:
    tilde, target, plural = match.groups()
    name = target.rsplit(".", 1)[-1] if tilde else target
    return f"`{name}`" + ("s" if plural else "")


def plain(text: str) -> str:
    """A docstring with its Sphinx roles as inline code and its doctest directives dropped."""
    return DOCTEST.sub("", ROLE.sub(_role, text))


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
