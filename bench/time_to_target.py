"""Time to a good model: plain keras-tuner RandomSearch against tunewidgets' random search, random + ASHA,
TPE and TPE + ASHA, on the same data, space and trial budget, as whole processes, over several seeds.

    python bench/time_to_target.py                       # quickstart, digits, houses.csv; 3 seeds
    python bench/time_to_target.py --sets quickstart --seeds 1

For each data set and seed, every variant runs in a fresh process (clock from the launch, imports
included) and records, at each trial's end, the wall time and the best validation score so far. The
plain search's final best is the target: each variant's **time to target** is the wall time at which
its best first came within 0.01 of it (``inf`` if never), reported as a ratio to the plain search's
whole time in the same seed; **best at equal time** is each variant's best score at the moment the
plain search ended (or its last best, if it ended sooner). Medians over seeds.

The plain variant is a keras-tuner ``RandomSearch`` over the same hyperparameters with the same
model-building code, fitting NumPy arrays with Keras' ``fit`` as a keras-tuner user does; tunewidgets'
variants train the same trials in its worker process.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _plain import plain_search, search_plain  # noqa: E402

VARIANTS = ("plain keras-tuner", "random", "random + asha", "tpe", "tpe + asha")
WITHIN = 0.01


def spec_for(name: str, trials: int, epochs: int, seed: int):
    from tunewidgets.spec import Choice, Range, Spec

    specs = ROOT / "examples" / "specs"
    if name == "quickstart":
        spec = Spec.from_file(specs / "quickstart.json")
    elif name == "digits":
        spec = Spec.from_file(specs / "quickstart.json").replace(**{"data.name": "digits", "name": "digits"})
    else:  # a CSV file with text columns and missing values
        spec = Spec.from_file(specs / "quickstart.json").replace(
            **{
                "name": "houses",
                "data.source": "csv",
                "data.path": str(ROOT / "examples" / "data" / "houses.csv"),
                "data.target": "sold_within_month",
            }
        )
    return spec.replace(
        **{
            "tuner.max_trials": trials,
            "training.epochs": epochs,
            "tuner.seed": seed,
            "tuner.pruning_min_epochs": max(1, min(2, epochs - 1)),
            "model.units": Range(16, 128, 16),
            "optimizer.learning_rate": Range(1e-4, 3e-2, log=True),
            "regularization.dropout": Choice((0.0, 0.25)),
        }
    )


def plain(spec, directory: str, launched: float) -> list[tuple[float, float]]:
    """keras-tuner's RandomSearch, as its tutorial has it, over the spec's space and model."""
    import keras_tuner as kt

    timeline: list[tuple[float, float]] = []

    class Timed(kt.RandomSearch):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            best = self.oracle.get_best_trials(1)
            if best and best[0].score is not None:
                timeline.append((time.time() - launched, float(best[0].score)))

    tuner, ds = plain_search(spec, directory, Timed)
    search_plain(tuner, ds, spec)
    return timeline


def through_tunewidgets(spec, directory: str, launched: float) -> list[tuple[float, float]]:
    from tunewidgets.engine import Search
    from tunewidgets.events import TrialEnded

    timeline: list[tuple[float, float]] = []
    search = Search(spec, directory, keep_warm=0)
    best: list[float] = []

    def record(event) -> None:
        if isinstance(event, TrialEnded) and event.status.has_score() and event.score is not None:
            best.append(event.score if not best else max(best[-1], event.score))
            timeline.append((time.time() - launched, best[-1]))

    search.events.subscribe(record, TrialEnded)
    search.run()
    return timeline


def one(variant: str, dataset: str, trials: int, epochs: int, seed: int, launched: float) -> None:
    spec = spec_for(dataset, trials, epochs, seed)
    with tempfile.TemporaryDirectory() as d:
        if variant == "plain keras-tuner":
            timeline = plain(spec, d, launched)
        else:
            algorithm, _, pruning = variant.partition(" + ")
            spec = spec.replace(**{"tuner.algorithm": algorithm, "tuner.pruning": pruning or "none"})
            timeline = through_tunewidgets(spec, d, launched)
    print(json.dumps({"seconds": time.time() - launched, "timeline": timeline}))


def first_within(timeline: list[list[float]], target: float) -> float:
    return next((t for t, best in timeline if best >= target - WITHIN), math.inf)


def best_at(timeline: list[list[float]], moment: float) -> float | None:
    reached = [best for t, best in timeline if t <= moment]
    return reached[-1] if reached else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["quickstart", "digits", "houses"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--json")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--set", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.set, args.trials, args.epochs, args.seed, args.launched)
        return
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    report: dict = {"trials": args.trials, "epochs": args.epochs, "seeds": args.seeds, "cpus": os.cpu_count()}
    for dataset in args.sets:
        runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        for seed in range(1, args.seeds + 1):
            order = VARIANTS[seed % len(VARIANTS) :] + VARIANTS[: seed % len(VARIANTS)]
            for variant in order:
                argv = [sys.executable, __file__, "--one", variant, "--set", dataset, "--seed", str(seed)]
                argv += ["--trials", str(args.trials), "--epochs", str(args.epochs), "--launched", repr(time.time())]
                out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                runs[variant].append(result)
                final = result["timeline"][-1][1] if result["timeline"] else float("nan")
                print(f"{dataset} seed {seed}: {variant:18s} {result['seconds']:6.1f} s, best {final:.4f}", flush=True)
        summary: dict = {}
        for variant in VARIANTS:
            to_target, at_equal, wall, final = [], [], [], []
            for i, result in enumerate(runs[variant]):
                base = runs[VARIANTS[0]][i]
                target = base["timeline"][-1][1]
                to_target.append(first_within(result["timeline"], target) / base["seconds"])
                at_equal.append(best_at(result["timeline"], base["seconds"]) or float("nan"))
                wall.append(result["seconds"] / base["seconds"])
                final.append(result["timeline"][-1][1])
            summary[variant] = {
                "time_to_target_ratio": statistics.median(to_target),
                "time_to_target_ratios": to_target,
                "best_at_plain_end": statistics.median(at_equal),
                "whole_time_ratio": statistics.median(wall),
                "final_best": statistics.median(final),
                "runs": runs[variant],
            }
        report[dataset] = summary
        print(f"\n{dataset}: {args.trials} trials x {args.epochs} epochs, median of {args.seeds} seeds")
        header = ("time to plain best", "best at plain end", "whole time", "final best")
        print(f"{'variant':18s} {header[0]:>20s} {header[1]:>18s} {header[2]:>11s} {header[3]:>11s}")
        for variant, s in summary.items():
            print(
                f"{variant:18s} {s['time_to_target_ratio']:19.2f}x {s['best_at_plain_end']:18.4f} "
                f"{s['whole_time_ratio']:10.2f}x {s['final_best']:11.4f}"
            )
        print(flush=True)
    report["machine"] = f"{platform.machine()}, {os.cpu_count()} cpus"
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
