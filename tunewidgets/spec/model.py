"""The search spec: plain, typed data for everything a user tunes.

Each section is a frozen dataclass. Every field carries a :class:`FieldInfo` in
its metadata: its kind, bounds, options, when it applies and a help text. That
one description drives JSON parsing, validation, the keras-tuner search space
and the dashboard's controls.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .knobs import Choice, Fixed, Knob, Range, choice

SPEC_VERSION = 1


@dataclass(frozen=True)
class FieldInfo:
    """What one spec field holds and how it may be set.

    Attributes:
        kind: ``"int"``, ``"float"``, ``"str"``, ``"bool"`` or ``"strlist"``.
        tunable: whether the field is a knob (fixed / range / choices) rather
            than a plain setting.
        options: the allowed values of a ``str`` field.
        lo, hi: hard bounds of a numeric field; ``lo_open``/``hi_open`` exclude them.
        nullable: whether ``null`` is allowed (a plain setting only).
        active_when: ``(sibling, values)``: the field applies only when the
            sibling field of the same section takes one of ``values``.
        label: a short name for the dashboard.
        help: one or two sentences for students.
    """

    kind: str
    tunable: bool = False
    options: tuple[Any, ...] | None = None
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    nullable: bool = False
    active_when: tuple[str, tuple[Any, ...]] | None = None
    label: str = ""
    help: str = ""


def _field(default: Any, info: FieldInfo) -> Any:
    return field(default=default, metadata={"info": info})


def knob(default: Knob, kind: str, **kw: Any) -> Any:
    return _field(default, FieldInfo(kind, tunable=True, **kw))


def setting(default: Any, kind: str, **kw: Any) -> Any:
    return _field(default, FieldInfo(kind, **kw))


BUILTIN_DATASETS = (
    "classification",
    "moons",
    "circles",
    "regression",
    "iris",
    "wine",
    "breast_cancer",
    "digits",
    "diabetes",
)
SYNTHETIC_DATASETS = ("classification", "moons", "circles", "regression")
TASKS = ("auto", "binary", "multiclass", "regression")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "leaky_relu")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "exponential", "cosine", "step")
PENALTIES = ("none", "l1", "l2", "l1_l2")
ALGORITHMS = ("random", "bayesian", "hyperband", "grid")
OBJECTIVES = ("auto", "val_accuracy", "val_loss", "accuracy", "loss", "val_mae", "mae")


@dataclass(frozen=True)
class DataSpec:
    source: str = setting(
        "builtin",
        "str",
        options=("builtin", "csv", "dataframe"),
        label="Source",
        help="Where the data comes from: a data set that ships with tunewidgets, "
        "a CSV file, or a DataFrame / arrays passed in Python.",
    )
    name: str = setting(
        "classification",
        "str",
        options=BUILTIN_DATASETS,
        active_when=("source", ("builtin",)),
        label="Data set",
        help="A built-in data set. The synthetic ones are generated; iris, wine, "
        "breast_cancer, digits and diabetes ship with scikit-learn.",
    )
    path: str | None = setting(
        None,
        "str",
        nullable=True,
        active_when=("source", ("csv",)),
        label="CSV file",
        help="Path of the CSV file; one row per example.",
    )
    target: str | None = setting(
        None,
        "str",
        nullable=True,
        active_when=("source", ("csv", "dataframe")),
        label="Target column",
        help="The column the network learns to predict.",
    )
    columns: tuple[str, ...] | None = setting(
        None,
        "strlist",
        nullable=True,
        active_when=("source", ("csv", "dataframe")),
        label="Feature columns",
        help="Columns used as inputs; empty means every column except the target.",
    )
    task: str = setting(
        "auto",
        "str",
        options=TASKS,
        label="Task",
        help="binary (two classes), multiclass (several classes) or regression "
        "(a number). 'auto' infers it from the target.",
    )
    samples: int = setting(
        1000,
        "int",
        lo=20,
        hi=1_000_000,
        active_when=("name", SYNTHETIC_DATASETS),
        label="Samples",
        help="How many examples to generate (synthetic data sets only).",
    )
    features: int = setting(
        20,
        "int",
        lo=2,
        hi=10_000,
        active_when=("name", ("classification", "regression")),
        label="Features",
        help="How many input columns to generate (classification and regression sets).",
    )
    classes: int = setting(
        2,
        "int",
        lo=2,
        hi=100,
        active_when=("name", ("classification",)),
        label="Classes",
        help="How many classes to generate (classification set only).",
    )
    noise: float = setting(
        0.0,
        "float",
        lo=0.0,
        hi=100.0,
        active_when=("name", SYNTHETIC_DATASETS),
        label="Noise",
        help="Noise added to the synthetic data: for classification the fraction "
        "of labels flipped at random, otherwise the spread of the noise.",
    )
    validation_split: float = setting(
        0.2,
        "float",
        lo=0.0,
        hi=0.9,
        lo_open=True,
        label="Validation split",
        help="Fraction of the training data held back to score each trial.",
    )
    test_split: float = setting(
        0.2,
        "float",
        lo=0.0,
        hi=0.9,
        label="Test split",
        help="Fraction of all data kept aside and only used to check the best model at the end.",
    )
    scaling: str = setting(
        "standard",
        "str",
        options=("standard", "minmax", "none"),
        label="Feature scaling",
        help="standard: zero mean, unit variance; minmax: squeeze into [0, 1]. "
        "Networks learn much better on scaled inputs.",
    )
    seed: int = setting(
        42,
        "int",
        lo=0,
        hi=2**31 - 1,
        label="Data seed",
        help="Seed for generating and splitting the data, so every run sees the same split.",
    )


@dataclass(frozen=True)
class ModelSpec:
    architecture: str = setting(
        "dense",
        "str",
        options=("dense", "cnn"),
        label="Architecture",
        help="dense: fully connected layers; cnn: convolution blocks for images (digits), then dense layers.",
    )
    layers: Knob = knob(
        Range(1, 3),
        "int",
        lo=0,
        hi=32,
        label="Hidden layers",
        help="Number of hidden dense layers. More layers can learn more complex patterns but also overfit more easily.",
    )
    units: Knob = knob(
        Range(16, 128, 16),
        "int",
        lo=1,
        hi=8192,
        label="Units",
        help="Neurons in each hidden layer (in the first one for a funnel shape).",
    )
    shape: Knob = knob(
        Fixed("constant"),
        "str",
        options=("constant", "funnel", "free"),
        label="Network shape",
        help="constant: every layer has the same width; funnel: each layer has "
        "half the units of the one before; free: every layer's width is tuned on its own.",
    )
    activation: Knob = knob(
        choice("relu", "tanh"),
        "str",
        options=ACTIVATIONS,
        label="Activation",
        help="The non-linearity after each hidden layer. relu is a good default.",
    )
    batch_norm: Knob = knob(
        Fixed(False),
        "bool",
        label="Batch normalization",
        help="Normalize each layer's outputs; often lets you use a larger learning rate.",
    )
    residual: Knob = knob(
        Fixed(False),
        "bool",
        label="Skip connections",
        help="Add each layer's input to its output (residual connections), which helps deeper networks train.",
    )
    conv_blocks: Knob = knob(
        Range(1, 2),
        "int",
        lo=1,
        hi=6,
        active_when=("architecture", ("cnn",)),
        label="Conv blocks",
        help="Convolution blocks before the dense layers; each doubles the filters.",
    )
    filters: Knob = knob(
        choice(16, 32),
        "int",
        lo=1,
        hi=1024,
        active_when=("architecture", ("cnn",)),
        label="Filters",
        help="Filters in the first convolution block.",
    )
    kernel_size: Knob = knob(
        Fixed(3),
        "int",
        lo=1,
        hi=7,
        active_when=("architecture", ("cnn",)),
        label="Kernel size",
        help="Width of the square convolution window, in pixels.",
    )


@dataclass(frozen=True)
class RegularizationSpec:
    penalty: Knob = knob(
        Fixed("none"),
        "str",
        options=PENALTIES,
        label="Weight penalty",
        help="L1 pushes weights to exactly zero, L2 keeps them small; both fight overfitting.",
    )
    strength: Knob = knob(
        Range(1e-5, 1e-2, log=True),
        "float",
        lo=0.0,
        hi=10.0,
        lo_open=True,
        active_when=("penalty", ("l1", "l2", "l1_l2")),
        label="Penalty strength",
        help="How strongly large weights are penalized. Try a log range such as 1e-5 to 1e-2.",
    )
    dropout: Knob = knob(
        Fixed(0.0),
        "float",
        lo=0.0,
        hi=1.0,
        hi_open=True,
        label="Dropout",
        help="Fraction of units switched off at random during training, so the network cannot rely on any single one.",
    )


@dataclass(frozen=True)
class OptimizerSpec:
    name: Knob = knob(
        Fixed("adam"),
        "str",
        options=OPTIMIZERS,
        label="Optimizer",
        help="The rule that updates the weights. Adam is a robust default; SGD with momentum is the classic.",
    )
    learning_rate: Knob = knob(
        Range(1e-4, 1e-2, log=True),
        "float",
        lo=0.0,
        hi=10.0,
        lo_open=True,
        label="Learning rate",
        help="Step size of each update. Too large diverges, too small crawls: search it on a log scale.",
    )
    momentum: Knob = knob(
        Fixed(0.9),
        "float",
        lo=0.0,
        hi=1.0,
        hi_open=True,
        active_when=("name", ("sgd",)),
        label="Momentum",
        help="SGD only: how much of the previous step is kept, which smooths and speeds up descent.",
    )
    nesterov: Knob = knob(
        Fixed(False),
        "bool",
        active_when=("name", ("sgd",)),
        label="Nesterov",
        help="SGD only: look ahead along the momentum before computing the gradient.",
    )
    weight_decay: Knob = knob(
        Fixed(1e-4),
        "float",
        lo=0.0,
        hi=1.0,
        active_when=("name", ("adamw",)),
        label="Weight decay",
        help="AdamW only: shrink the weights a little at every step.",
    )
    schedule: Knob = knob(
        Fixed("constant"),
        "str",
        options=SCHEDULES,
        label="Learning-rate schedule",
        help="constant, or decay the learning rate as training goes on: "
        "exponential (every epoch), step (every few epochs) or cosine (smoothly to zero).",
    )
    decay_rate: Knob = knob(
        Fixed(0.9),
        "float",
        lo=0.0,
        hi=1.0,
        lo_open=True,
        active_when=("schedule", ("exponential", "step")),
        label="Decay rate",
        help="Factor the learning rate is multiplied by at each decay.",
    )
    decay_epochs: Knob = knob(
        Fixed(5),
        "int",
        lo=1,
        hi=10_000,
        active_when=("schedule", ("step",)),
        label="Decay every (epochs)",
        help="Step schedule: epochs between two decays.",
    )


@dataclass(frozen=True)
class TrainingSpec:
    batch_size: Knob = knob(
        choice(32, 64),
        "int",
        lo=1,
        hi=65_536,
        label="Batch size",
        help="Examples per weight update. Small batches are noisy but can generalize better.",
    )
    epochs: int = setting(
        10,
        "int",
        lo=1,
        hi=10_000,
        label="Epochs",
        help="Passes over the training data in each trial.",
    )
    early_stopping: bool = setting(
        False,
        "bool",
        label="Early stopping",
        help="Stop a trial when the objective has not improved for a few epochs.",
    )
    patience: int = setting(
        3,
        "int",
        lo=1,
        hi=10_000,
        active_when=("early_stopping", (True,)),
        label="Patience",
        help="Epochs without improvement before early stopping ends the trial.",
    )
    max_parameters: int | None = setting(
        None,
        "int",
        lo=1,
        hi=10**12,
        nullable=True,
        label="Largest model (weights)",
        help="The size limit: a search whose largest model has more weights than this is refused before "
        "it trains, so it cannot fill the memory or the disk. Empty: a limit sized for this machine's memory "
        "(about 33 million weights on a 2 GB Binder).",
    )


@dataclass(frozen=True)
class TunerSpec:
    algorithm: str = setting(
        "random",
        "str",
        options=ALGORITHMS,
        label="Search strategy",
        help="random: sample at random; bayesian: learn from past trials which "
        "values look promising; hyperband: train many briefly and keep the best "
        "longer; grid: try every combination.",
    )
    max_trials: int = setting(
        10,
        "int",
        lo=1,
        hi=100_000,
        active_when=("algorithm", ("random", "bayesian", "grid")),
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
        active_when=("algorithm", ("bayesian",)),
        label="Random starts",
        help="Bayesian search: random trials before the model of the objective "
        "takes over. Empty: three per hyperparameter.",
    )
    max_consecutive_failed_trials: int = setting(
        3,
        "int",
        lo=1,
        hi=10_000,
        label="Failures before stopping",
        help="Stop the search after this many failed trials in a row.",
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


SECTIONS: dict[str, type] = {
    "data": DataSpec,
    "model": ModelSpec,
    "regularization": RegularizationSpec,
    "optimizer": OptimizerSpec,
    "training": TrainingSpec,
    "tuner": TunerSpec,
}


@dataclass(frozen=True)
class Spec:
    """A complete search: data, network, regularization, optimizer, training, tuner."""

    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    regularization: RegularizationSpec = field(default_factory=RegularizationSpec)
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    tuner: TunerSpec = field(default_factory=TunerSpec)
    name: str = "search"
    version: int = SPEC_VERSION

    def replace(self, **changes: Any) -> Spec:
        """A copy with fields replaced; dotted names reach into sections.

        ``spec.replace(**{"tuner.max_trials": 3, "training.epochs": 2})``
        """
        sections: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for key, value in changes.items():
            if "." in key:
                section, name = key.split(".", 1)
                sections.setdefault(section, {})[name] = value
            else:
                top[key] = value
        for section, fields in sections.items():
            top[section] = dataclasses.replace(getattr(self, section), **fields)
        return dataclasses.replace(self, **top)

    def to_dict(self) -> dict[str, Any]:
        from .io import spec_to_dict

        return spec_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        from .io import spec_to_json

        return spec_to_json(self, indent=indent)

    @classmethod
    def from_dict(cls, raw: Any) -> Spec:
        from .io import spec_from_dict

        return spec_from_dict(raw)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        from .io import spec_from_json

        return spec_from_json(text)

    @classmethod
    def from_file(cls, path: Any) -> Spec:
        from .io import read_spec

        return read_spec(path)

    def save(self, path: Any) -> None:
        from .io import write_spec

        write_spec(self, path)

    def validate(self) -> list:
        """Every problem of this spec, as :class:`Issue` s (empty when valid)."""
        from .validate import validate

        return validate(self)

    def check(self) -> Spec:
        """Raises :class:`SpecError` listing every problem; returns the spec when valid."""
        from .validate import check

        return check(self)


def field_info(section: str, name: str) -> FieldInfo:
    """The :class:`FieldInfo` of ``section.name``."""
    for f in dataclasses.fields(SECTIONS[section]):
        if f.name == name:
            return f.metadata["info"]
    raise KeyError(f"{section}.{name}")


def section_fields(section: str) -> list[tuple[str, FieldInfo]]:
    """``(name, info)`` for every field of a section, in declaration order."""
    return [(f.name, f.metadata["info"]) for f in dataclasses.fields(SECTIONS[section])]


def is_active(spec: Spec, section: str, name: str) -> bool:
    """Whether ``section.name`` can matter for this spec (its condition can hold)."""
    info = field_info(section, name)
    if info.active_when is None:
        return True
    parent, values = info.active_when
    sec = getattr(spec, section)
    raw = getattr(sec, parent)
    if section == "data" and parent == "name" and spec.data.source != "builtin":
        return False
    if not is_active(spec, section, parent):
        return False
    possible = raw.values() if isinstance(raw, (Fixed, Range, Choice)) else (raw,)
    return any(v in values for v in possible)
