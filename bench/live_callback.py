"""The cost of ``tunewidgets.live()`` in a user's own keras-tuner search: the quickstart-sized plain keras-tuner
search (RandomSearch, 10 trials x 10 epochs) with and without the callback, each in a fresh process (clock from
the launch, imports included), alternated, ``--reps`` times; medians and their ratio. The goal: at most 1.05x.

    python bench/live_callback.py
    python bench/live_callback.py --reps 3 --trials 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one(variant: str, trials: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from _plain import plain_search

    import tunewidgets as tw

    spec = tw.Spec.from_file(ROOT / "examples" / "specs" / "quickstart.json").replace(**{"tuner.max_trials": trials})
    with tempfile.TemporaryDirectory() as d:
        tuner, ds = plain_search(spec, d)
        callbacks = [tw.live()] if variant == "live" else []
        tuner.search(
            ds.x_train,
            ds.y_train,
            validation_data=(ds.x_val, ds.y_val),
            epochs=spec.training.epochs,
            callbacks=callbacks,
            verbose=0,
        )
        if variant == "live":  # every trial's curves were recorded, and read back
            assert all(t.curves for t in tw.load(Path(d) / "plain").record.trials.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--json")
    parser.add_argument("--one", choices=["plain", "live"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.trials)
        return
    times: dict[str, list[float]] = {"plain": [], "live": []}
    for rep in range(args.reps):
        order = ["plain", "live"] if rep % 2 == 0 else ["live", "plain"]
        for variant in order:
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, __file__, "--one", variant, "--trials", str(args.trials)],
                check=True,
                capture_output=True,
                env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
            times[variant].append(time.perf_counter() - t0)
            print(f"rep {rep + 1}: {variant:<6} {times[variant][-1]:.2f} s", flush=True)
    plain, live = statistics.median(times["plain"]), statistics.median(times["live"])
    print(f"{args.trials} trials x 10 epochs, median of {args.reps} fresh processes each")
    print(f"plain keras-tuner {plain:.2f} s; with tunewidgets.live() {live:.2f} s: ratio {live / plain:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"times": times, "plain": plain, "live": live, "ratio": live / plain}))


if __name__ == "__main__":
    main()
