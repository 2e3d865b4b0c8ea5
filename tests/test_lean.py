"""A worker imports keras-tuner without the optional packages TensorFlow and Keras load for features it never uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tunewidgets._backend import keras_backend
from tunewidgets.engine.worker.lean import HELD_BACK, _HoldBack


@pytest.fixture
def keras_env(monkeypatch, tmp_path):
    for name in ("KERAS_BACKEND", "KERAS_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_backend_is_tensorflow_unless_configured(keras_env):
    assert keras_backend() == "tensorflow"


def test_backend_from_the_environment(keras_env, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert keras_backend() == "jax"


def test_backend_from_keras_json(keras_env, monkeypatch):
    (keras_env / ".keras").mkdir()
    (keras_env / ".keras" / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert keras_backend() == "torch"
    home = keras_env / "elsewhere"
    home.mkdir()
    (home / "keras.json").write_text(json.dumps({"backend": "jax"}))
    monkeypatch.setenv("KERAS_HOME", str(home))
    assert keras_backend() == "jax"
    (home / "keras.json").write_text("{not json")
    assert keras_backend() == "tensorflow"  # as Keras itself falls back


def _find_spec_from(module: str, finder: _HoldBack, name: str):
    """Calls the finder from code that belongs to ``module``, as an import statement there would."""
    scope = {"__name__": module, "finder": finder, "name": name}
    exec("result = finder.find_spec(name)", scope)
    return scope["result"]


def test_only_the_libraries_imports_are_held_back():
    finder = _HoldBack()
    with pytest.raises(ModuleNotFoundError, match="held back") as caught:
        _find_spec_from("tensorflow.lite.python.util", finder, "jax")
    assert caught.value.name == "jax"
    with pytest.raises(ModuleNotFoundError):
        _find_spec_from("keras.src.wrappers.fixes", finder, "sklearn.utils")
    assert finder.held == {"jax", "sklearn"}
    # a user's module, or a package the libraries need, imports them as usual
    assert _find_spec_from("my_callbacks", finder, "pandas") is None
    assert _find_spec_from("keras.src.layers", finder, "numpy") is None
    assert finder.held == {"jax", "sklearn"}


CHILD = """
import json, sys
from tunewidgets.engine.worker.lean import HELD_BACK, bayesian_ready, import_keras_tuner
held = sorted(import_keras_tuner())
loaded = sorted(m for m in HELD_BACK if m in sys.modules)
import keras_tuner as kt
import numpy as np
import keras
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
model.compile("adam", "mse")
history = model.fit(np.ones((16, 4)), np.ones(16), validation_data=(np.ones((4, 4)), np.ones(4)), epochs=2, verbose=0)
import pandas, sklearn  # the worker's own code (a user's callback) still imports them
bayesian_ready()
oracle = kt.oracles.BayesianOptimizationOracle(objective="val_loss", max_trials=2)
print(json.dumps({"held": held, "loaded": loaded, "epochs": len(history.history["val_loss"]),
                  "later": [m in sys.modules for m in ("pandas", "sklearn")], "oracle": type(oracle).__name__}))
"""


@pytest.mark.slow
def test_a_worker_imports_keras_tuner_without_them_and_still_trains():
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert {"pandas", "scipy", "sklearn"} <= set(result["held"]) <= HELD_BACK
    assert result["epochs"] == 2
    assert result["later"] == [True, True]
    assert result["oracle"] == "BayesianOptimizationOracle"
