"""The built-in data sets: generated (synthetic) or shipped inside scikit-learn; nothing is downloaded."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import Issue
from ..spec import DataSpec
from ..spec.datasets import BUILTIN_SHAPES, informative_features
from .value_checks import split_issue

#: TensorFlow Playground's other two-dimensional sets (moons and circles come from scikit-learn)
PLAYGROUND = {
    "xor": "four squares, opposite corners alike (exclusive or)",
    "gaussian": "two Gaussian clouds",
    "spiral": "two interleaved spirals",
}

#: Rows of the sets that ship with scikit-learn (the synthetic ones have ``data.samples``).
SHIPPED_ROWS = {"iris": 150, "wine": 178, "breast_cancer": 569, "digits": 1797, "diabetes": 442}


def builtin_rows(spec: DataSpec) -> tuple[int, int | None]:
    """Rows and classes (None for regression) of a built-in set, known without generating or loading it."""
    rows = SHIPPED_ROWS.get(spec.name, spec.samples)
    if spec.name == "classification":
        return rows, spec.classes
    if spec.name == "regression":
        return rows, None
    return rows, BUILTIN_SHAPES[spec.name][1] if spec.name in BUILTIN_SHAPES else None


def builtin_issues(spec: DataSpec) -> list[Issue]:
    """A built-in set's split, counted without generating or loading the set."""
    rows, classes = builtin_rows(spec)
    issue = split_issue(rows, classes if spec.task != "regression" else None, spec)
    return [issue] if issue else []


def playground(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of one of :data:`PLAYGROUND`'s sets, two classes of equal size (as TensorFlow Playground
    draws them); ``noise`` is the spread (standard deviation) of the noise added to each coordinate."""
    rng = np.random.default_rng(seed)
    half = n // 2
    y = np.concatenate([np.zeros(n - half, dtype=np.int64), np.ones(half, dtype=np.int64)])
    if name == "xor":
        x = rng.uniform(-1.0, 1.0, size=(n, 2))
        x += np.sign(x) * 0.05  # a small gap along the axes, as in Playground
        y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    elif name == "gaussian":
        centres = np.where(y[:, None] == 1, 1.0, -1.0)
        x = centres + rng.normal(0.0, 0.5, size=(n, 2))
    else:  # spiral
        counts = (n - half, half)
        parts = []
        for c, count in enumerate(counts):
            i = np.arange(count) / max(1, count)
            radius = i * 1.0
            angle = 1.75 * i * 2 * np.pi + c * np.pi
            parts.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        x = np.concatenate(parts)
    x = x + rng.normal(0.0, noise, size=x.shape) if noise > 0 else x
    order = rng.permutation(n)
    return x[order], y[order]


def builtin(spec: DataSpec) -> tuple[Any, np.ndarray, list[str], list[str] | None, bool, str]:
    """Returns ``(X, y, feature_names, class_names, image, description)``."""
    from sklearn import datasets as sk

    n, seed, noise = spec.samples, spec.seed, spec.noise
    name = spec.name
    if name == "classification":
        informative = informative_features(spec.classes)
        x, y = sk.make_classification(
            n_samples=n,
            n_features=spec.features,
            n_informative=informative,
            n_redundant=min(2, spec.features - informative),
            n_classes=spec.classes,
            flip_y=noise,
            random_state=seed,
        )
        return (
            x,
            y,
            [f"x{i}" for i in range(spec.features)],
            [str(c) for c in range(spec.classes)],
            False,
            (f"make_classification: {n} samples, {spec.features} features, {spec.classes} classes"),
        )
    if name == "moons":
        x, y = sk.make_moons(n_samples=n, noise=noise, random_state=seed)
        return x, y, ["x0", "x1"], ["0", "1"], False, f"two interleaving half circles, {n} samples"
    if name == "circles":
        x, y = sk.make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed)
        return x, y, ["x0", "x1"], ["0", "1"], False, f"a circle inside a circle, {n} samples"
    if name in PLAYGROUND:
        x, y = playground(name, n, noise, seed)
        return x, y, ["x0", "x1"], ["0", "1"], False, f"{PLAYGROUND[name]}, {n} samples"
    if name == "regression":
        x, y = sk.make_regression(
            n_samples=n, n_features=spec.features, n_informative=min(10, spec.features), noise=noise, random_state=seed
        )
        return x, y, [f"x{i}" for i in range(spec.features)], None, False, f"make_regression: {n} samples"
    loader = {
        "iris": sk.load_iris,
        "wine": sk.load_wine,
        "breast_cancer": sk.load_breast_cancer,
        "digits": sk.load_digits,
        "diabetes": sk.load_diabetes,
    }[name]
    bunch = loader()
    x, y = bunch.data, bunch.target
    if name == "digits":
        x = (bunch.images / 16.0).reshape(-1, 8, 8, 1)
        return x, y, [f"p{i}" for i in range(64)], [str(c) for c in range(10)], True, "8x8 images of handwritten digits"
    classes = [str(c) for c in bunch.target_names] if name != "diabetes" else None
    return x, y, list(bunch.feature_names), classes, False, f"scikit-learn's {name} data set, {len(x)} rows"
