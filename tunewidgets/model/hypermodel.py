"""The keras-tuner HyperModel of a spec: declares its space, builds each trial's model and fits it."""

from __future__ import annotations

import os
from typing import Any

import keras
import keras_tuner as kt

from ..data import Dataset
from ..spec import Spec
from ..spec.space import epochs_per_trial
from ..spec.validate import resolve_objective
from .build import build_model
from .space import declare


class SpecHyperModel(kt.HyperModel):
    """Builds and fits the network a spec describes, for keras-tuner."""

    def __init__(self, spec: Spec, dataset: Dataset):
        super().__init__(name=spec.name)
        self.spec = spec
        self.dataset = dataset
        self._pipelines: Any = None
        #: The order of the training rows in the next fit (set per trial by the tuner; None: random).
        self.fit_seed: int | None = None

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
        own = self._own_data(args, kwargs)
        if own and keras.backend.backend() == "tensorflow":
            # the data set's arrays: read them through pipelines built once for the whole search
            if self._pipelines is None:
                from .pipeline import InputPipelines

                d = self.dataset
                self._pipelines = InputPipelines(d.x_train, d.y_train, d.x_val, d.y_val)
            args = ()
            seed = self.fit_seed if self.fit_seed is not None else int.from_bytes(os.urandom(7), "little")
            kwargs.update(self._pipelines.fit_kwargs(batch_size, seed))
        else:
            kwargs["batch_size"] = batch_size
            if own:
                from .pipeline import validation_batch

                kwargs.setdefault("validation_batch_size", validation_batch(batch_size, len(self.dataset.x_val)))
        t = self.spec.training
        if t.early_stopping:
            objective, direction = resolve_objective(self.spec, self.dataset.task)
            callbacks = list(kwargs.get("callbacks") or [])
            callbacks.append(keras.callbacks.EarlyStopping(monitor=objective, mode=direction, patience=t.patience))
            kwargs["callbacks"] = callbacks
        return model.fit(*args, **kwargs)

    def _own_data(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
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
