"""Where a trial's time goes: build, compile, first epoch (tracing included), later epochs,
checkpointing (at epoch ends, and the one write after a run), event handling, and the rest
(keras-tuner's bookkeeping, data handling).

Runs a worker's training loop in this process (what ``python -m tunewidgets.engine.worker`` does)
with timers around each step, then prints each step's share of the trial time and the fixed
costs as a ratio of the learning itself (the later epochs), all measured in this run.

    python bench/trial_breakdown.py                          # the quickstart spec
    python bench/trial_breakdown.py --spec examples/specs/digits_cnn.json --trials 5
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS = (
    "build",
    "compile",
    "first epoch",
    "later epochs",
    "checkpointing",  # at epoch ends (keeping the best weights)
    "checkpoint write",  # once a run, after its last epoch
    "event handling",
    "other",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(ROOT / "examples/specs/quickstart.json"))
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()

    import keras

    from tunewidgets.engine import Search
    from tunewidgets.engine.folder.eventlog import read_events
    from tunewidgets.engine.folder.project import Project
    from tunewidgets.engine.folder.protocol import WorkerFiles
    from tunewidgets.engine.worker import main as _worker
    from tunewidgets.events import EventBus, TrialEnded
    from tunewidgets.spec import Spec

    spent: dict[str, float] = collections.defaultdict(float)
    stack: list[str] = []

    def timed(step: str, fn):  # noqa: ANN001, ANN202 - a wrapper around anything
        @functools.wraps(fn)
        def wrapper(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            t0 = time.perf_counter()
            stack.append(step)
            try:
                return fn(*a, **kw)
            finally:
                stack.pop()
                dt = time.perf_counter() - t0
                spent[step] += dt
                for outer in stack:  # an inner step's time is not the outer step's own
                    spent[outer] -= dt

        return wrapper

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):  # noqa: ANN001
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001
            spent["first epoch" if epoch == 0 else "later epochs"] += time.perf_counter() - self.t0

    keras.Model.compile = timed("compile", keras.Model.compile)
    from tunewidgets.engine.worker.checkpoint import BestEpoch

    BestEpoch.on_epoch_end = timed("checkpointing", BestEpoch.on_epoch_end)
    BestEpoch.on_train_end = timed("checkpoint write", BestEpoch.on_train_end)
    EventBus.publish = timed("event handling", EventBus.publish)
    from tunewidgets.engine.started import prepared_data
    from tunewidgets.model import spec_hypermodel as hypermodel

    hypermodel.SpecHyperModel.build = timed("build", hypermodel.SpecHyperModel.build)
    fit_callbacks = hypermodel.SpecHyperModel.fit_callbacks

    def with_timer(self):  # noqa: ANN001, ANN202 - every fit (and every member of a group) gets the epoch timer
        return [*fit_callbacks(self), EpochTimer()]

    hypermodel.SpecHyperModel.fit_callbacks = with_timer

    spec = Spec.from_file(args.spec).replace(**{"tuner.max_trials": args.trials})
    with tempfile.TemporaryDirectory() as d:
        search = Search(spec, d)
        search._prepare_directory()
        search.dataset = prepared_data(search.project, spec, None, None)
        files = WorkerFiles(Project(Path(d)).workers)
        files.dir.mkdir()
        files.go.write_text("go\n")  # the data is ready
        t0 = time.perf_counter()
        _worker.run([d, "--recycle-mb", "0"])
        total = time.perf_counter() - t0
        events = read_events(files.events("tuner0"))
    trials = sum(1 for e in events if isinstance(e, TrialEnded))
    # the epoch timer's epochs include the checkpointing and event handling done at epoch end
    epochs_total = spent["first epoch"] + spent["later epochs"]
    inner = spent["checkpointing"] + spent["event handling"]
    share_first = spent["first epoch"] / epochs_total if epochs_total else 0
    spent["first epoch"] -= inner * share_first
    spent["later epochs"] -= inner * (1 - share_first)
    # the build step's own time excludes compile (subtracted above); "other" is what no timer saw
    spent["other"] = total - sum(spent[s] for s in STEPS if s != "other")
    learning = spent["later epochs"]
    print(f"{trials} trials of {Path(args.spec).name} in {total:.1f} s ({total / trials:.2f} s per trial)")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, keras {keras.__version__}"
    )
    print(f"{'step':<16}{'s/trial':>9}{'share':>8}{'x later epochs':>16}")
    for step in STEPS:
        per = spent[step] / trials
        print(f"{step:<16}{per:>9.3f}{spent[step] / total:>8.1%}{spent[step] / learning:>16.2f}")
    fixed = total - learning
    print(f"fixed costs / learning = {fixed / learning:.2f} (everything but the later epochs, over them)")
    if args.json:
        out = {
            "spec": Path(args.spec).name,
            "trials": trials,
            "total_s": total,
            "seconds_per_trial": {s: spent[s] / trials for s in STEPS},
            "fixed_over_learning": fixed / learning,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
