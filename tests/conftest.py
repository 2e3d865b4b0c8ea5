from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tunewidgets.spec import Fixed, Spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "examples" / "specs"


def collect(search) -> list:
    """Every event a search publishes, in order."""
    events: list = []
    search.events.subscribe(events.append)
    return events


def tiny(spec: Spec, *, trials: int = 2, epochs: int = 2, samples: int = 80, **changes) -> Spec:
    """The same search on a few dozen samples, for seconds-long engine tests."""
    small = {
        "tuner.max_trials": trials,
        "training.epochs": epochs,
        "tuner.max_epochs": max(epochs, 2),
    }
    if spec.data.source == "builtin" and spec.data.name in ("classification", "moons", "circles", "regression"):
        small["data.samples"] = samples
    if spec.model.units != Fixed(8):
        small["model.units"] = Fixed(8)
    small.update(changes)
    return spec.replace(**small)


@pytest.fixture
def quickstart() -> Spec:
    return Spec.from_file(SPECS / "quickstart.json")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Marks a test's item as failed, so fixtures can keep evidence (browser screenshots)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.failed = True


@pytest.fixture(autouse=True)
def _no_warm_worker_outlives_its_test():
    """A worker a test's search left warm serves that test only: it is let go when the test ends."""
    yield
    from tunewidgets.engine.warm import warm_workers

    warm_workers.close()
