"""The results of a folder, of each kind: a tunewidgets search of the spec's own network (:class:`Results`),
of the user's own hypermodel (:class:`HyperModelResults`), or a plain keras-tuner project folder
(:class:`KerasTunerResults`); :func:`load` opens a folder as the kind it holds."""

from __future__ import annotations

import functools
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ProjectError, SpecError
from ..progress import trial_number
from .folder.project import LIVE_DIR, Project, is_locked
from .folder.record import SearchRecord
from .folder.store import read_json, read_record
from .folder.tuner_files import TunerFolder
from .ktproject import NO_CURVES, KerasTunerProject, read_project
from .results import Results, SearchStatus

if TYPE_CHECKING:
    import keras

    from ..spec import Spec


class KerasTunerResults(Results):
    """A plain keras-tuner project folder's results, read-only: its trials, scores and hyperparameters, and the
    views; no data set or spec is kept there, so the model needs the user's build function."""

    def __init__(self, project: KerasTunerProject):
        super().__init__(project.directory, None, project.record)  # type: ignore[arg-type]  # no spec here
        self.keras_tuner = project
        self.notes = list(project.notes)
        self.curves_note = "" if any(t.curves for t in project.record.trials.values()) else NO_CURVES

    def __repr__(self) -> str:
        return super().__repr__().replace("<Results", "<Results (keras-tuner)", 1)

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def strategy(self) -> str:
        return self.keras_tuner.tuner

    @property
    def log_scaled(self) -> set[str]:
        return set(self.keras_tuner.log_scaled)

    @property
    def categorical(self) -> set[str]:
        return set(self.keras_tuner.categorical)

    @property
    def status(self) -> SearchStatus:
        if self.record.ended is not None:
            return SearchStatus(self.record.ended.reason.value)
        return SearchStatus.RUNNING

    @property
    def dataset(self) -> Any:
        raise LookupError("a keras-tuner project folder keeps no data set: score the model on your own test data")

    def model(self, trial_id: str, build_model: Any = None) -> keras.Model:
        """A trial's model rebuilt with the user's build function (``build_model(hp)`` or a ``HyperModel``) and
        keras-tuner's checkpoint of its best epoch loaded. Imports Keras into this process."""
        import keras_tuner as kt

        from ..model.user import rebuilt

        if build_model is None:
            raise LookupError(
                "a keras-tuner folder keeps no model code: pass your build function, results.model(trial_id, build)"
            )
        trial, folder = self._trial(trial_id), TunerFolder(self.directory)
        raw = json.loads(folder.trial_file(trial.trial_id).read_text(encoding="utf-8"))
        checkpoint = folder.checkpoint(trial.trial_id)
        if not checkpoint.exists():
            raise FileNotFoundError(f"trial {trial_id} has no saved weights ({checkpoint})")
        hp = kt.HyperParameters.from_config(raw["hyperparameters"])
        return rebuilt(build_model, hp, checkpoint, folder.build_config(trial.trial_id))

    def best_model(self, build_model: Any = None) -> keras.Model:
        """The best trial's model (see :meth:`model`)."""
        return self.model(self._best().trial_id, build_model)

    def evaluate(self, trial_id: str | None = None) -> dict[str, float]:
        raise LookupError("a keras-tuner folder keeps no test split: evaluate results.best_model(build) yourself")

    def save_best_model(self, path: str | os.PathLike[str]) -> Path:
        raise LookupError("a keras-tuner folder keeps no model code: results.best_model(build).save(path)")

    def model_code(self, trial_id: str | None = None) -> str:
        raise LookupError("a keras-tuner project folder keeps no model code: it is your build_model(hp)")

    def write_tables(self) -> None:
        raise LookupError("a keras-tuner project folder is read, never written to: use results.trials.to_csv(path)")


class HyperModelResults(Results):
    """The results of a search of the user's own hypermodel: the same views; the model is rebuilt with the
    user's function (kept in the folder, or given) and its best epoch's weights."""

    @functools.cached_property
    def _scales(self) -> tuple[set[str], set[str]]:
        """The hypermodel's log-scaled and categorical hyperparameters, from the space kept in the folder."""
        from ..spec.hyper import space_scales

        content, _ = read_json(self.project.space)
        space = content.get("space") if isinstance(content, dict) else None
        return space_scales(space if isinstance(space, list) else [], self.spec.hypermodel)

    @property
    def log_scaled(self) -> set[str]:
        return self._scales[0] | super().log_scaled

    @property
    def categorical(self) -> set[str]:
        return self._scales[1] | super().categorical

    @property
    def dataset(self) -> Any:
        """The user's arrays as the search split them (memory-mapped from the folder)."""
        if self._dataset is None:
            from ..data.arrays import UserData

            self._dataset = UserData.load(self.project.arrays)
        return self._dataset

    def model(self, trial_id: str, build_model: Any = None) -> keras.Model:
        """A trial's model, rebuilt with ``build_model`` (default: the hypermodel kept in the folder) and its best
        epoch's weights loaded. Imports Keras into this process."""
        from ..model.user import rebuilt

        trial = self._trial(trial_id)
        checkpoint = self.project.checkpoint(trial.trial_id)
        if not checkpoint.exists():
            raise FileNotFoundError(f"trial {trial_id} has no saved weights ({checkpoint})")
        if build_model is None:
            import cloudpickle

            build_model = cloudpickle.loads(self.project.hypermodel.read_bytes())
        return rebuilt(build_model, trial.hyperparameters, checkpoint, self.project.tuner.build_config(trial.trial_id))

    def best_model(self, build_model: Any = None) -> keras.Model:
        """The best trial's model (see :meth:`model`)."""
        if build_model is not None:
            return self.model(self._best().trial_id, build_model)
        return super().best_model()

    def evaluate(self, trial_id: str | None = None) -> dict[str, float]:
        if self.dataset.x_test is None:
            raise LookupError("this search was given no test arrays: Arrays(x, y, test_data=(x_test, y_test))")
        return super().evaluate(trial_id)

    def model_code(self, trial_id: str | None = None) -> str:
        """The hypermodel's own source, as given to the search, and the trial's (the best by default) values."""
        trial = self._trial(trial_id or self._best().trial_id)
        content, _ = read_json(self.project.hypermodel_info)
        info = content if isinstance(content, dict) else {}
        name = info.get("name", "build_model")
        source = info.get("source") or f"# the source of {name} was not available to Python when the search started\n"
        values = json.dumps(trial.tuned_values(), indent=4, default=str)
        return (
            f"{source.rstrip()}\n\n\n# trial {trial_number(trial.trial_id)}'s values; build its model with\n"
            f"# hp = keras_tuner.HyperParameters(); hp.values.update(values); model = {name}(hp)\n"
            f"values = {values}\n"
        )


def results_of(directory: Path, spec: Spec, record: SearchRecord) -> Results:
    """The results of a tunewidgets search: of the spec's own network, or of the user's hypermodel."""
    kind = HyperModelResults if spec.hypermodel is not None else Results
    return kind(directory, spec, record)


def load(directory: str | os.PathLike[str]) -> Results:
    """Opens the results of a search (finished, stopped, interrupted or running): a tunewidgets search, or a
    plain keras-tuner project folder (``directory/project_name``, read-only, see :class:`KerasTunerResults`).

    Example:
        >>> r = tunewidgets.load("runs/quickstart")   # doctest: +SKIP
        >>> r.trials.sort_values("score").tail(3)      # doctest: +SKIP
    """
    from ..spec import Spec

    project = Project(directory)
    inner = Project(project.directory / LIVE_DIR)
    if not project.spec.exists() and inner.spec.exists() and inner.in_tuner_project:
        project = inner  # your own tuner's project, searched by tunewidgets (Search.from_tuner)
    if not project.spec.exists():
        kt_project = read_project(project.directory)  # raises ProjectError when it is not one either
        for note in kt_project.notes:
            warnings.warn(f"{kt_project.directory}: {note}", stacklevel=2)
        return KerasTunerResults(kt_project)
    try:
        spec = Spec.from_file(project.spec)
    except SpecError as e:
        raise ProjectError(
            f"{project.spec} (the spec this search ran, written when it started) cannot be read: "
            f"{'; '.join(i.message for i in e.issues)}. Its trials are kept: restore the file from a copy, or "
            "write the spec you ran there again (tunewidgets run SPEC --dir FOLDER resumes the search)"
        ) from None
    record, notes = read_record(project)
    if record.ended is None and not is_locked(project.directory):
        record.mark_interrupted()
    for note in notes:
        warnings.warn(f"{project.directory}: {note}", stacklevel=2)
    results = results_of(project.directory, spec, record)
    results.notes = notes
    return results


__all__ = ["HyperModelResults", "KerasTunerResults", "load", "results_of"]
