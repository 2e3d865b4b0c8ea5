"""Every notebook executes top to bottom, headless, with a small budget."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# the peak of the kernel's and its worker processes' resident memory together (Linux), sampled from a first
# cell the test prepends and printed by a last cell it appends, with the largest worker's own peak
PEAK_MEMORY_START = "from tunewidgets._memory import PeakSampler\n_tw_peak = PeakSampler()"
PEAK_MEMORY = "print(_tw_peak.stop(), _tw_peak.child_peak_mb)"
# run first in each kernel: every message it sends that holds NaN or infinity is written to $TW_NONFINITE_LOG
STRICT_JSON = (ROOT / "tests" / "kernel_strict_json.py").read_text()


def test_there_are_ten_notebooks_with_a_kernelspec_and_a_budget_cell():
    assert len(NOTEBOOKS) == 10
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3", path.name
        budget = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(budget) == 1 and "TW_TRIALS" in budget[0].source, path.name


def test_every_notebook_ends_by_saying_to_shut_its_kernel_down():
    # a Binder session has about 2 GB, and every kernel left open holds some of it
    for path in NOTEBOOKS:
        last = nbformat.read(path, as_version=4).cells[-1]
        assert last.cell_type == "markdown" and "Kernel > Shut Down Kernel" in last.source, path.name
        assert "2 GB" in last.source, path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(path, work / path.name)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.setenv("TW_TRIALS", "2")
    monkeypatch.setenv("TW_EPOCHS", "2")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    nonfinite = tmp_path / "nonfinite.jsonl"
    monkeypatch.setenv("TW_NONFINITE_LOG", str(nonfinite))
    nb = nbformat.read(work / path.name, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"{STRICT_JSON}\n{PEAK_MEMORY_START}"))
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_MEMORY))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    # no message (a widget's, a view's) may carry a non-finite number: JSON has none, the browser never gets it
    assert not nonfinite.exists(), nonfinite.read_text()[:2000]
    peak_mb, worker_mb = map(float, nb.cells[-1].outputs[0]["text"].split())
    print(f"{path.name}: peak memory of the kernel and its workers together {peak_mb:.0f} MB")
    assert worker_mb > 0, "no worker process ran"
    assert peak_mb < 2048, f"{path.name} peaked at {peak_mb:.0f} MB (Binder gives about 2 GB)"
    runs = work / "runs"
    assert runs.is_dir() and any(runs.iterdir()), "the notebook ran no search"
    # every search tunewidgets ran, in its own folder or in a keras-tuner tuner's (its tunewidgets/ inside)
    for spec in [*runs.glob("*/spec.json"), *runs.glob("*/tunewidgets/spec.json")]:
        assert (spec.parent / "trials.csv").exists(), spec.parent
