"""Memory over a long search: 200 small trials, the resident memory of this process and of its
worker processes together sampled after every trial. Prints the memory after the first 20 trials
(the baseline, measured in this run), at the end, the peak, and the growth per 100 trials from a
straight-line fit over the rest: flat means no leak. Workers retire and are replaced once they
have grown by --recycle-mb (the engine's default 300), which is what keeps it flat.

    python bench/memory_long_search.py
    python bench/memory_long_search.py --trials 60
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--views", action="store_true", help="attach the live views too")
    parser.add_argument("--recycle-mb", type=float, default=300.0)
    parser.add_argument("--json")
    args = parser.parse_args()

    import tunewidgets as tw
    from tunewidgets._memory import tree_rss_mb as rss_mb
    from tunewidgets.engine import Search
    from tunewidgets.events import TrialEnded
    from tunewidgets.spec import Fixed, Range, choice

    spec = tw.Spec(name="long").replace(
        **{
            "data.name": "moons",
            "data.samples": 300,
            "model.layers": Range(1, 3),
            "model.units": choice(8, 16, 32),
            "optimizer.learning_rate": Range(1e-3, 1e-1, log=True),
            "training.epochs": 2,
            "training.batch_size": Fixed(32),
            "tuner.max_trials": args.trials,
            "tuner.seed": 1,
        }
    )
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        search = Search(spec, d, recycle_mb=args.recycle_mb)
        search.events.subscribe(lambda e: samples.append(rss_mb()), TrialEnded)
        if args.views:
            from tunewidgets.plots import LiveViews

            views = LiveViews()
            views.reset(search)
            search.events.subscribe(views.on_event)
        search.run()
    warm = 20
    baseline = statistics.mean(samples[warm - 5 : warm])
    xs = list(range(warm, len(samples)))
    ys = samples[warm:]
    slope = statistics.linear_regression(xs, ys).slope if len(xs) > 2 else 0.0
    print(
        f"{len(samples)} trials; resident memory after {warm} trials {baseline:.0f} MB, "
        f"at the end {samples[-1]:.0f} MB ({samples[-1] / baseline:.3f}x), peak {max(samples):.0f} MB; "
        f"growth {slope * 100:+.1f} MB per 100 trials after the first {warm}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "rss_mb": samples,
                    "baseline_mb": baseline,
                    "peak_mb": max(samples),
                    "growth_mb_per_100_trials": slope * 100,
                    "recycle_mb": args.recycle_mb,
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
