"""Search overhead: one search as a plain keras-tuner script, through tunewidgets, and through
tunewidgets with the live views attached. Prints wall times and ratios against the plain
script, all measured in this one invocation.

    python bench/search_overhead.py                 # the quickstart spec, 5 repetitions
    python bench/search_overhead.py --reps 2 --trials 4 --epochs 5

How it is fair:

* every run is a fresh Python process (a long-lived process slows down search after
  search, which would favour whichever variant runs first); the order of the variants
  rotates from one repetition to the next;
* the clock starts when the parent launches the process and stops when the results are
  in: imports included, since tunewidgets trains in worker processes that import
  TensorFlow themselves while the calling process never does; the live views' cost is
  compared from Run to the results (in a notebook they are on screen before Run);
* the plain script declares the same hyperparameters in the same order as tunewidgets
  (keras-tuner's random search draws values in declaration order), so both train the
  identical sequence of models; the script checks that the trials match;
* the live views run as in a notebook except that no browser receives their messages
  (there is no kernel here): building every update is measured, sending it is not.
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
VARIANTS = ("plain keras-tuner", "tunewidgets", "tunewidgets + live views")


def plain_keras_tuner(directory: str, trials: int, epochs: int) -> tuple[list[dict], float]:
    """The search as a user writes it from the keras-tuner tutorial."""
    import keras
    import keras_tuner as kt
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = make_classification(n_samples=1000, n_features=20, flip_y=0.01, random_state=42)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, random_state=42, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.2, random_state=42, stratify=y_rest)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)

    class Model(kt.HyperModel):
        def build(self, hp):
            layers = hp.Int("layers", 1, 3)
            units = hp.Int("units", 16, 128, step=16)
            hp.Fixed("shape", "constant")
            activation = hp.Choice("activation", ["relu", "tanh"])
            for name, value in (
                ("batch_norm", False),
                ("residual", False),
                ("penalty", "none"),
                ("dropout", 0.0),
                ("optimizer", "adam"),
            ):
                hp.Fixed(name, value)
            lr = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
            hp.Fixed("lr_schedule", "constant")
            hp.Choice("batch_size", [32, 64])
            model = keras.Sequential([keras.Input((20,))])
            for _ in range(layers):
                model.add(keras.layers.Dense(units, activation=activation))
            model.add(keras.layers.Dense(1, activation="sigmoid"))
            model.compile(optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.get("batch_size"), **kwargs)

    tuner = kt.RandomSearch(
        Model(),
        objective="val_accuracy",
        max_trials=trials,
        seed=42,
        directory=directory,
        project_name="plain",
        overwrite=True,
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, verbose=0)
    trials_run = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    return [t.hyperparameters.values for t in trials_run], float("nan")


def through_tunewidgets(directory: str, trials: int, epochs: int, views: bool) -> tuple[list[dict], float]:
    import tunewidgets as tw
    from tunewidgets.engine import Search

    if views:
        from tunewidgets.plots import LiveViews

    spec = tw.Spec.from_file(ROOT / "examples" / "specs" / "quickstart.json").replace(
        **{"tuner.max_trials": trials, "training.epochs": epochs}
    )
    live = LiveViews() if views else None  # on screen before Run is pressed, as in the dashboard
    t0 = time.perf_counter()
    search = Search(spec, directory)
    if live is not None:
        live.reset(search)
        search.events.subscribe(live.on_event)
    results = search.run()
    return [t.hyperparameters for t in results.record.ordered()], time.perf_counter() - t0


def one(variant: str, trials: int, epochs: int, launched: float) -> None:
    """Runs one variant in this process and prints a JSON line with the seconds since it was launched."""
    with tempfile.TemporaryDirectory() as d:
        if variant == VARIANTS[0]:
            configs, from_run = plain_keras_tuner(d, trials, epochs)
        else:
            configs, from_run = through_tunewidgets(d, trials, epochs, views=variant == VARIANTS[2])
        seconds = time.time() - launched
    print(json.dumps({"seconds": seconds, "from_run": from_run, "configs": configs}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.trials, args.epochs, args.launched)
        return
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    from_run: dict[str, list[float]] = {v: [] for v in VARIANTS}  # tunewidgets: from Search() to results
    configs: dict[str, list] = {}
    for rep in range(args.reps):
        order = VARIANTS[rep % 3 :] + VARIANTS[: rep % 3]
        for variant in order:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    variant,
                    "--trials",
                    str(args.trials),
                    "--epochs",
                    str(args.epochs),
                    "--launched",
                    repr(time.time()),
                ],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            times[variant].append(result["seconds"])
            from_run[variant].append(result["from_run"])
            configs.setdefault(variant, result["configs"])
            print(f"rep {rep + 1}: {variant:26s} {result['seconds']:7.2f} s", flush=True)
    same = configs[VARIANTS[0]] == configs[VARIANTS[1]] == configs[VARIANTS[2]]
    base = statistics.median(times[VARIANTS[0]])
    print(
        f"\n{args.trials} trials x {args.epochs} epochs of the quickstart search, median of {args.reps} fresh "
        f"processes each, on {platform.node()} ({os.cpu_count()} cpus, {platform.machine()})"
    )
    print(f"all variants trained the same {args.trials} hyperparameter sets: {'yes' if same else 'NO'}")
    report: dict = {
        "trials": args.trials,
        "epochs": args.epochs,
        "reps": args.reps,
        "same_trials": same,
        "cpus": os.cpu_count(),
    }
    for variant, values in times.items():
        median = statistics.median(values)
        report[variant] = {"median_s": median, "ratio_vs_plain": median / base, "runs_s": values}
        print(f"{variant:26s} {median:7.2f} s   ratio vs plain keras-tuner {median / base:.3f}")
    # the views are built and on screen before Run is pressed: compare from Run to the results
    with_views = statistics.median(from_run[VARIANTS[2]]) / statistics.median(from_run[VARIANTS[1]])
    report["views_vs_none"] = with_views
    report["from_run_s"] = {v: from_run[v] for v in VARIANTS[1:]}
    print(
        f"{'live views vs none':26s}            ratio {with_views:.3f} (from Run to results: "
        f"{statistics.median(from_run[VARIANTS[2]]):.2f} s vs {statistics.median(from_run[VARIANTS[1]]):.2f} s)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if not same:
        sys.exit("the variants trained different hyperparameters; the comparison is not fair")


if __name__ == "__main__":
    main()
