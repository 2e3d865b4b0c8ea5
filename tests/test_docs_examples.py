"""The user guide's examples run as written: every Python block of a page, one after the other in one namespace
(a fresh one per page), in an empty folder, as a reader pasting them into a notebook would run them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["keras-tuner-code.md", "your-own-model.md"]

pytestmark = pytest.mark.slow


def blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("page", PAGES)
def test_every_python_block_of_the_page_runs_in_order(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = blocks(page)
    assert len(found) >= 4, f"{page}: its examples were not found"
    namespace: dict[str, object] = {"__name__": "__main__"}
    for i, code in enumerate(found, 1):
        try:
            exec(compile(code, f"{page} block {i}", "exec"), namespace)  # noqa: S102 - the page's own examples
        except Exception as e:  # the block and its error, for the reader of the failure
            raise AssertionError(f"{page}, block {i} failed: {type(e).__name__}: {e}\n{code}") from e
