"""The engine on Keras 3's other backends (JAX here; torch works the same way)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import keras, sys
    import tunewidgets as tw
    from tunewidgets.spec import Fixed
    assert keras.backend.backend() == sys.argv[2], keras.backend.backend()
    spec = tw.Spec.from_file("examples/specs/quickstart.json").replace(**{
        "tuner.max_trials": 2, "training.epochs": 2, "data.samples": 100, "model.units": Fixed(8)})
    results = tw.Search(spec, sys.argv[1]).run()
    assert results.trials["status"].tolist() == ["completed", "completed"], results.trials
    again = tw.load(sys.argv[1])
    print("test accuracy", again.test_score)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax"])
def test_search_runs_on_another_backend(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{backend} is not installed; .ci/run installs it")
        pytest.skip(f"{backend} is not installed")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), backend],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout
    # the trials trained in a worker process, on that backend too
    log = (tmp_path / "workers" / "tuner0.log").read_text()
    assert f"Keras backend {backend}" in log
