"""Peak memory of the quickstart notebook, run top to bottom with its full budget in a fresh kernel,
against a kernel that only imports Keras on TensorFlow (the floor any Keras notebook pays), both
measured in this one invocation. Binder gives a session about 2 GB.

Trials train in worker processes, so the notebook's memory is the kernel's and its workers'
together, sampled every 0.1 s from a first cell; the floor kernel is measured the same way.

    python bench/notebook_memory.py
    python bench/notebook_memory.py --notebook notebooks/05_your_own_data.ipynb
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
PEAK_START = "from tunewidgets._memory import PeakSampler\n_tw_peak = PeakSampler()"
PEAK = "print(_tw_peak.stop(), _tw_peak.child_peak_mb)"


def peak_mb(nb: nbformat.NotebookNode, cwd: Path) -> tuple[float, float]:
    """The peak of the kernel and its workers together, and the largest worker's own peak, MB."""
    nb.cells.insert(0, nbformat.v4.new_code_cell(PEAK_START))
    nb.cells.append(nbformat.v4.new_code_cell(PEAK))
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    together, worker = map(float, nb.cells[-1].outputs[0]["text"].split())
    return together, worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", default=str(ROOT / "notebooks" / "01_quickstart.ipynb"))
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "notebooks"
        work.mkdir()
        (Path(tmp) / "examples").symlink_to(ROOT / "examples")
        source = Path(args.notebook)
        shutil.copy(source, work / source.name)
        floor = nbformat.v4.new_notebook()
        floor.cells = [nbformat.v4.new_code_cell("import keras, keras_tuner\nkeras.ops.ones((1,))")]
        floor_mb, _ = peak_mb(floor, work)
        run_mb, worker_mb = peak_mb(nbformat.read(work / source.name, as_version=4), work)
    print(f"kernel that only imports Keras + TensorFlow: {floor_mb:7.0f} MB")
    print(
        f"{source.name}, full budget, top to bottom: {run_mb:.0f} MB, kernel and workers together (the largest "
        f"worker alone {worker_mb:.0f} MB); {run_mb / floor_mb:.2f}x the floor, {run_mb / 2048:.0%} of Binder's 2 GB"
    )


if __name__ == "__main__":
    main()
