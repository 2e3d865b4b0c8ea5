"""The quickstart on a local Dask cluster of two workers against this machine's two worker processes.

    python bench/cluster.py                    # 10 trials x 10 epochs, 3 repetitions
    python bench/cluster.py --reps 5 --json bench/results/cluster.json

Each variant is one search in a fresh Python process (the clock from its launch to its results, imports
included), the variants alternating from one repetition to the next:

* **local**: ``Search(spec, workers=2)``, two worker processes of this machine (cold: each starts and imports
  TensorFlow);
* **cluster, cold**: ``Search(spec, cluster=ADDRESS)`` with ``tuner.workers`` 2 on a cluster started just
  before (``dask scheduler`` and two ``dask worker --nthreads 1`` processes: Dask up, TensorFlow not imported
  in its workers yet), so its workers import TensorFlow during the search, as the local workers do; on this
  one machine that is three imports on its two cores (the oracle's process and both workers') to two;
* **cluster, preloaded**: the same on a cluster whose workers were started with
  ``--preload tunewidgets.engine.worker.remote`` (Keras imported as each worker starts, before the clock);
* **cluster, warm**: the next search on that cluster (its workers keep Keras imported between searches).

Every epoch's delay from where it trained to the search's record is measured in the search's process
(``time.time()`` when the record applies an ``EpochEnded`` minus the time the worker stamped on it; one
machine, one clock). Every variant is checked to train the same trials to the same scores.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("local", "cluster, cold", "cluster, preloaded", "cluster, warm")


def one(cluster: str, trials: int, epochs: int, launched: float) -> None:
    """One search in this process; prints a JSON line: seconds since launch, epoch delays, scores."""
    import tunewidgets as tw
    from tunewidgets.engine import Search
    from tunewidgets.events import EpochEnded

    spec = tw.Spec.from_file(ROOT / "examples" / "specs" / "quickstart.json").replace(
        **{"tuner.max_trials": trials, "training.epochs": epochs, "tuner.workers": 2}
    )
    delays: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        search = Search(spec, d, cluster=cluster or None)
        search.events.subscribe(lambda e: delays.append(time.time() - e.time), EpochEnded)
        results = search.run()
        scores = [round(float(s), 6) for s in results.trials["score"]]
    print(json.dumps({"seconds": time.time() - launched, "delays": delays, "scores": scores}))


class LocalCluster:
    """``dask scheduler`` and two ``dask worker`` processes on loopback."""

    def __init__(self, logs: Path, *, preload: bool = False):
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        dask = str(Path(sys.executable).parent / "dask")
        file = logs / "scheduler.json"
        file.unlink(missing_ok=True)
        self._start([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(file)], "scheduler")  # fmt: skip
        while not file.exists():
            time.sleep(0.1)
        self.address = json.loads(file.read_text())["address"]
        for name in ("w1", "w2"):
            argv = [dask, "worker", self.address, "--name", name, "--nthreads", "1", "--no-dashboard"]
            self._start(argv + (["--preload", "tunewidgets.engine.worker.remote"] if preload else []), name)
        from distributed import Client

        with Client(self.address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)

    def _start(self, argv: list[str], name: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        self.processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env))

    def close(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a cluster's address, or "" for local workers
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        one(args.one, args.trials, args.epochs, args.launched)
        return
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TUNEWIDGETS_KEEP_WARM="0")
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    delays: dict[str, list[float]] = {v: [] for v in VARIANTS}
    scores: dict[str, list[list[float]]] = {v: [] for v in VARIANTS}

    def search(variant: str, address: str) -> None:
        argv = [sys.executable, __file__, "--one", address, "--trials", str(args.trials), "--epochs", str(args.epochs)]
        out = subprocess.run([*argv, "--launched", repr(time.time())], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            sys.exit(f"{variant}: the search failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        times[variant].append(result["seconds"])
        delays[variant] += result["delays"]
        scores[variant].append(result["scores"])
        print(f"rep {rep + 1}: {variant:18s} {result['seconds']:7.2f} s", flush=True)

    with tempfile.TemporaryDirectory() as logs:
        for rep in range(args.reps):
            cluster_first = rep % 2 == 1
            if not cluster_first:
                search("local", "")
            cluster = LocalCluster(Path(logs))
            try:
                search("cluster, cold", cluster.address)
            finally:
                cluster.close()
            cluster = LocalCluster(Path(logs), preload=True)
            try:
                search("cluster, preloaded", cluster.address)
                search("cluster, warm", cluster.address)
            finally:
                cluster.close()
            if cluster_first:
                search("local", "")
    base = statistics.median(times["local"])
    same = all(s == scores["local"][0] for v in VARIANTS for s in scores[v])
    print(
        f"\n{args.trials} trials x {args.epochs} epochs of the quickstart, 2 at a time, median of {args.reps} fresh "
        f"processes each, on {platform.node()} ({os.cpu_count()} cpus, {platform.machine()})"
    )
    print(f"every variant trained the same trials to the same scores: {'yes' if same else 'NO'}")
    report: dict = {"trials": args.trials, "epochs": args.epochs, "reps": args.reps, "cpus": os.cpu_count()}
    report["same_scores"] = same
    for variant in VARIANTS:
        median = statistics.median(times[variant])
        d = [x * 1000 for x in delays[variant]]
        figures = {
            "median_s": median,
            "ratio_vs_local": median / base,
            "runs_s": times[variant],
            "epoch_delay_ms": {"median": statistics.median(d), "p95": percentile(d, 0.95), "max": max(d), "n": len(d)},
        }
        report[variant] = figures
        delay = figures["epoch_delay_ms"]
        print(
            f"{variant:18s} {median:7.2f} s  ratio vs local {median / base:.3f}   epoch to the record: median "
            f"{delay['median']:.1f} ms, 95th percentile {delay['p95']:.1f} ms, max {delay['max']:.1f} ms "
            f"({delay['n']} epochs)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if not same:
        sys.exit("the variants trained different trials or scores; the comparison is not fair")


if __name__ == "__main__":
    main()
