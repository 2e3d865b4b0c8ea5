"""The reference example, at full size: what people copy from tutorials."""

from __future__ import annotations

import pytest

import tunewidgets as tw

from .conftest import SPECS
from .test_cli import cli


@pytest.mark.slow
def test_quickstart_reaches_the_reference_accuracy(tmp_path):
    result = cli("run", str(SPECS / "quickstart.json"), "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    results = tw.load(tmp_path)
    trials = results.trials
    assert len(trials) == 10
    assert (trials["status"] == "completed").all()
    assert (trials["epochs"] == 10).all()
    assert results.best_score >= 0.85
    assert results.test_score >= 0.80
