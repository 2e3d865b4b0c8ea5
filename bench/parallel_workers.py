"""Parallel trials: the same search with 1 worker process and with N, trials per minute and the ratio.

Each variant runs in a fresh Python process (alternating, so neither always goes first), in two
situations a user meets:

* cold: the process's first search; the clock includes the workers' start-up (importing
  TensorFlow);
* warm: the process's next search (a notebook's second Run), handed to the workers the previous
  search left waiting; a one-trial search runs first, off the clock.

The clock covers the whole search as a user waits for it; the rate while training (from the
first trial's start to the last trial's end) is printed too. Every trial of every worker must be
recorded as completed, or the run counts as failed. With --independent, the same trials also run as N
independent one-worker searches at once (each its own oracle and folder): what N processes side by
side get on this machine, the ceiling the N workers of one search are measured against. Each of them
keeps the spec's seed, so each trains the spec's first trials (for the quickstart, its first 5 trials
took as long as its last 5 in a solo search: 4.80 s and 4.79 s, one run).

    python bench/parallel_workers.py                      # quickstart (10 trials), 1 vs 2 workers, 3 repetitions
    python bench/parallel_workers.py --workers 4 --trials 40 --reps 2 --modes cold
    python bench/parallel_workers.py --independent    # also 2 independent one-worker searches, 5 trials each
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
from tunewidgets.engine import Search
from tunewidgets.spec import Spec
from tunewidgets.events import TrialEnded, TrialStarted
spec = Spec.from_file({spec!r})
plan = {plan!r}  # (trials, workers) of each search, run at the same time
with tempfile.TemporaryDirectory() as d:
    def searches(name, trials):
        return [Search(spec.replace(**{{"tuner.max_trials": t}}), f"{{d}}/{{name}}{{i}}", workers=w, keep_warm=60)
                for i, (t, w) in enumerate(trials)]
    def run_all(group):
        if len(group) == 1:
            return [group[0].run()]
        threads = [s.start() for s in group]
        for t in threads:
            t.join()
        return [s.wait() for s in group]
    if {warm}:  # leave the workers waiting, as a notebook's earlier search does
        run_all(searches("before", [(1, w) for _, w in plan]))
    group = searches("measured", plan)
    started, times = [], []
    for search in group:
        search.events.subscribe(lambda e: started.append(e.worker), TrialStarted)
        search.events.subscribe(lambda e: times.append(e.time), TrialStarted)
        search.events.subscribe(lambda e: times.append(e.time), TrialEnded)
    t0 = time.perf_counter()
    results = run_all(group)
    seconds = time.perf_counter() - t0
    statuses = [s for r in results for s in r.trials["status"].tolist()]
print(json.dumps({{"seconds": seconds, "training_seconds": max(times) - min(times), "statuses": statuses,
                  "workers_seen": sorted(set(started)), "reason": [s.end_reason.value for s in group]}}))
"""


def run_once(spec: str, trials: int, variant: str, mode: str) -> dict:
    """``variant``: "N" (one search, N workers) or "Nx1" (N independent one-worker searches sharing the trials)."""
    if variant.endswith("x1"):
        n = int(variant[:-2])
        plan = [(trials // n + (i < trials % n), 1) for i in range(n)]
    else:
        plan = [(trials, int(variant))]
    code = CHILD.format(root=str(ROOT), spec=spec, plan=plan, warm=mode == "warm")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if set(result["reason"]) != {"completed"} or result["statuses"] != ["completed"] * trials:
        raise SystemExit(f"{label(variant)}, {mode}: not every trial was recorded as completed: {result}")
    return result


def label(variant: str) -> str:
    if variant.endswith("x1"):
        return f"{variant[:-2]} independent searches"
    return f"{variant} worker" + ("s" if variant != "1" else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(ROOT / "examples/specs/quickstart.json"))
    parser.add_argument("--trials", type=int, default=10, help="trials per search (the quickstart has 10)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument(
        "--independent",
        action="store_true",
        help="also run the trials as N independent one-worker searches at once (no shared oracle): what "
        "processes side by side get on this machine, the reference for the N workers' ratio",
    )
    parser.add_argument("--json")
    args = parser.parse_args()

    one, many = "1", str(args.workers)
    variants = [one, many] + ([f"{args.workers}x1"] if args.independent else [])
    seconds = {m: {v: [] for v in variants} for m in args.modes}
    training = {m: {v: [] for v in variants} for m in args.modes}
    for rep in range(args.reps):
        for mode in args.modes:
            for v in variants if rep % 2 == 0 else variants[::-1]:
                result = run_once(args.spec, args.trials, v, mode)
                seconds[mode][v].append(result["seconds"])
                training[mode][v].append(result["training_seconds"])
                print(
                    f"rep {rep + 1}, {mode}: {label(v)}: {result['seconds']:.1f} s, "
                    f"{args.trials / result['seconds'] * 60:.1f} trials/min ({result['training_seconds']:.1f} s from "
                    f"the first trial's start to the last one's end), trials by {', '.join(result['workers_seen'])}",
                    flush=True,
                )

    def rates(times: dict[str, list[float]]) -> dict[str, float]:
        return {v: args.trials / statistics.median(ts) * 60 for v, ts in times.items()}

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}")
    print(f"{Path(args.spec).name}, {args.trials} trials, median of {args.reps}:")
    report: dict[str, object] = {"spec": Path(args.spec).name, "trials": args.trials, "machine": machine}
    for mode in args.modes:
        whole, steady = rates(seconds[mode]), rates(training[mode])
        for what, rate in (("whole search", whole), ("while training", steady)):
            line = (
                f"  {mode}, {what}: 1 worker {rate[one]:.1f} trials/min, {label(many)} {rate[many]:.1f}, "
                f"ratio {rate[many] / rate[one]:.2f}"
            )
            if args.independent:
                v = variants[2]
                line += f"; {label(v)} {rate[v]:.1f}, ratio {rate[v] / rate[one]:.2f}"
            print(line)
        report[mode] = {
            "seconds": seconds[mode],
            "trials_per_min": whole,
            "ratio": whole[many] / whole[one],
            "training_seconds": training[mode],
            "training_trials_per_min": steady,
            "training_ratio": steady[many] / steady[one],
        }
        if args.independent:
            v = variants[2]
            report[mode]["independent_ratio"] = whole[v] / whole[one]
            report[mode]["independent_training_ratio"] = steady[v] / steady[one]
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
