"""The private keras-tuner names tunewidgets still needs, each checked against the installed keras-tuner.

Every use sits in ``tunewidgets/engine/worker/private.py``, and the reading of keras-tuner's stack frames in
``tunewidgets/_kt_frames.py`` (``tests/test_architecture.py`` holds the rest of the package to that); a
keras-tuner that moves one fails here, naming it.
"""

from __future__ import annotations

import inspect

import keras_tuner as kt
import pytest

from tunewidgets._kt_frames import running_trial
from tunewidgets.engine.worker import oracles
from tunewidgets.engine.worker.private import (
    MAX_COLLISIONS,
    PRIVATE_NAMES,
    PrivateAPIMissing,
    duplicate,
    private,
    random_values,
    trial_dir,
)


@pytest.mark.parametrize(("module", "attribute"), PRIVATE_NAMES, ids=[f"{m}.{a}" for m, a in PRIVATE_NAMES])
def test_each_private_name_exists_in_the_installed_keras_tuner(module, attribute):
    assert private(module, attribute) is not None


def test_keras_tuners_oracles_carry_the_draw_limit_set_for_small_spaces():
    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("val_loss", "min"), max_trials=1)
    assert isinstance(getattr(oracle, MAX_COLLISIONS), int)


def test_a_missing_private_name_is_named():
    with pytest.raises(PrivateAPIMissing, match=r"has no keras_tuner\.src\.protos\.no_such_name"):
        private("keras_tuner.src.protos", "no_such_name")
    with pytest.raises(PrivateAPIMissing, match=r"has no module keras_tuner\.src\.no_such_module"):
        private("keras_tuner.src.no_such_module")


def test_the_oracle_adapters_work_on_keras_tuners_oracle(tmp_path):
    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("val_loss", "min"), max_trials=2, seed=1)
    oracle.hyperparameters.Choice("units", [8, 16])
    oracle._set_project_dir(str(tmp_path), "p")  # what a tuner does with its oracle
    folder = trial_dir(oracle, "00")
    assert folder.startswith(str(tmp_path)) and (tmp_path / "p" / "trial_00").is_dir()
    values = random_values(oracle)
    assert values in ({"units": 8}, {"units": 16})
    assert duplicate(oracle, values) is False
    oracle.create_trial("w")  # records its values as tried
    tried = next(iter(oracle.trials.values())).hyperparameters.values
    assert duplicate(oracle, tried) is True


def test_a_missing_oracle_method_is_named():
    with pytest.raises(PrivateAPIMissing, match=r"has no keras_tuner\.src\.engine\.oracle\.Oracle\._duplicate"):
        duplicate(object(), {})


def test_the_pruning_mixins_own_names_shadow_none_of_keras_tuners_oracles():
    own = {
        n
        for cls in (oracles.PruningOracle, oracles.TPEOracle)
        for n in vars(cls)
        if n.startswith("_") and not n.startswith("__")
    }
    theirs = {n for cls in (kt.Oracle, *(getattr(kt.oracles, b) for b in oracles._BASES.values())) for n in dir(cls)}
    assert own and not own & theirs


def test_keras_tuners_loop_holds_the_tuner_and_the_trial_where_they_are_read():
    for method in (kt.Tuner.run_trial, kt.Tuner._build_and_fit_model):
        assert "trial" in inspect.signature(method).parameters, method

    class Tuner:
        oracle, project_dir = object(), "here"

        def run_trial(self, trial):
            return running_trial()

    tuner = Tuner()
    assert tuner.run_trial("t") == (tuner, "t")
    assert running_trial() is None
