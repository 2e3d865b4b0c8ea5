"""Command line: ``tunewidgets run | validate | report | demo | worker``.

Exit codes: 0 done, 1 the search failed, 2 bad input (spec, data, folder), 130 interrupted.
Bad input never shows a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .errors import Issue, ProjectError, SearchError, SpecError
from .events import EndReason

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class Progress:
    """Prints a line per trial and, on a terminal, a live line per epoch (from :class:`ProgressState`)."""

    def __init__(self, out: TextIO | None = None):
        from .progress import ProgressState

        self.out = out or sys.stdout  # read now: a caller may have redirected it since this module was imported
        self.tty = self.out.isatty()
        self.state = ProgressState()

    def __call__(self, event: Any) -> None:
        from .events import EpochEnded, SearchEnded, SearchStarted, TrialEnded, TrialStarted, TrialStatus
        from .progress import duration_text, trial_number

        state = self.state
        state.apply(event)
        if isinstance(event, SearchStarted):
            verb = "Resuming" if event.resumed else "Starting"
            self._line(f"{verb} search '{event.name}': objective {event.objective} ({event.direction})")
            if event.plan:
                self._line(event.plan)
            if event.resumed:
                self._line(f"Done before: {state.done} of {event.planned_trials} trials; {state.best_text()}")
            self._line(f"Data: {event.data_summary}")
            for line in event.data_report:
                self._line(f"  - {line}")
            for note in event.notes:
                self._line(f"Note: {note}")
        elif isinstance(event, TrialStarted):
            self._live(f"trial {trial_number(event.trial_id)} starting")
        elif isinstance(event, EpochEnded) and self.tty:
            value = event.metrics.get(state.objective)
            shown = f" {state.objective}={value:.4f}" if value is not None else ""
            self._live(f"trial {trial_number(event.trial_id)} epoch {event.epoch}{shown}")
        elif isinstance(event, TrialEnded):
            number = trial_number(event.trial_id)
            if event.status is TrialStatus.STOPPED:
                self._line(f"trial {number} stopped ({event.message})")
                return
            result = f"{state.objective}={event.score:.4f}" if event.score is not None else f"FAILED: {event.message}"
            if event.status is TrialStatus.PRUNED:
                result = f"pruned, {result}: {event.message}; {state.epochs_saved} epochs saved so far"
            elapsed = duration_text(time.time() - state.started_at)
            self._line(
                f"[{state.counter}] trial {number}: {result} ({event.duration:.1f}s) | {state.best_text()} | "
                f"{elapsed} elapsed"
            )
        elif isinstance(event, SearchEnded):
            # an error is printed once, on stderr, by the command that ran the search
            from .events import EndReason

            if event.reason is EndReason.TARGET_REACHED:
                self._line(f"Search ended: {event.message}")
            elif event.reason is not EndReason.ERROR:
                self._line(f"Search {event.reason.value}" + (f": {event.message}" if event.message else ""))

    def _live(self, text: str) -> None:
        if self.tty:
            self.out.write("\r\033[K" + text)
            self.out.flush()

    def _line(self, text: str) -> None:
        self.out.write(("\r\033[K" if self.tty else "") + text + "\n")
        self.out.flush()


def _bad_input(err: Exception) -> int:
    print("error: the input is not valid:" if isinstance(err, SpecError) else "error:", file=sys.stderr)
    if isinstance(err, SpecError):
        for issue in err.issues:
            print(f"  {issue}", file=sys.stderr)
    else:
        print(f"  {err}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _run_search(spec: Any, directory: str, overwrite: bool, tensorboard: bool, cluster: str | None = None) -> int:
    from .engine import Search

    search = Search(spec, directory, overwrite=overwrite, tensorboard=tensorboard, cluster=cluster)
    if search.cluster is not None:
        print(f"Trials train on the Dask cluster at {search.cluster}")
    search.events.subscribe(Progress())
    thread = search.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        print("\nStopping after the current epoch (Ctrl-C again to abort)...", file=sys.stderr)
        search.stop()
        try:
            thread.join()
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        return EXIT_INTERRUPTED
    if search.error is not None:
        if isinstance(search.error, (SpecError, ProjectError)):
            return _bad_input(search.error)
        what = "" if isinstance(search.error, SearchError) else f"{type(search.error).__name__}: "
        print(f"error: the search broke: {what}{search.error}", file=sys.stderr)
        print(f"The trials that ended before are kept in {Path(directory).resolve()}.", file=sys.stderr)
        return EXIT_FAILED
    results = search.results
    assert results is not None
    print(f"Results in {Path(directory).resolve()} (trials.csv, curves.csv)")
    best = results.best_trial
    if best is None:
        print("No trial completed.")
        return EXIT_FAILED
    print(f"Best trial {best.number}: {results.objective} = {best.score:.4f}")
    for name, value in best.tuned_values().items():
        print(f"  {name} = {value}")
    if len(results.dataset.x_test):
        try:
            print(f"Best model on the test split: {results.test_summary()}")
        except (RuntimeError, OSError, LookupError) as e:
            print(f"The best model could not be scored on the test split: {e}", file=sys.stderr)
    done = (EndReason.COMPLETED, EndReason.TARGET_REACHED)
    return EXIT_OK if search.end_reason in done else EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    from .data import file_issues
    from .spec import Spec
    from .spec.budget import budget_notes
    from .spec.size import size_text

    spec = Spec.from_file(args.spec)
    issues = file_issues(spec)
    if issues:
        raise SpecError(issues)
    print(f"{args.spec}: valid. {spec.describe()}")
    size = size_text(spec)
    print(size or "Largest model: counted when the data is loaded (at the start of a run).")
    for note in budget_notes(spec):
        print(f"Note: {note}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .spec import Spec

    spec = Spec.from_file(args.spec)
    overrides = {}
    if args.trials is not None and spec.tuner.algorithm == "hyperband":
        from .spec.budget import planned_trials

        raise SpecError(
            Issue(
                "tuner.max_trials",
                f"--trials does not apply to Hyperband: its brackets decide the trials from tuner.max_epochs "
                f"and tuner.factor ({planned_trials(spec)} trials with this spec); --epochs sets tuner.max_epochs",
            )
        )
    if args.trials is not None:
        overrides["tuner.max_trials"] = args.trials
    if args.epochs is not None:  # Hyperband trains up to its max_epochs, not training.epochs
        overrides["tuner.max_epochs" if spec.tuner.algorithm == "hyperband" else "training.epochs"] = args.epochs
    if args.workers is not None:
        overrides["tuner.workers"] = args.workers
    if args.fuse is not None:
        overrides["tuner.fuse"] = args.fuse
    if overrides:
        spec = spec.replace(**overrides).check()
    if args.listen is not None:
        raise SpecError(Issue("--listen", RETIRED))
    return _run_search(spec, args.dir, args.overwrite, args.tensorboard, args.cluster)


#: What ``--listen`` and ``tunewidgets worker`` (workers on other machines sharing the folder) became.
RETIRED = (
    "workers on other machines no longer join a search through a port and a shared folder: run the trials on a "
    "Dask cluster instead. Start `dask scheduler` on one machine and `dask worker tcp://SCHEDULER:8786` on each "
    "other, then `tunewidgets run SPEC --dir DIR --cluster tcp://SCHEDULER:8786` (see the 'On a cluster' page)"
)


def cmd_worker(args: argparse.Namespace) -> int:
    """Retired: says what replaced it."""
    raise SpecError(Issue("worker", RETIRED))


def cmd_demo(args: argparse.Namespace) -> int:
    from .spec import Range, Spec, choice

    spec = Spec(name="demo").replace(
        **{
            "data.name": "moons",
            "data.samples": 600,
            "data.noise": 0.25,
            "model.layers": Range(1, 2),
            "model.units": choice(8, 32),
            "optimizer.learning_rate": Range(1e-3, 3e-2, log=True),
            "training.epochs": args.epochs,
            "tuner.max_trials": args.trials,
            "tuner.seed": 1,
        }
    )
    return _run_search(spec, args.dir, overwrite=args.overwrite, tensorboard=False)


def cmd_report(args: argparse.Namespace) -> int:
    from .plots import write_report

    directory = Path(args.dir)
    if not args.dir.strip() or not directory.is_dir():
        raise ProjectError(f"{args.dir!r} is not a folder holding a search")
    output = Path(args.output)
    if not args.output.strip() or output.is_dir():
        raise ProjectError(f"-o/--output: {args.output!r} is a folder; give a file name, such as report.html")
    try:  # before the search is read: a report that cannot be written is said at once
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ProjectError(f"-o/--output: cannot write {output.resolve()}: {e.strerror or e}") from None
    if not os.access(output.parent, os.W_OK):
        raise ProjectError(f"-o/--output: cannot write in {output.parent.resolve()} (no permission)")
    try:
        out = write_report(directory, args.output, evaluate=not args.no_test)
    except OSError as e:
        raise ProjectError(f"-o/--output: cannot write {output.resolve()}: {e.strerror or e}") from None
    print(f"Wrote {out} ({out.stat().st_size / 1e6:.1f} MB); it opens in any browser, with no kernel")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tunewidgets", description="Hyperparameter search for Keras, from a spec.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run (or resume) a search headless and write its results")
    p.add_argument("spec", help="spec file (JSON)")
    p.add_argument("--dir", required=True, help="project directory for the results")
    p.add_argument("--overwrite", action="store_true", help="replace a search of another spec in --dir")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs in DIR/tensorboard")
    p.add_argument("--trials", type=int, help="override tuner.max_trials")
    p.add_argument("--epochs", type=int, help="override training.epochs (Hyperband: tuner.max_epochs)")
    p.add_argument("--workers", type=int, help="override tuner.workers: trials trained at once, one process each")
    p.add_argument("--fuse", type=int, help="override tuner.fuse: trials trained together in one step, per process")
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="train the trials on a Dask cluster: its scheduler's address (tcp://HOST:8786), or local-gpus (a Dask "
        "worker per GPU of this machine); --workers then sets how many trials train at once there",
    )
    p.add_argument("--listen", help=argparse.SUPPRESS)  # retired: says what replaced it
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("worker", help="retired: workers on other machines are Dask workers (see run --cluster)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("validate", help="check a spec file and report every problem")
    p.add_argument("spec")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("report", help="write every plot of a search into one self-contained HTML file")
    p.add_argument("dir", help="project directory of a search")
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write")
    p.add_argument("--no-test", action="store_true", help="do not score the best model on the test split")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("demo", help="a small search on a built-in data set")
    p.add_argument("--dir", default="runs/demo")
    p.add_argument("--trials", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--overwrite", action="store_true", help="replace another search in --dir")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (SpecError, ProjectError) as e:
        return _bad_input(e)
    except OSError as e:  # a full disk, a folder made read-only: said plainly, never a traceback
        where = f" {e.filename}" if e.filename else ""
        print(f"error: cannot read or write{where}: {e.strerror or e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
