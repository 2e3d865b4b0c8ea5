"""The private keras-tuner names tunewidgets still needs, each checked against the installed keras-tuner.

Every use sits in ``tunewidgets/engine/worker/private.py`` (``tests/test_architecture.py`` holds the rest of
the package to that); a keras-tuner that moves one fails here, naming it.
"""

from __future__ import annotations

import keras_tuner as kt
import pytest

from tunewidgets.engine.worker.private import MAX_COLLISIONS, PRIVATE_NAMES, PrivateAPIMissing, private


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
