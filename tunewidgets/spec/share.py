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
from typing import Any

from ..errors import Issue, SpecError
from .parse import MAX_BYTES, too_deep

PREFIX = "tw1."
_TEXT = re.compile(r"tw1\.[A-Za-z0-9_-]+")


def _sparse(full: dict[str, Any], default: dict[str, Any], top: bool = True) -> dict[str, Any]:
    """The fields of ``full`` that differ from ``default``'s, section by section; a field is written whole
    (a range that differs in its max only is still ``{min, max, step}``)."""
    out: dict[str, Any] = {}
    for key, value in full.items():
        if top and isinstance(value, dict) and isinstance(default.get(key), dict):
            inner = _sparse(value, default[key], top=False)
            if inner:
                out[key] = inner
        elif default.get(key, object()) != value:
            out[key] = value
    return out


def encode(spec: dict[str, Any], default: dict[str, Any]) -> str:
    """A spec's JSON form as ``tw1.`` and its differences from ``default``'s, compressed."""
    raw = json.dumps(_sparse(spec, default), separators=(",", ":"), allow_nan=False).encode()
    return PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode(text: str) -> dict[str, Any]:
    """The JSON form of a spec from :func:`encode`'s text, found alone or inside a link or a message."""
    match = _TEXT.search(text)
    if match is None:
        raise SpecError(
            Issue("", "not a tunewidgets setup: paste the text that starts with 'tw1.' (or a spec file's JSON)")
        )
    body = match.group(0)[len(PREFIX) :]
    inflate = zlib.decompressobj()
    try:
        data = inflate.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), MAX_BYTES)
    except (binascii.Error, zlib.error, ValueError):
        raise SpecError(Issue("", "this setup text is damaged or cut short: copy all of it again")) from None
    if inflate.unconsumed_tail:  # a few kilobytes of text that would unpack to gigabytes
        raise SpecError(Issue("", f"this setup text unpacks to more than {MAX_BYTES // 2**20} MB: it is not a setup"))
    try:
        if not inflate.eof:
            raise ValueError("cut short")
        raw = json.loads(data)
    except RecursionError:
        raise SpecError(too_deep("this setup text")) from None
    except ValueError:  # not JSON, not UTF-8, a number too long to read
        raise SpecError(Issue("", "this setup text is damaged or cut short: copy all of it again")) from None
    if not isinstance(raw, dict):
        raise SpecError(Issue("", "this setup text does not hold a spec"))
    return raw


__all__ = ["PREFIX", "decode", "encode"]
