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


# what the README leaves to the reader: a build_model(hp) and its arrays
README_PLACEHOLDERS = """
import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=(240, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int32")


def build_model(hp):
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model
"""


def test_the_readmes_examples_run_top_to_bottom(tmp_path, monkeypatch):
    """The README's first command's search, then every Python block of the README in order in one namespace
    (a fresh kernel), in a folder holding the repository's examples, with the placeholders given values."""
    import subprocess
    import sys

    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    first = re.search(r"```bash\n.*?&& (tunewidgets run [^\n]*)\n", readme, re.S)
    assert first, "the README's first command was not found"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(DOCS.parent / "examples")
    argv = first.group(1).split()
    subprocess.run([sys.executable, "-m", "tunewidgets.cli", *argv[1:]], check=True, capture_output=True)
    found = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(found) >= 5, "the README's examples were not found"
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(README_PLACEHOLDERS, "placeholders", "exec"), namespace)  # noqa: S102
    for i, code in enumerate(found, 1):
        try:
            exec(compile(code, f"README.md block {i}", "exec"), namespace)  # noqa: S102 - the README's own examples
        except Exception as e:
            raise AssertionError(f"README.md, block {i} failed: {type(e).__name__}: {e}\n{code}") from e
    assert namespace["results"].best_hyperparameters  # the last search's results, read back
