"""A worker's start: importing keras-tuner as a worker does (optional packages held back, see
``tunewidgets/_lean.py``) against a plain ``import keras_tuner``, in fresh Python processes,
interleaved, median of --reps, all in this one invocation. Reports the seconds and the memory
(resident set) after the import, and which of the held-back packages each left loaded.

    python bench/worker_start.py
    python bench/worker_start.py --hide jax     # as where JAX is not installed (Binder)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = {
    "import keras_tuner": "import keras_tuner",
    "worker import": "from tunewidgets.engine.worker.lean import import_keras_tuner\nimport_keras_tuner()",
}
MEASURE = """
import json, os, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
{code}
seconds = time.perf_counter() - t0
from tunewidgets.engine.worker.lean import HELD_BACK
from tunewidgets._memory import rss_mb
loaded = sorted(m for m in HELD_BACK if m in sys.modules)
print(json.dumps({{"seconds": seconds, "rss_mb": rss_mb(), "loaded": loaded}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--hide", nargs="*", default=[], help="packages to make unimportable in both")
    parser.add_argument("--json")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    stubs = tempfile.TemporaryDirectory()
    for name in args.hide:  # a package that fails to import, as if it were not installed
        (Path(stubs.name) / name).mkdir()
        (Path(stubs.name) / name / "__init__.py").write_text(f"raise ImportError('{name} hidden by the benchmark')")
    if args.hide:
        env["PYTHONPATH"] = os.pathsep.join([stubs.name, *filter(None, [env.get("PYTHONPATH")])])
    runs: dict[str, list[dict]] = {k: [] for k in SNIPPETS}
    for rep in range(args.reps):
        order = list(SNIPPETS) if rep % 2 == 0 else list(reversed(SNIPPETS))
        for name in order:
            code = MEASURE.format(root=str(ROOT), code=SNIPPETS[name])
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = "import keras_tuner"
    medians = {
        name: {
            "seconds": statistics.median(r["seconds"] for r in values),
            "rss_mb": statistics.median(r["rss_mb"] for r in values),
            "loaded": values[-1]["loaded"],
        }
        for name, values in runs.items()
    }
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    hidden = f"; hidden: {', '.join(args.hide)}" if args.hide else ""
    print(f"machine: {machine}; median of {args.reps} fresh processes{hidden}")
    for name, m in medians.items():
        ratio_s = m["seconds"] / medians[base]["seconds"]
        ratio_mb = m["rss_mb"] / medians[base]["rss_mb"]
        loaded = ", ".join(m["loaded"]) or "none"
        print(
            f"{name:20s} {m['seconds']:5.2f} s ({ratio_s:.2f}x)  {m['rss_mb']:5.0f} MB ({ratio_mb:.2f}x)"
            f"  held-back packages loaded: {loaded}"
        )
    if args.json:
        report = {"machine": machine, "reps": args.reps, "hidden": args.hide, "medians": medians, "runs": runs}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
