"""The built-in data sets: generated (synthetic) or shipped inside scikit-learn; nothing is downloaded."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec import DataSpec
from ..spec.datasets import informative_features


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
