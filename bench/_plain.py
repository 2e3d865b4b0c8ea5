"""Plain keras-tuner over a spec's space, as a keras-tuner user writes it: the baseline of the benchmarks
that compare whole searches (``time_to_target.py``, ``fused_trials.py``)."""

from __future__ import annotations

from typing import Any


def plain_search(spec: Any, directory: str, tuner_base: Any = None) -> tuple[Any, Any]:
    """A keras-tuner ``RandomSearch`` (or a subclass given as ``tuner_base``) over the spec's hyperparameters and
    models, built by the same code as tunewidgets' trials and fitted with ``Model.fit`` on NumPy arrays.
    Returns ``(tuner, dataset)``; call ``search_plain(tuner, dataset, spec)`` to run it."""
    import keras_tuner as kt

    from tunewidgets.data import prepare
    from tunewidgets.model.build import build_model
    from tunewidgets.model.hyperparameters import declare
    from tunewidgets.spec.validate import resolve_objective

    ds = prepare(spec.data)
    objective, direction = resolve_objective(spec, ds.task)

    class Model(kt.HyperModel):
        def build(self, hp):
            return build_model(declare(spec, hp), ds, spec.training.epochs)

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.get("batch_size"), **kwargs)

    base = tuner_base or kt.RandomSearch
    tuner = base(
        Model(),
        objective=kt.Objective(objective, direction),
        max_trials=spec.tuner.max_trials,
        seed=spec.tuner.seed,
        directory=directory,
        project_name="plain",
    )
    return tuner, ds


def search_plain(tuner: Any, ds: Any, spec: Any) -> None:
    tuner.search(ds.x_train, ds.y_train, validation_data=(ds.x_val, ds.y_val), epochs=spec.training.epochs, verbose=0)
