"""Fused trials: trials per minute with K trials trained together (tuner.fuse), against plain keras-tuner.

For each data set, plain keras-tuner's RandomSearch (the same models, built by the same code, fitted
with ``Model.fit`` on arrays as a keras-tuner user does) and tunewidgets' random search with
``tuner.fuse`` = K for each K run the same trial budget, each in a fresh process (clock from the
launch, imports and worker start included), in rotating order, ``--reps`` times. Printed: trials per
minute (whole process, and while training: from the first trial's start to the last trial's end),
the ratio to plain keras-tuner and to K = 1 in the same run, the peak memory of the worker process
(of the one process for plain keras-tuner), and the best score, which must be the same for every K
(fusing does not change a trial's result), and on a machine with ``nvidia-smi`` the GPU's mean utilization.
Every trial must complete, or the run fails.

    python bench/fused_trials.py                              # quickstart (20 trials) and digits; K = 1, 2, 5, 10
    python bench/fused_trials.py --sets quickstart --fuse 1 5 --reps 1
    python bench/fused_trials.py --auto                       # and recommend a K for this machine

On a GPU machine with the JAX backend (``KERAS_BACKEND=jax``) each group is one ``jax.jit`` function;
``--sets big`` is a larger synthetic set (75,000 x 784, 10 classes: 48,000 training rows).
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _plain import plain_search, search_plain  # noqa: E402

PLAIN = "plain keras-tuner"
FIT = "Model.fit, one at a time"  # tunewidgets with TUNEWIDGETS_MODEL_FIT=1: each trial through keras-tuner's loop


def spec_for(name: str, trials: int, epochs: int | None):
    from tunewidgets.spec import Spec

    spec = Spec.from_file(ROOT / "examples" / "specs" / "quickstart.json")
    if name == "digits":
        spec = spec.replace(**{"name": "digits", "data.name": "digits"})
    elif name == "big":  # a larger dense set, for a GPU
        spec = spec.replace(**{"name": "big", "data.samples": 75_000, "data.features": 784, "data.classes": 10})
    changes = {"tuner.max_trials": trials}
    if epochs is not None:
        changes["training.epochs"] = epochs
    return spec.replace(**changes)


def plain(spec, directory: str) -> tuple[list[float], list[float], float]:
    """keras-tuner's RandomSearch over the spec's space and models: trial start/end times, scores, peak MB."""
    import keras_tuner as kt

    from tunewidgets._memory import rss_mb

    times: list[float] = []
    peak = [0.0]

    class Timed(kt.RandomSearch):
        def on_trial_begin(self, trial):
            times.append(time.time())
            super().on_trial_begin(trial)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            times.append(time.time())
            peak[0] = max(peak[0], rss_mb())

    tuner, ds = plain_search(spec, directory, Timed)
    search_plain(tuner, ds, spec)
    trials = list(tuner.oracle.trials.values())
    if any(t.status != "COMPLETED" for t in trials) or len(trials) != spec.tuner.max_trials:
        raise SystemExit(f"plain keras-tuner: {[t.status for t in trials]}")
    return times, [float(t.score) for t in trials], peak[0]


def fused(spec, directory: str, k: int) -> tuple[list[float], list[float], float]:
    from tunewidgets._memory import PeakSampler
    from tunewidgets.engine import Search
    from tunewidgets.events import TrialEnded, TrialStarted

    times: list[float] = []
    search = Search(spec.replace(**{"tuner.fuse": k}), directory, keep_warm=0)
    search.events.subscribe(lambda e: times.append(time.time()), (TrialStarted, TrialEnded))
    sampler = PeakSampler(0.05)
    results = search.run()
    sampler.stop()
    statuses = results.trials["status"].tolist()
    if statuses != ["completed"] * spec.tuner.max_trials:
        raise SystemExit(f"fuse {k}: {statuses}")
    return times, [float(s) for s in results.trials["score"]], sampler.child_peak_mb


class GpuUse:
    """Samples ``nvidia-smi``'s GPU utilization (percent) twice a second while a variant runs; None without a GPU."""

    def __init__(self) -> None:
        import shutil
        import threading

        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = None
        if shutil.which("nvidia-smi"):
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.wait(0.5):
            out = subprocess.run(query, capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip():
                self.samples.append(float(out.stdout.split()[0]))

    def stop(self) -> float | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return statistics.mean(self.samples) if self.samples else None


def one(variant: str, dataset: str, trials: int, epochs: int | None, launched: float) -> None:
    spec = spec_for(dataset, trials, epochs)
    gpu = GpuUse()
    with tempfile.TemporaryDirectory() as d:
        if variant == PLAIN:
            times, scores, peak = plain(spec, d)
        elif variant == FIT:
            os.environ["TUNEWIDGETS_MODEL_FIT"] = "1"  # the workers inherit it
            times, scores, peak = fused(spec, d, 1)
        else:
            times, scores, peak = fused(spec, d, int(variant.split()[-1]))
    seconds = time.time() - launched
    print(
        json.dumps(
            {
                "seconds": seconds,
                "training_seconds": max(times) - min(times),
                "scores": scores,
                "best": max(scores) if spec.tuner.direction != "min" else min(scores),
                "peak_mb": peak,
                "gpu_utilization": gpu.stop(),
            }
        )
    )


def recommend(rows: dict[str, dict]) -> str:
    """The smallest K whose trials per minute are within 5% of the best K's."""
    ks = {int(v.split()[-1]): r["per_minute"] for v, r in rows.items() if v.startswith("fuse ")}
    best = max(ks.values())
    return str(min(k for k, rate in ks.items() if rate >= 0.95 * best))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["quickstart", "digits"])
    parser.add_argument("--fuse", nargs="+", type=int, default=[1, 2, 5, 10])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, help="override training.epochs (the quickstart's: 10)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-plain", action="store_true", help="skip plain keras-tuner")
    parser.add_argument(
        "--model-fit", action="store_true", help="also tunewidgets with every trial through Model.fit (K = 1)"
    )
    parser.add_argument("--auto", action="store_true", help="recommend a K for this machine from the runs")
    parser.add_argument("--json")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--set", help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.set, args.trials, args.epochs, args.launched)
        return
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    variants = ([] if args.no_plain else [PLAIN]) + ([FIT] if args.model_fit else []) + [f"fuse {k}" for k in args.fuse]
    report: dict = {"trials": args.trials, "reps": args.reps, "machine": f"{platform.machine()}, {os.cpu_count()} cpus"}
    report["backend"] = os.environ.get("KERAS_BACKEND", "tensorflow")
    for dataset in args.sets:
        runs: dict[str, list[dict]] = {v: [] for v in variants}
        for rep in range(args.reps):
            order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
            for variant in order:
                argv = [sys.executable, __file__, "--one", variant, "--set", dataset, "--trials", str(args.trials)]
                argv += ["--launched", repr(time.time())] + (["--epochs", str(args.epochs)] if args.epochs else [])
                out = subprocess.run(argv, capture_output=True, text=True, env=env)
                if out.returncode != 0:
                    raise SystemExit(f"{variant} on {dataset} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                runs[variant].append(result)
                print(
                    f"{dataset} rep {rep + 1}: {variant:26s} {result['seconds']:6.1f} s "
                    f"(training {result['training_seconds']:5.1f} s), best {result['best']:.4f}, "
                    f"peak {result['peak_mb']:.0f} MB",
                    flush=True,
                )
        rows: dict[str, dict] = {}
        for variant in variants:
            rs = runs[variant]
            rows[variant] = {
                "per_minute": statistics.median(60 * args.trials / r["seconds"] for r in rs),
                "per_minute_training": statistics.median(60 * args.trials / r["training_seconds"] for r in rs),
                "peak_mb": statistics.median(r["peak_mb"] for r in rs),
                "best": statistics.median(r["best"] for r in rs),
                "gpu_utilization": statistics.median(r["gpu_utilization"] for r in rs)
                if all(r.get("gpu_utilization") is not None for r in rs)
                else None,
                "runs": rs,
            }
        fused_bests = {round(rows[v]["best"], 6) for v in variants if v != PLAIN}  # Model.fit's too: same trials
        if len(fused_bests) > 1:
            print(f"WARNING: the best score differs between K: {sorted(fused_bests)}")
        report[dataset] = rows
        base = rows.get("fuse 1")
        print(f"\n{dataset}: {args.trials} trials, median of {args.reps}")
        head = ("variant", "trials/min", "x plain", "x K=1", "training", "x K=1", "peak MB", "best")
        print(f"{head[0]:26s} {head[1]:>10s} {head[2]:>8s} {head[3]:>7s} {head[4]:>9s} {head[5]:>7s} ", end="")
        print(f"{head[6]:>8s} {head[7]:>7s}")
        for variant, r in rows.items():
            vs_plain = r["per_minute"] / rows[PLAIN]["per_minute"] if PLAIN in rows else float("nan")
            vs_one = r["per_minute"] / base["per_minute"] if base else float("nan")
            train_one = r["per_minute_training"] / base["per_minute_training"] if base else float("nan")
            print(
                f"{variant:26s} {r['per_minute']:10.1f} {vs_plain:7.2f}x {vs_one:6.2f}x "
                f"{r['per_minute_training']:9.1f} {train_one:6.2f}x {r['peak_mb']:8.0f} {r['best']:7.4f}"
            )
            if r["gpu_utilization"] is not None:
                print(f"{'':26s} GPU busy {r['gpu_utilization']:.0f}% of the time (nvidia-smi, median of the runs)")
        if args.auto and len(args.fuse) > 1:
            k = recommend(rows)
            report[dataset]["recommended_fuse"] = int(k)
            print(f"recommended tuner.fuse for {dataset} on this machine: {k}")
        print(flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
