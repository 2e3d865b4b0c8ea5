"""The data section: where the examples come from and how they are split and scaled."""

from __future__ import annotations

from dataclasses import dataclass

from .fields import BUILTIN_DATASETS, SYNTHETIC_DATASETS, TASKS, setting


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
        help="A built-in data set. The synthetic ones are generated (moons, circles, xor, gaussian and spiral "
        "are TensorFlow Playground's two-input sets, drawn as a decision boundary); iris, wine, "
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
