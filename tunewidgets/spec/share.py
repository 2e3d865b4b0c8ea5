"""A spec as a short text a teacher pastes into a chat or a link, and back.

The text holds only what differs from the defaults (the lesson included), as JSON, compressed
(zlib) and written in URL-safe base64 after the prefix ``tw1.``: a classroom setup is a line of
a few hundred characters. A spec file's JSON, pasted as it is, is read too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from typing import TYPE_CHECKING, Any

from ..errors import Issue, SpecError

if TYPE_CHECKING:
    from .spec import Spec

PREFIX = "tw1."
_TEXT = re.compile(r"tw1\.[A-Za-z0-9_-]+")


def _sparse(full: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in full.items():
        if isinstance(value, dict) and isinstance(default.get(key), dict):
            inner = _sparse(value, default[key])
            if inner:
                out[key] = inner
        elif default.get(key, object()) != value:
            out[key] = value
    return out


def to_text(spec: Spec) -> str:
    """The spec as ``tw1.`` and its differences from the defaults, compressed."""
    from .spec import Spec

    sparse = _sparse(spec.to_dict(), Spec().to_dict())
    raw = json.dumps(sparse, separators=(",", ":"), allow_nan=False).encode()
    return PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def from_text(text: str) -> Spec:
    """Reads a spec from :func:`to_text`'s text (alone or inside a link or a message) or from its JSON."""
    from .spec import Spec

    stripped = text.strip()
    if stripped.startswith("{"):
        return Spec.from_json(stripped)
    match = _TEXT.search(stripped)
    if match is None:
        raise SpecError(
            Issue("", "not a tunewidgets setup: paste the text that starts with 'tw1.' (or a spec file's JSON)")
        )
    body = match.group(0)[len(PREFIX) :]
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        data = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError):
        raise SpecError(Issue("", "this setup text is damaged or cut short: copy all of it again")) from None
    return Spec.from_dict(data)


__all__ = ["PREFIX", "from_text", "to_text"]
