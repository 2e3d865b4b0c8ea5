"""Peak memory of the quickstart notebook, run top to bottom with its full budget in a fresh kernel,
against a kernel that only imports Keras on TensorFlow (the floor any Keras notebook pays), both
measured in this one invocation. Binder gives a session about 2 GB.

The notebook's peak is the kernel's peak plus the largest worker process's peak (trials train in
worker processes): an upper bound on what it held at once.

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
PEAK = (
    "import resource; print(next(line for line in open('/proc/self/status') if line.startswith('VmHWM')).split()[1],"
    " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_mb(nb: nbformat.NotebookNode, cwd: Path) -> tuple[float, float]:
    """The kernel's peak and its largest child's peak, MB."""
    nb.cells.append(nbformat.v4.new_code_cell(PEAK))
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    kernel_kb, child_kb = map(int, nb.cells[-1].outputs[0]["text"].split())
    return kernel_kb / 1024, child_kb / 1024


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
        kernel_mb, worker_mb = peak_mb(nbformat.read(work / source.name, as_version=4), work)
    run_mb = kernel_mb + worker_mb
    print(f"kernel that only imports Keras + TensorFlow: {floor_mb:7.0f} MB")
    print(
        f"{source.name}, full budget, top to bottom: kernel {kernel_mb:.0f} MB + largest worker {worker_mb:.0f} MB"
        f" = {run_mb:.0f} MB ({run_mb / floor_mb:.2f}x the floor; {run_mb / 2048:.0%} of Binder's 2 GB)"
    )


if __name__ == "__main__":
    main()
