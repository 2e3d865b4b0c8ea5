"""Live views at a search's real size: what one redraw costs with 10, 1,000 and 10,000 trials.

    python bench/live_views.py                          # 10, 1000, 10000 trials of 20 epochs, 5 repetitions
    python bench/live_views.py --sizes 10 1000 --vs /path/to/other/checkout

For each size, a record of N finished trials of 20 epochs (and one running) feeds a dashboard's
live views, as the views of a search that ran that long. Then, timed on the views' own thread as
the throttle runs it:

* **per epoch**: the running trial logs an epoch, the views redraw (what happens every half second
  while a search trains);
* **after a trial ends**: the running trial ends, the next one starts and logs an epoch, the views
  redraw everything a trial's end changes (the trials' views are due at once: ``trials_every`` is 0);
* **open**: the views drawn from nothing (a dashboard opening a finished search);
* **bytes**: what the redraw sends to the browser, as JSON, through a comm that encodes every message
  the way a kernel does (and sends it nowhere);
* **report**: the largest size's search written to a folder, then its HTML report (``write_report``): seconds
  and megabytes.

Each figure is the median of ``--reps`` redraws; the ratios are against the 10-trial figures of the
same run (the goal: at most 3x at 1,000 trials). ``--vs PATH`` runs the same measurement on another
checkout (``PYTHONPATH=PATH``) in a fresh process, after this one, for a before / after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def install_counting_comm() -> list[int]:
    """Every widget message encoded to JSON as a kernel would; returns the list its sizes go to."""
    import comm
    from comm.base_comm import BaseComm
    from jupyter_client.jsonutil import json_default

    sent: list[int] = []

    class CountingComm(BaseComm):
        def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any):
            encoded = json.dumps(data, default=json_default, allow_nan=False)
            sent.append(len(encoded) + sum(len(b) for b in buffers or ()))

    comm.create_comm = CountingComm
    return sent


def measure(n: int, epochs: int, reps: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests"))  # this checkout's tests/big_search.py, whichever tunewidgets runs
    from big_search import events, trial

    from tunewidgets.engine.folder.record import SearchRecord
    from tunewidgets.events import TrialEnded, TrialStatus
    from tunewidgets.plots.live import LiveViews

    sent = install_counting_comm()
    record = SearchRecord()
    t0 = time.perf_counter()
    for event in events(n, epochs):
        record.apply(event)
    fed = time.perf_counter() - t0
    views = LiveViews(SearchRecord(), interval=0.0)  # as a dashboard does: its views, then a search to show
    views.throttle.request = lambda: None  # type: ignore[method-assign]  # redraws are called here, one at a time
    views.trials_every = 0.0
    t0 = time.perf_counter()
    views.reset(record)
    opened = time.perf_counter() - t0

    def timed(feed: list[Any]) -> tuple[float, int]:
        for event in feed:
            record.apply(event)
            views.on_event(event)
        del sent[:]
        start = time.perf_counter()
        views.redraw()
        return time.perf_counter() - start, sum(sent)

    running = n  # the running trial's index
    epoch_times, epoch_bytes, end_times, end_bytes = [], [], [], []
    for rep in range(reps):
        for _ in range(2):  # the running trial's next epochs
            seconds, size = timed(list(trial(running, 1, first=4 + rep * 3 + _)))
            epoch_times.append(seconds)
            epoch_bytes.append(size)
        ended = TrialEnded(f"{running:05d}", TrialStatus.COMPLETED, (running % 7) / 10, 3, 1.0)
        running += 1
        seconds, size = timed([ended, *trial(running, 1)])
        end_times.append(seconds)
        end_bytes.append(size)
        seconds, size = timed(list(trial(running, 2, first=2)))
    return {
        "trials": n,
        "epochs": epochs,
        "feed_s": round(fed, 3),
        "open_s": round(opened, 4),
        "per_epoch_ms": round(1000 * statistics.median(epoch_times), 2),
        "per_epoch_bytes": int(statistics.median(epoch_bytes)),
        "trial_end_ms": round(1000 * statistics.median(end_times), 2),
        "trial_end_bytes": int(statistics.median(end_bytes)),
    }


def report(n: int, epochs: int) -> dict[str, Any]:
    """A search of ``n`` trials written as a folder, then its report: how long, how big."""
    import tempfile

    sys.path.insert(0, str(ROOT / "tests"))
    from big_search import write

    from tunewidgets.plots import write_report

    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "search", n, epochs)
        start = time.perf_counter()
        out = write_report(folder, Path(tmp) / "report.html", evaluate=False)
        seconds = time.perf_counter() - start
        return {"trials": n, "report_s": round(seconds, 1), "report_mb": round(out.stat().st_size / 1e6, 1)}


def run_all(sizes: list[int], epochs: int, reps: int) -> list[dict[str, Any]]:
    """Each size in a fresh process: one size's garbage does not slow the next."""
    rows = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--epochs", str(epochs), "--reps", str(reps)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([os.environ.get("PYTHONPATH", str(ROOT)), str(ROOT)])},
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  {n:>6} trials: {rows[-1]}", flush=True)
    base = rows[0]
    for row in rows:
        row["per_epoch_x"] = round(row["per_epoch_ms"] / base["per_epoch_ms"], 2)
        row["trial_end_x"] = round(row["trial_end_ms"] / base["trial_end_ms"], 2)
    return rows


def table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"{'trials':>7} {'open s':>8} {'epoch ms':>9} {'x':>6} {'bytes':>9} {'end ms':>9} {'x':>6} {'bytes':>9}")
    for r in rows:
        print(
            f"{r['trials']:>7} {r['open_s']:>8.3f} {r['per_epoch_ms']:>9.2f} {r['per_epoch_x']:>6.2f} "
            f"{r['per_epoch_bytes']:>9} {r['trial_end_ms']:>9.2f} {r['trial_end_x']:>6.2f} {r['trial_end_bytes']:>9}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--vs", help="another checkout to measure the same way, after this one")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.epochs, args.reps)))
        return
    if args.report is not None:
        print(json.dumps(report(args.report, args.epochs)))
        return
    print(f"this checkout ({ROOT}):")
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "this": run_all(args.sizes, args.epochs, args.reps),
    }
    table("this checkout", result["this"])
    out = subprocess.run(
        [sys.executable, __file__, "--report", str(max(args.sizes)), "--epochs", str(args.epochs)],
        capture_output=True,
        text=True,
        check=True,
    )
    result["report"] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"report of {result['report']['trials']} trials: {result['report']}")
    if args.vs:
        print(f"\n{args.vs}:")
        os.environ["PYTHONPATH"] = str(Path(args.vs).resolve())  # its tunewidgets; this one's tests/big_search.py
        result["vs"] = {"path": args.vs, "rows": run_all(args.sizes, args.epochs, args.reps)}
        table(f"the checkout at {args.vs}", result["vs"]["rows"])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
