"""Every notebook executes top to bottom, headless, with a small budget."""

from __future__ import annotations

import json
import os
import re
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
# the environment a Binder session's kernels get: binder/start's `export NAME=value` lines
BINDER_ENV = dict(re.findall(r"^export (\w+)=(\S*)$", (ROOT / "binder" / "start").read_text(), re.MULTILINE))
# what TensorFlow prints on stderr as it starts (CPU features, oneDNN, CUDA, TensorRT): red lines under a cell
TF_START_UP = re.compile(
    r"absl::InitializeLog|oneDNN custom operations|cuda|TF-TRT|TensorRT|Unable to register cu"
    r"|This TensorFlow binary is optimized|cpu_feature_guard|computation_placer|rebuild TensorFlow",
    re.IGNORECASE,
)
# notebooks whose kernel never imports Keras (it would hold several hundred MB of the session's 2 GB): their
# models are saved and evaluated by worker processes
KERAS_FREE = {"06_reopen_and_share"}
IMPORTED_KERAS = "import sys\nprint(sorted({'keras', 'tensorflow'} & set(sys.modules)))"


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
        # and that on Binder an idle one is shut down for them, after as long as binder/ says
        minutes = json.loads((ROOT / "binder" / "jupyter_server_config.json").read_text())["MappingKernelManager"]
        assert f"idle for {minutes['cull_idle_timeout'] // 60} minutes" in last.source, path.name


def test_binder_start_exports_the_environment_the_notebooks_run_with():
    assert BINDER_ENV["TF_ENABLE_ONEDNN_OPTS"] == "0" and BINDER_ENV["TF_CPP_MIN_LOG_LEVEL"] == "2", BINDER_ENV


def test_the_notebooks_are_committed_without_outputs_or_widget_state():
    """What a student opens is the lesson alone: no outputs, no execution counts, no widget state (plotly's
    bundle made a saved notebook 3-13 MB)."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert "widgets" not in nb.metadata, path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (path.name, cell.id)
            assert "widgets" not in cell.metadata and "execution" not in cell.metadata, (path.name, cell.id)


def printed(cell) -> str:
    """What a code cell printed (its stdout)."""
    return "".join(o["text"] for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(path, work / path.name)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.setenv("TW_TRIALS", "2")
    monkeypatch.setenv("TW_EPOCHS", "2")
    for name, value in BINDER_ENV.items():  # as on Binder: TensorFlow's start-up lines must not show
        monkeypatch.setenv(name, value)
    nonfinite = tmp_path / "nonfinite.jsonl"
    monkeypatch.setenv("TW_NONFINITE_LOG", str(nonfinite))
    nb = nbformat.read(work / path.name, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"{STRICT_JSON}\n{PEAK_MEMORY_START}"))
    if path.stem in KERAS_FREE:
        nb.cells.append(nbformat.v4.new_code_cell(IMPORTED_KERAS))
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_MEMORY))
    # ipykernel shows in the cells what is written to its stderr's file descriptor (TensorFlow's C++ logging, the
    # processes it starts), as in JupyterLab, unless it runs under pytest: the kernel is not told it does
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}})
    client.execute(env=env)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    # what the cells show on stderr: the kernel's, and any process's that writes to the kernel's (ipykernel forwards it)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    stderr = "".join(o["text"] for o in outputs if o.output_type == "stream" and o.name == "stderr")
    start_up = [line for line in stderr.splitlines() if TF_START_UP.search(line)]
    assert not start_up, "TensorFlow's start-up lines under the cells:\n" + "\n".join(start_up)
    if path.stem in KERAS_FREE:
        assert printed(nb.cells[-2]).strip() == "[]", f"the kernel imported {printed(nb.cells[-2])}"
    # no message (a widget's, a view's) may carry a non-finite number: JSON has none, the browser never gets it
    assert not nonfinite.exists(), nonfinite.read_text()[:2000]
    peak_mb, worker_mb = map(float, printed(nb.cells[-1]).split())
    print(f"{path.name}: peak memory of the kernel and its workers together {peak_mb:.0f} MB")
    assert worker_mb > 0, "no worker process ran"
    assert peak_mb < 2048, f"{path.name} peaked at {peak_mb:.0f} MB (Binder gives about 2 GB)"
    runs = work / "runs"
    assert runs.is_dir() and any(runs.iterdir()), "the notebook ran no search"
    # every search tunewidgets ran, in its own folder or in a keras-tuner tuner's (its tunewidgets/ inside)
    for spec in [*runs.glob("*/spec.json"), *runs.glob("*/tunewidgets/spec.json")]:
        assert (spec.parent / "trials.csv").exists(), spec.parent
