"""Your own model: the seed's ``build_model(hp)`` search (make_classification, units and learning rate tuned,
RandomSearch, 10 trials x 10 epochs, val_accuracy) run as plain keras-tuner (``tuner.search``) and through
tunewidgets: ``tw.Search(spec, folder, hypermodel=build_model, data=...)`` one trial at a time and fused, and the
same tuner given to ``tw.Search.from_tuner(tuner, x, y, ...)`` with what ``tuner.search`` took, one at a time and
fused. Each in a fresh process (clock from the launch, imports and worker start included), alternated, ``--reps``
times; medians, their ratios to plain keras-tuner's, each variant's best validation accuracy, and whether
``from_tuner`` tried plain keras-tuner's trials (the same tuner and seed: the same values, trial by trial) and
found the same best (training's own randomness can order two close trials either way).
The goal: tunewidgets at most 0.6x plain keras-tuner's wall time, with a best validation accuracy as good.

    python bench/own_model.py
    python bench/own_model.py --reps 3 --json bench/results/own_model.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("plain", "tunewidgets", "tunewidgets-fuse5", "from_tuner", "from_tuner-fuse5")


def build_model(hp):  # noqa: ANN001, ANN201 - the seed's function, as a keras-tuner user writes it
    import keras

    model = keras.Sequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def one(variant: str, trials: int, seed: int) -> dict:
    """One whole search; returns its best validation accuracy and hyperparameters."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    x, y = make_classification(n_samples=1000, n_features=20, random_state=42)
    x_train, _, y_train, _ = train_test_split(x.astype("float32"), y, test_size=0.2, random_state=42)
    with tempfile.TemporaryDirectory() as d:
        if variant == "plain" or variant.startswith("from_tuner"):
            import keras_tuner as kt

            tuner = kt.RandomSearch(
                build_model, objective="val_accuracy", max_trials=trials, seed=seed, directory=d, project_name="p"
            )
            if variant == "plain":
                tuner.search(x_train, y_train, epochs=10, validation_split=0.2, verbose=0)
                best = tuner.oracle.get_best_trials(1)[0]
                tried = [tuner.oracle.trials[i].hyperparameters.values for i in sorted(tuner.oracle.trials)]
                return {"best": float(best.score), "values": best.hyperparameters.values, "tried": tried}
            import tunewidgets as tw

            results = tw.Search.from_tuner(
                tuner, x_train, y_train, epochs=10, validation_split=0.2, fuse=5 if variant.endswith("fuse5") else 1
            ).run()
            assert len(results.record.completed()) == trials
            tried = [dict(t.hyperparameters) for t in results.record.ordered()]
            return {
                "best": float(results.best_score),
                "values": dict(results.best_trial.hyperparameters),
                "tried": tried,
            }
        import tunewidgets as tw

        spec = tw.Spec().replace(
            **{
                "tuner.max_trials": trials,
                "training.epochs": 10,
                "training.batch_size": 32,  # keras' default, as the plain search trains
                "tuner.objective": "val_accuracy",
                "tuner.seed": seed,
                "tuner.fuse": 5 if variant.endswith("fuse5") else 1,
            }
        )
        results = tw.Search(
            spec, Path(d) / "s", hypermodel=build_model, data=tw.Arrays(x_train, y_train, validation_split=0.2)
        ).run()
        assert len(results.record.completed()) == trials
        return {"best": float(results.best_score), "values": dict(results.best_trial.hyperparameters), "tried": []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--json")
    parser.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.trials, args.seed)))
        return
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    best: dict[str, list[float]] = {v: [] for v in VARIANTS}
    values: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    tried: dict[str, list[list[dict]]] = {v: [] for v in VARIANTS}
    for rep in range(args.reps):
        order = VARIANTS[rep % len(VARIANTS) :] + VARIANTS[: rep % len(VARIANTS)]
        for variant in order:
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, __file__, "--one", variant, "--trials", str(args.trials), "--seed", str(rep + 1)],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TUNEWIDGETS_KEEP_WARM": "0"},
            )
            times[variant].append(time.perf_counter() - t0)
            answer = json.loads(out.stdout.strip().splitlines()[-1])
            best[variant].append(answer["best"])
            values[variant].append(answer["values"])
            tried[variant].append(answer["tried"])
            print(
                f"rep {rep + 1}: {variant:<18} {times[variant][-1]:6.2f} s  best val_accuracy {best[variant][-1]:.4f}"
            )
    plain = statistics.median(times["plain"])
    summary = {}
    print(f"{args.trials} trials x 10 epochs, median of {args.reps} fresh processes each (seed = rep)")
    for variant in VARIANTS:
        median = statistics.median(times[variant])
        summary[variant] = {"median_s": median, "ratio": median / plain, "best": statistics.median(best[variant])}
        print(
            f"{variant:<18} {median:6.2f} s  {median / plain:5.3f}x plain  "
            f"best val_accuracy median {summary[variant]['best']:.4f}"
        )
    for variant in ("from_tuner", "from_tuner-fuse5"):
        same_trials = [ours == theirs for ours, theirs in zip(tried[variant], tried["plain"], strict=True)]
        same_best = [ours == theirs for ours, theirs in zip(values[variant], values["plain"], strict=True)]
        summary[variant]["same_trials_as_plain"] = same_trials
        summary[variant]["same_best_as_plain"] = same_best
        print(f"{variant:<18} seed by seed: plain's trials {same_trials}, plain's best trial {same_best}")
    if args.json:
        out = {"times": times, "best": best, "values": values, "tried": tried, "summary": summary}
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
