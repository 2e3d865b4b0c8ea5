"""One-off tasks a worker does for the notebook side, which never imports TensorFlow: score a trial's model on
the held-out test split (kept in ``evaluation.json``), or save it as a ``.keras`` file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...spec import Spec
from ..folder.evaluation import write_evaluation
from ..folder.project import Project
from ..folder.store import read_record


def measure(model: Any, ds: Any) -> dict[str, float]:
    """The trial's model on the test split: Keras' loss and metrics; for a regression also the error in
    the target's own units (``target_rmse``, ``target_mae``: the losses are on the standardized target)."""
    if ds.x_test is None:
        raise LookupError("this search was given no test arrays (test_data=(x_test, y_test))")
    if ds.task != "custom" and len(ds.x_test) == 0:
        raise LookupError("this search kept no test split (data.test_split is 0)")
    values = model.evaluate(ds.x_test, ds.y_test, verbose=0, return_dict=True)
    out = {k: float(v) for k, v in values.items()}
    if ds.task == "regression":
        import numpy as np

        predicted = np.asarray(model.predict(ds.x_test, verbose=0), dtype=np.float64).reshape(-1)
        errors = (predicted - ds.y_test.astype(np.float64).reshape(-1)) * ds.target_std
        out["target_rmse"] = float(math.sqrt(np.mean(errors**2)))
        out["target_mae"] = float(np.mean(np.abs(errors)))
    return out


def _model(project: Project, trial_id: str) -> tuple[Any, Any]:
    from ...data import Dataset
    from ...model.build import trained_model

    record, _ = read_record(project)
    trial = record.trials.get(trial_id)
    if trial is None:
        raise LookupError(f"no trial {trial_id!r} in {project.directory}")
    spec = Spec.from_file(project.spec)
    if spec.hypermodel is not None:  # the user's own: rebuilt with their function, its best epoch's weights
        return _user_model(project, trial.hyperparameters, trial_id)
    dataset = Dataset.load(project.data_arrays, project.data_meta)
    return trained_model(spec, dataset, trial.hyperparameters, project.checkpoint(trial_id)), dataset


def _user_model(project: Project, values: dict[str, Any], trial_id: str) -> tuple[Any, Any]:
    from ...data.arrays import UserData
    from ...model.user import rebuilt
    from ..folder.travel import loads

    user = loads(project.hypermodel.read_bytes(), "the hypermodel")
    model = rebuilt(user, values, project.checkpoint(trial_id), project.tuner.build_config(trial_id))
    return model, UserData.load(project.arrays)


def discover(directory: Path) -> None:
    """The hyperparameters of the folder's hypermodel, kept in ``space.json`` with its fingerprint."""
    import json

    from ..._atomic import atomic_write_json
    from ...model.user import discover as discover_space
    from ..folder.travel import loads

    project = Project(directory)
    user = loads(project.hypermodel.read_bytes(), "the hypermodel")
    fingerprint = json.loads(project.hypermodel_info.read_text(encoding="utf-8"))["fingerprint"]
    space = discover_space(user, scratch=str(project.directory))
    atomic_write_json(project.space, {"fingerprint": fingerprint, "space": space})


def evaluate(directory: Path, trial_id: str) -> None:
    """Scores a trial's model on the test split and keeps the figures in the folder."""
    project = Project(directory)
    model, dataset = _model(project, trial_id)
    write_evaluation(project, trial_id, measure(model, dataset))


def save_model(directory: Path, trial_id: str, path: str) -> None:
    """Saves a trial's model (its best epoch's weights) as a ``.keras`` file."""
    model, _ = _model(Project(directory), trial_id)
    model.save(path)


__all__ = ["discover", "evaluate", "measure", "save_model"]
