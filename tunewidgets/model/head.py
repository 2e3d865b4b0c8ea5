"""The output layer and loss a task needs (no Keras: shared by the model and the code written for students)."""

from __future__ import annotations


def output_head(task: str, n_classes: int | None) -> tuple[int, str | None, str, list[str]]:
    """``(units, activation, loss, metrics)`` of a network's output layer for a task."""
    if task == "binary":
        return 1, "sigmoid", "binary_crossentropy", ["accuracy"]
    if task == "multiclass":
        return int(n_classes or 2), "softmax", "sparse_categorical_crossentropy", ["accuracy"]
    return 1, None, "mse", ["mae"]
