"""A classifier's decision boundary over the plane of its two inputs. Imports Keras: workers only.

For classification data with two input features (moons, circles, xor, gaussian, spiral, a CSV file
with two inputs), the model's prediction at every point of a grid that covers the training and
validation rows: the probability of the second class for two classes, the predicted class for more.
Computed in the worker at the end of each epoch with one call of the model (about 1,000 points), so
the kernel draws it without TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..data import Dataset

#: Grid points along each axis.
GRID = 32
#: Room around the data, as a share of its extent on each axis.
MARGIN = 0.1


def applies(dataset: Dataset) -> bool:
    """Classification on exactly two numeric inputs."""
    return dataset.task in ("binary", "multiclass") and tuple(dataset.input_shape) == (2,)


class BoundaryGrid:
    """The grid over a data set's plane and the model's predictions on it."""

    def __init__(self, dataset: Dataset, size: int = GRID):
        x = np.concatenate([dataset.x_train, dataset.x_val]).astype("float32")
        lo, hi = x.min(axis=0), x.max(axis=0)
        pad = np.maximum(hi - lo, 1e-6) * MARGIN
        lo, hi = lo - pad, hi + pad
        self.x_range = (float(lo[0]), float(hi[0]))
        self.y_range = (float(lo[1]), float(hi[1]))
        xs = np.linspace(lo[0], hi[0], size, dtype="float32")
        ys = np.linspace(lo[1], hi[1], size, dtype="float32")
        grid_x, grid_y = np.meshgrid(xs, ys)  # rows follow y, columns x, as a heatmap draws them
        self.points = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
        self.size = size
        self.shows = "probability" if dataset.task == "binary" else "class"

    def values(self, model: Any) -> list[list[float]]:
        """The model's prediction at each grid point, row by row (y), rounded for the event log."""
        import keras

        predicted = keras.ops.convert_to_numpy(model(self.points, training=False))
        if self.shows == "probability":
            z = np.round(predicted[:, 0].astype("float64"), 3)
        else:
            z = np.argmax(predicted, axis=1).astype("float64")
        return z.reshape(self.size, self.size).tolist()


__all__ = ["GRID", "BoundaryGrid", "applies"]
