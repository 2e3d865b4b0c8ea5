"""The search strategy: the tuner, its budget, the objective, the seed, parallel trials."""

from __future__ import annotations

from dataclasses import dataclass

from .fields import ALGORITHMS, OBJECTIVES, setting


@dataclass(frozen=True)
class TunerSpec:
    algorithm: str = setting(
        "random",
        "str",
        options=ALGORITHMS,
        label="Search strategy",
        help="random: sample at random; bayesian: learn from past trials which "
        "values look promising (a Gaussian process); tpe: the same idea with Optuna's tree-structured "
        "Parzen estimator, which handles choices and knobs that only apply sometimes well; hyperband: "
        "train many briefly and keep the best longer; grid: try every combination.",
    )
    max_trials: int = setting(
        10,
        "int",
        lo=1,
        hi=100_000,
        active_when=("algorithm", ("random", "bayesian", "tpe", "grid")),
        label="Trials",
        help="How many hyperparameter combinations to try.",
    )
    executions_per_trial: int = setting(
        1,
        "int",
        lo=1,
        hi=100,
        label="Runs per trial",
        help="Train each combination this many times from scratch and average, so a lucky start does not decide.",
    )
    objective: str = setting(
        "auto",
        "str",
        options=OBJECTIVES,
        label="Objective",
        help="The metric that decides which trial is best. 'auto': val_accuracy "
        "for classification, val_loss for regression.",
    )
    direction: str = setting(
        "auto",
        "str",
        options=("auto", "max", "min"),
        label="Direction",
        help="Whether the objective should go up (max) or down (min); 'auto' knows it for accuracy and losses.",
    )
    seed: int | None = setting(
        None,
        "int",
        lo=0,
        hi=2**31 - 1,
        nullable=True,
        label="Search seed",
        help="Repeats a search: the same seed, settings and machine give the same trials and the same scores, "
        "with one worker or several (Bayesian search with several workers excepted). Another computer or a "
        "GPU can differ in the last digits. Empty: a new search each time.",
    )
    max_epochs: int = setting(
        10,
        "int",
        lo=1,
        hi=10_000,
        active_when=("algorithm", ("hyperband",)),
        label="Hyperband max epochs",
        help="The longest any model is trained.",
    )
    factor: int = setting(
        3,
        "int",
        lo=2,
        hi=100,
        active_when=("algorithm", ("hyperband",)),
        label="Hyperband factor",
        help="Keep the best 1/factor of the models at each round.",
    )
    hyperband_iterations: int = setting(
        1,
        "int",
        lo=1,
        hi=100,
        active_when=("algorithm", ("hyperband",)),
        label="Hyperband iterations",
        help="How many times to run the whole Hyperband schedule.",
    )
    initial_points: int | None = setting(
        None,
        "int",
        lo=1,
        hi=10_000,
        nullable=True,
        active_when=("algorithm", ("bayesian", "tpe")),
        label="Random starts",
        help="Bayesian and TPE search: random trials before the model of the objective "
        "takes over. Empty: a third of the trials, at most three per searched knob.",
    )
    pruning: str = setting(
        "none",
        "str",
        options=("none", "median", "asha"),
        active_when=("algorithm", ("random", "bayesian", "tpe", "grid")),
        label="Stop hopeless trials",
        help="Pruning: end a trial early when it is clearly behind. median: when its best score so far is "
        "worse than the median of the finished trials at the same epoch; asha: keep only the best "
        "1/factor of the trials at epochs min, min x factor, ... It saves the epochs of hopeless trials; "
        "the risk is stopping a slow starter that would have caught up.",
    )
    pruning_min_epochs: int = setting(
        2,
        "int",
        lo=1,
        hi=10_000,
        active_when=("pruning", ("median", "asha")),
        label="Epochs before pruning",
        help="Every trial trains at least this many epochs before it can be stopped.",
    )
    pruning_factor: int = setting(
        3,
        "int",
        lo=2,
        hi=100,
        active_when=("pruning", ("asha",)),
        label="Pruning factor",
        help="asha: at each checkpoint only the best 1/factor of the trials go on (3: a third).",
    )
    folds: int | None = setting(
        None,
        "int",
        lo=2,
        hi=20,
        nullable=True,
        active_when=("algorithm", ("random", "bayesian", "tpe", "grid")),
        label="Cross-validation folds",
        help="Score each trial by the mean over this many folds of the training rows (5 is usual), so one "
        "lucky or unlucky validation split does not decide; each trial trains this many models. Empty: one "
        "validation split.",
    )
    target: float | None = setting(
        None,
        "float",
        nullable=True,
        label="Target score",
        help="End the search as soon as a trial reaches this score of the objective (0.95 for 95% "
        "accuracy). Empty: run every trial.",
    )
    max_consecutive_failed_trials: int = setting(
        3,
        "int",
        lo=1,
        hi=10_000,
        label="Failures before stopping",
        help="Stop the search after this many failed trials in a row.",
    )
    fuse: int = setting(
        1,
        "int",
        lo=1,
        hi=64,
        label="Trials trained together",
        help="Train this many trials at once in one computation: they share each batch of data, and each "
        "step is one call for all of them, so small models spend their time learning rather than on the "
        "fixed costs of a trial (tracing, dispatching each step). Trials that train with the same batch "
        "size and epochs are grouped; each keeps its own model, optimizer and results. TensorFlow and JAX.",
    )
    workers: int = setting(
        1,
        "int",
        lo=1,
        hi=64,
        label="Parallel trials",
        help="How many trials train at the same time, each in its own process. Small models on a "
        "machine with several cores finish sooner with 2 or more; each worker needs its own memory.",
    )
