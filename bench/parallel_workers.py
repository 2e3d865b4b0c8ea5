"""Parallel trials: the same search with 1 worker process and with N, trials per minute and the ratio.

Each variant runs in a fresh Python process (alternating, so neither always goes first), in two
situations a user meets:

* cold: the process's first search; the clock includes the workers' start-up (importing
  TensorFlow);
* warm: the process's next search (a notebook's second Run), handed to the workers the previous
  search left waiting; a one-trial search runs first, off the clock.

The clock covers the whole search as a user waits for it; the rate while training (from the
first trial's start to the last trial's end) is printed too. Every trial of every worker must be
recorded as completed, or the run counts as failed.

    python bench/parallel_workers.py                      # quickstart (10 trials), 1 vs 2 workers, 3 repetitions
    python bench/parallel_workers.py --workers 4 --trials 40 --reps 2 --modes cold
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("cold", "warm")

CHILD = r"""
import json, sys, tempfile, time
sys.path.insert(0, {root!r})
from tunewidgets.search import Search
from tunewidgets.spec import read_spec
from tunewidgets.events import TrialEnded, TrialStarted
spec = read_spec({spec!r}).replace(**{{"tuner.max_trials": {trials}}})
with tempfile.TemporaryDirectory() as d:
    if {warm}:  # leave the workers waiting, as a notebook's earlier search does
        Search(spec.replace(**{{"tuner.max_trials": 1}}), d + "/before", workers={workers}, keep_warm=60).run()
    search = Search(spec, d + "/measured", workers={workers}, keep_warm=60)
    started, times = [], []
    search.events.subscribe(lambda e: started.append(e.worker), TrialStarted)
    search.events.subscribe(lambda e: times.append(e.time), TrialStarted)
    search.events.subscribe(lambda e: times.append(e.time), TrialEnded)
    t0 = time.perf_counter()
    results = search.run()
    seconds = time.perf_counter() - t0
    statuses = results.trials["status"].tolist()
print(json.dumps({{"seconds": seconds, "training_seconds": max(times) - min(times), "statuses": statuses,
                  "workers_seen": sorted(set(started)), "reason": search.end_reason.value}}))
"""


def run_once(spec: str, trials: int, workers: int, mode: str) -> dict:
    code = CHILD.format(root=str(ROOT), spec=spec, trials=trials, workers=workers, warm=mode == "warm")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["reason"] != "completed" or result["statuses"] != ["completed"] * trials:
        raise SystemExit(f"{workers} worker(s), {mode}: not every trial was recorded as completed: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(ROOT / "examples/specs/quickstart.json"))
    parser.add_argument("--trials", type=int, default=10, help="trials per search (the quickstart has 10)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--json")
    args = parser.parse_args()

    counts = (1, args.workers)
    seconds = {m: {n: [] for n in counts} for m in args.modes}
    training = {m: {n: [] for n in counts} for m in args.modes}
    for rep in range(args.reps):
        for mode in args.modes:
            for n in counts if rep % 2 == 0 else counts[::-1]:
                result = run_once(args.spec, args.trials, n, mode)
                seconds[mode][n].append(result["seconds"])
                training[mode][n].append(result["training_seconds"])
                print(
                    f"rep {rep + 1}, {mode}: {n} worker(s): {result['seconds']:.1f} s, "
                    f"{args.trials / result['seconds'] * 60:.1f} trials/min ({result['training_seconds']:.1f} s from "
                    f"the first trial's start to the last one's end), trials by {', '.join(result['workers_seen'])}",
                    flush=True,
                )

    def rates(times: dict[int, list[float]]) -> dict[int, float]:
        return {n: args.trials / statistics.median(ts) * 60 for n, ts in times.items()}

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}")
    print(f"{Path(args.spec).name}, {args.trials} trials, median of {args.reps}:")
    report: dict[str, object] = {"spec": Path(args.spec).name, "trials": args.trials, "machine": machine}
    for mode in args.modes:
        whole, steady = rates(seconds[mode]), rates(training[mode])
        for label, rate in (("whole search", whole), ("while training", steady)):
            print(
                f"  {mode}, {label}: 1 worker {rate[1]:.1f} trials/min, {args.workers} workers "
                f"{rate[args.workers]:.1f}, ratio {rate[args.workers] / rate[1]:.2f}"
            )
        report[mode] = {
            "seconds": seconds[mode],
            "trials_per_min": whole,
            "ratio": whole[args.workers] / whole[1],
            "training_seconds": training[mode],
            "training_trials_per_min": steady,
            "training_ratio": steady[args.workers] / steady[1],
        }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
