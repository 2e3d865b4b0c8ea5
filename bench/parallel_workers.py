"""Parallel trials: the same search with 1 worker process and with N, trials per minute and the ratio.

Each variant runs in a fresh Python process (alternating, so neither always goes first); the
clock covers the whole search as a user waits for it, worker start-up included. Every trial of
every worker must be recorded in the results, or the run counts as failed.

    python bench/parallel_workers.py                      # quickstart, 1 vs 2 workers, 3 repetitions
    python bench/parallel_workers.py --workers 4 --trials 40 --reps 2
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

CHILD = r"""
import json, sys, tempfile, time
sys.path.insert(0, {root!r})
from tunewidgets.search import Search
from tunewidgets.spec import read_spec
from tunewidgets.events import TrialStarted
spec = read_spec({spec!r}).replace(**{{"tuner.max_trials": {trials}}})
with tempfile.TemporaryDirectory() as d:
    search = Search(spec, d, workers={workers})
    started = []
    search.events.subscribe(lambda e: started.append(e.worker), TrialStarted)
    t0 = time.perf_counter()
    results = search.run()
    seconds = time.perf_counter() - t0
    statuses = results.trials["status"].tolist()
print(json.dumps({{"seconds": seconds, "statuses": statuses, "workers_seen": sorted(set(started)),
                  "reason": search.end_reason.value}}))
"""


def run_once(spec: str, trials: int, workers: int) -> dict:
    code = CHILD.format(root=str(ROOT), spec=spec, trials=trials, workers=workers)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["reason"] != "completed" or result["statuses"] != ["completed"] * trials:
        raise SystemExit(f"{workers} worker(s): not every trial was recorded as completed: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(ROOT / "examples/specs/quickstart.json"))
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()

    times: dict[int, list[float]] = {1: [], args.workers: []}
    for rep in range(args.reps):
        order = (1, args.workers) if rep % 2 == 0 else (args.workers, 1)
        for n in order:
            result = run_once(args.spec, args.trials, n)
            times[n].append(result["seconds"])
            print(
                f"rep {rep + 1}: {n} worker(s): {result['seconds']:.1f} s, {args.trials / result['seconds'] * 60:.1f} "
                f"trials/min, trials by {', '.join(result['workers_seen'])}",
                flush=True,
            )
    rate = {n: args.trials / statistics.median(ts) * 60 for n, ts in times.items()}
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}")
    print(f"{Path(args.spec).name}, {args.trials} trials, median of {args.reps}:")
    print(f"  1 worker:  {rate[1]:.1f} trials/min")
    print(f"  {args.workers} workers: {rate[args.workers]:.1f} trials/min")
    print(f"  ratio {args.workers} workers / 1 worker = {rate[args.workers] / rate[1]:.2f}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "spec": Path(args.spec).name,
                    "trials": args.trials,
                    "seconds": times,
                    "trials_per_min": rate,
                    "ratio": rate[args.workers] / rate[1],
                    "machine": machine,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
