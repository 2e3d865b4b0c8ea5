"""The keras-tuner HyperModel of a spec: declares its space, builds each trial's model and fits it."""

from __future__ import annotations

import os
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from ..data import Dataset
from ..data.prepare import fold_rows
from ..spec import Spec
from ..spec.space import epochs_per_trial, folds
from ..spec.validate import resolve_objective
from .build import build_model
from .hyperparameters import declare


class SpecHyperModel(kt.HyperModel):
    """Builds and fits the network a spec describes, for keras-tuner."""

    def __init__(self, spec: Spec, dataset: Dataset):
        super().__init__(name=spec.name)
        self.spec = spec
        self.dataset = dataset
        self._pipelines: Any = None  # for the data set's own split, built on the first fit
        self._fold_pipelines: dict[int, Any] = {}  # with cross-validation, one per fold
        #: The order of the training rows in the next fit (set per trial by the tuner; None: random).
        self.fit_seed: int | None = None
        #: The cross-validation fold the next fit trains on (set per run by the tuner; None: no folds).
        self.fold: int | None = None

    def declare(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """Declares every hyperparameter and returns this trial's build values."""
        return declare(self.spec, hp)

    def epochs(self) -> int:
        return epochs_per_trial(self.spec)

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        v = self.declare(hp)
        return build_model(v, self.dataset, self.epochs())

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        batch_size = int(hp.get("batch_size"))
        own = self.own_data(args, kwargs)
        if own and keras.backend.backend() == "tensorflow":
            # the data set's arrays: read them through pipelines built once for the whole search
            args = ()
            kwargs.update(self.training_data(batch_size))
        else:
            kwargs["batch_size"] = batch_size
            if own:
                from .pipeline import validation_batch

                x_train, y_train, x_val, y_val = self._split()
                args = (x_train, y_train)
                kwargs["validation_data"] = (x_val, y_val)
                kwargs.setdefault("validation_batch_size", validation_batch(batch_size, len(x_val)))
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), *self.fit_callbacks()]
        return model.fit(*args, **kwargs)

    def training_data(self, batch_size: int) -> dict[str, Any]:
        """What the next fit reads (``x``, ``steps_per_epoch``, ``validation_data``, ``validation_steps``): the
        current fold's pipelines, built once, in the order of ``fit_seed`` (NumPy batches on other backends)."""
        from .pipeline import InputPipelines, NumpyBatches

        kind = InputPipelines if keras.backend.backend() == "tensorflow" else NumpyBatches  # JAX: no TensorFlow
        if self.fold is None:
            if self._pipelines is None:
                self._pipelines = kind(*self._split())
            pipelines = self._pipelines
        else:
            if self.fold not in self._fold_pipelines:
                self._fold_pipelines[self.fold] = kind(*self._split())
            pipelines = self._fold_pipelines[self.fold]
        seed = self.fit_seed if self.fit_seed is not None else int.from_bytes(os.urandom(7), "little")
        return pipelines.fit_kwargs(batch_size, seed)

    def fit_callbacks(self) -> list[Any]:
        """The callbacks the spec adds to every fit (early stopping)."""
        t = self.spec.training
        if not t.early_stopping:
            return []
        objective, direction = resolve_objective(self.spec, self.dataset.task)
        return [keras.callbacks.EarlyStopping(monitor=objective, mode=direction, patience=t.patience)]

    def _split(self) -> tuple[Any, Any, Any, Any]:
        """Training and validation arrays of the next fit: the data set's split, or fold ``self.fold`` of
        the training and validation rows together (stratified for classification, shuffled with the data
        seed: every trial sees the same folds)."""
        d = self.dataset
        k = folds(self.spec)
        if self.fold is None or not k:
            return d.x_train, d.y_train, d.x_val, d.y_val
        x = np.concatenate([d.x_train, d.x_val])
        y = np.concatenate([d.y_train, d.y_val])
        train, val = fold_rows(y, k, self.spec.data.seed, d.task != "regression")[self.fold]
        return x[train], y[train], x[val], y[val]

    def own_data(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Is this fit on the data set's own training and validation arrays (what the worker passes)?"""
        d = self.dataset
        validation = kwargs.get("validation_data")
        return (
            len(args) == 2
            and args[0] is d.x_train
            and args[1] is d.y_train
            and isinstance(validation, tuple)
            and len(validation) == 2
            and validation[0] is d.x_val
            and validation[1] is d.y_val
        )


__all__ = ["SpecHyperModel"]
