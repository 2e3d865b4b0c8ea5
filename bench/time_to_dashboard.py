"""Time to an interactive dashboard: ``import tunewidgets; tunewidgets.Dashboard()`` (and its
widget tree built, as a notebook displays it), against ``import keras_tuner`` alone, which is
where a hand-written tuning notebook starts. Each is measured in fresh Python processes,
interleaved, median of --reps, all in this one invocation.

    python bench/time_to_dashboard.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = {
    "import keras_tuner": "import keras_tuner",
    "tunewidgets dashboard": (
        "import tunewidgets, ipywidgets\n"
        "d = tunewidgets.Dashboard()\n"
        "d.widget._repr_mimebundle_()  # what displaying it in a notebook asks for\n"
        "assert 'tensorflow' not in sys.modules"
    ),
    "tunewidgets dashboard + views": (
        "import tunewidgets\nd = tunewidgets.Dashboard()\nd.views\nd.widget._repr_mimebundle_()"
    ),
}
TIMER = "import sys, time\nt0 = time.perf_counter()\n{code}\nprint(time.perf_counter() - t0)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--json")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    times: dict[str, list[float]] = {k: [] for k in SNIPPETS}
    for _ in range(args.reps):
        for name, code in SNIPPETS.items():
            out = subprocess.run(
                [sys.executable, "-c", TIMER.format(code=code)],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                check=True,
            )
            times[name].append(float(out.stdout.strip().splitlines()[-1]))
    base = statistics.median(times["import keras_tuner"])
    report = {}
    print(f"median of {args.reps} fresh processes ({os.cpu_count()} cpus)")
    for name, values in times.items():
        median = statistics.median(values)
        report[name] = {"median_s": median, "ratio_vs_import_keras_tuner": median / base}
        print(f"{name:32s} {median:6.2f} s   ratio vs import keras_tuner {median / base:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
