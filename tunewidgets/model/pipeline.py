"""Input pipelines prepared once per worker and reused by every trial (TensorFlow backend).

Inputs and targets are arrays, or nests of them (a list or dict of arrays: a model with several inputs).

Given NumPy arrays, ``Model.fit`` builds a new ``tf.data`` pipeline at each call and a new
iterator over it at every epoch, for the training and the validation data alike. For the
small models of a classroom search that is a large share of a trial: measured on the
quickstart's model (800 rows, 10 epochs), 1.50 s per fit from arrays, 1.21 s with pipelines
built once, 1.10 s with pipelines built once and iterated without a break across epochs.

So each worker builds, per batch size, a pipeline that shuffles the row indices afresh at
every pass and gathers the rows of each batch (the data is held once, as Keras itself does
for arrays), repeated forever; ``fit`` reads exactly one pass per epoch
(``steps_per_epoch``), so every epoch still sees every row once, in a new order, with the
last batch partial as with arrays. The order of pass ``e`` of a fit is a function of the fit's
seed and ``e`` only (stateless random numbers): a trial sees the same batches whichever worker
trains it and whatever that worker trained before. Validation reads one whole pass per epoch in order, in
batches of up to :data:`VALIDATION_ROWS` rows (:func:`validation_batch`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..data import arrays

#: Validation batches hold up to this many rows (or the training batch size, if larger). Evaluation
#: neither learns nor depends on the batch size (the loss and metrics are means over all rows, batch
#: normalization uses its moving statistics, dropout is off), but each batch is a step with its own
#: fixed cost: the quickstart's 200 validation rows in batches of 32 are 7 steps at every epoch, 1 in
#: batches of 512.
VALIDATION_ROWS = 512


def validation_batch(batch_size: int, rows: int) -> int:
    """The batch size to evaluate ``rows`` validation rows with, for training batches of ``batch_size``."""
    return max(batch_size, min(rows, VALIDATION_ROWS))


class InputPipelines:
    """Training and validation ``tf.data`` pipelines for one data set, one pair per batch size."""

    def __init__(self, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray):
        import tensorflow as tf

        self._tf = tf
        self._seed = tf.Variable(0, dtype=tf.int64, trainable=False)  # read by every pass's shuffle
        # a nest of arrays (several inputs, a list or dict) gathers the same rows of each
        const = lambda nest: tf.nest.map_structure(tf.constant, nest)  # noqa: E731
        self._train = (const(x_train), const(y_train))
        self._val = (const(x_val), const(y_val))
        self._cache: dict[int, dict[str, Any]] = {}

    def _pipeline(self, arrays: tuple[Any, Any], batch_size: int, *, shuffle: bool) -> Any:
        tf = self._tf
        x, y = arrays
        rows = int(tf.nest.flatten(x)[0].shape[0])
        if shuffle:
            seed = self._seed

            @tf.autograph.experimental.do_not_convert  # plain TensorFlow calls: nothing to convert, traced at once
            def one_pass(number: Any) -> Any:
                keys = tf.random.stateless_uniform([rows], seed=tf.stack([seed.read_value(), number]))
                return tf.data.Dataset.from_tensor_slices(tf.argsort(keys)).batch(batch_size)

            indices = tf.data.Dataset.range(2**62).flat_map(one_pass)  # pass after pass, without end
        else:
            indices = tf.data.Dataset.range(rows).batch(batch_size).repeat()
        gather = lambda nest, i: tf.nest.map_structure(lambda a: tf.gather(a, i), nest)  # noqa: E731
        batches = indices.map(tf.autograph.experimental.do_not_convert(lambda i: (gather(x, i), gather(y, i))))
        return batches.prefetch(tf.data.AUTOTUNE)

    def fit_kwargs(self, batch_size: int, seed: int = 0) -> dict[str, Any]:
        """What replaces ``x``, ``y``, ``batch_size`` and ``validation_data`` in a ``fit`` call.

        ``seed`` decides the order of the rows in each training pass of the fit these arguments
        are for (call this right before that ``fit``: its iterator reads the seed when it starts).
        """
        self._seed.assign(seed)
        if batch_size not in self._cache:
            val_rows = int(self._tf.nest.flatten(self._val[0])[0].shape[0])
            val_batch = validation_batch(batch_size, val_rows)
            self._cache[batch_size] = {
                "x": self._pipeline(self._train, batch_size, shuffle=True),
                "steps_per_epoch": math.ceil(int(self._tf.nest.flatten(self._train[0])[0].shape[0]) / batch_size),
                "validation_data": self._pipeline(self._val, val_batch, shuffle=False),
                "validation_steps": math.ceil(val_rows / val_batch),
                "shuffle": False,  # the pipeline shuffles; Keras would only warn
            }
        return dict(self._cache[batch_size])


class NumpyBatches:
    """The same reading as :class:`InputPipelines` without TensorFlow, for groups on JAX: each training pass
    in the order of a random permutation drawn from the fit's seed and the pass's number (the last batch
    partial), validation in order in batches of :func:`validation_batch` rows. ``x`` and ``validation_data``
    iterate without end; the loop reads ``steps_per_epoch`` and ``validation_steps`` of them an epoch."""

    def __init__(self, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray):
        self._train = (x_train, y_train)
        self._val = (x_val, y_val)

    def fit_kwargs(self, batch_size: int, seed: int = 0) -> dict[str, Any]:
        rows, val_rows = arrays.rows(self._train[0]), arrays.rows(self._val[0])
        val_batch = validation_batch(batch_size, val_rows)
        return {
            "x": _Passes(self._train, batch_size, seed),
            "steps_per_epoch": math.ceil(rows / batch_size),
            "validation_data": _Passes(self._val, val_batch, None),
            "validation_steps": math.ceil(val_rows / val_batch),
            "shuffle": False,
        }


class _Passes:
    """Batches of ``arrays``, pass after pass; shuffled per pass when there is a seed."""

    def __init__(self, data: tuple[Any, Any], batch_size: int, seed: int | None):
        self.data, self.batch_size, self.seed = data, batch_size, seed

    def __iter__(self) -> Any:
        x, y = self.data
        rows = arrays.rows(x)
        number = 0
        while True:
            if self.seed is None:
                order = np.arange(rows)
            else:
                order = np.random.default_rng([self.seed % 2**32, number]).permutation(rows)
            for start in range(0, rows, self.batch_size):
                index = order[start : start + self.batch_size]
                yield arrays.take(x, index), arrays.take(y, index)
            number += 1
