"""Random and broken input, thrown at validation and at the engine: no unhandled exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tunewidgets as tw
from tunewidgets.engine import Search
from tunewidgets.events import EndReason
from tunewidgets.spec import SECTIONS, Choice, Fixed, Range, Spec, section_fields

# ---------------------------------------------------------------------- anything JSON can hold

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def field_names(section):
    return [name for name, _ in section_fields(section)]


broken_sections = {
    section: st.dictionaries(st.sampled_from(field_names(section)) | st.text(max_size=8), json_values, max_size=6)
    for section in SECTIONS
}
broken_specs = st.fixed_dictionaries(
    {},
    optional={**broken_sections, "name": json_values, "version": st.sampled_from([1, 1, 1, 2, "1", None])},
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_specs)
def test_broken_spec_files_give_spec_errors_only(raw):
    try:
        spec = Spec.from_dict(json.loads(json.dumps(raw)))
    except tw.SpecError as e:
        assert e.issues and all(str(i) for i in e.issues)
    else:
        assert spec.validate() == []


# ---------------------------------------------------------------------- plausible specs, run for real

SMALL = {  # keep every model tiny so each example trains in about a second
    ("model", "layers"): (0, 2),
    ("model", "units"): (1, 8),
    ("model", "conv_blocks"): (1, 2),
    ("model", "filters"): (1, 4),
    ("model", "kernel_size"): (1, 3),
    ("optimizer", "decay_epochs"): (1, 3),
    ("training", "batch_size"): (4, 64),
}


def scalar(section, name, info):
    if info.options:
        return st.sampled_from(info.options)
    if info.kind == "bool":
        return st.booleans()
    lo = info.lo if info.lo is not None else 0
    hi = info.hi if info.hi is not None else 100
    lo, hi = SMALL.get((section, name), (lo, hi))
    if info.kind == "int":
        return st.integers(int(lo), int(hi))
    return st.floats(lo, hi, exclude_min=info.lo_open, exclude_max=info.hi_open, allow_nan=False)


def plausible_knob(section, name, info):
    value = scalar(section, name, info)
    options = [value.map(Fixed), st.lists(value, min_size=1, max_size=3, unique=True).map(lambda v: Choice(tuple(v)))]
    if info.kind in ("int", "float"):
        options.append(st.tuples(value, value).map(lambda p: Range(min(p), max(p))))
    return st.one_of(options)


@st.composite
def plausible_specs(draw):
    raw = {}
    for section in ("model", "regularization", "optimizer"):
        raw[section] = {
            name: draw(plausible_knob(section, name, info))
            for name, info in section_fields(section)
            if info.tunable and draw(st.booleans())
        }
    raw["training"] = {
        "batch_size": draw(plausible_knob("training", "batch_size", dict(section_fields("training"))["batch_size"]))
    }
    data = draw(st.sampled_from(["classification", "moons", "iris", "regression", "digits"]))
    spec = Spec().replace(**{f"{s}.{k}": v for s, body in raw.items() for k, v in body.items()})
    return spec.replace(
        **{
            "data.name": data,
            "data.samples": 60,
            "model.architecture": draw(st.sampled_from(["dense", "cnn"])) if data == "digits" else "dense",
            "training.epochs": 1,
            "training.early_stopping": draw(st.booleans()),
            "tuner.algorithm": draw(st.sampled_from(["random", "bayesian", "hyperband", "grid"])),
            "tuner.max_trials": 2,
            "tuner.max_epochs": 2,
            "tuner.objective": "auto",
            "tuner.max_consecutive_failed_trials": 5,
        }
    )


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(plausible_specs())
def test_engine_never_breaks_on_any_spec(tmp_path_factory, spec):
    issues = spec.validate()
    directory = tmp_path_factory.mktemp("run")
    if issues:
        with pytest.raises(tw.SpecError):
            Search(spec, directory)
        return
    search = Search(spec, directory)
    results = search.run()
    assert search.error is None
    assert search.end_reason in (EndReason.COMPLETED, EndReason.FAILED)
    for _, trial in results.trials.iterrows():
        assert trial["status"] in ("completed", "failed")
        if trial["status"] == "failed":
            assert trial["message"], "a failed trial says why"


# ---------------------------------------------------------------------- faults during a search


@pytest.mark.slow
def test_a_failing_user_callback_fails_its_trial_only(tmp_path):
    import keras

    class Broken(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise ValueError("my callback broke")

    spec = tw.Spec.from_file("examples/specs/quickstart.json").replace(
        **{"tuner.max_trials": 2, "training.epochs": 3, "data.samples": 60, "tuner.max_consecutive_failed_trials": 5}
    )
    search = Search(spec, tmp_path, callbacks=[Broken()])
    results = search.run()
    assert search.end_reason is EndReason.COMPLETED
    assert results.trials["status"].tolist() == ["failed", "failed"]
    assert all("ValueError: my callback broke" in m for m in results.trials["message"])


def test_callbacks_that_cannot_be_copied_are_refused_before_running(tmp_path):
    import threading

    import keras

    class HoldsALock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.lock = threading.Lock()

    with pytest.raises(tw.SpecError, match="callbacks: HoldsALock cannot be copied for each trial"):
        Search(tw.Spec(), tmp_path, callbacks=[HoldsALock()])


def test_a_space_too_large_for_its_limit_is_refused_before_training(tmp_path):
    spec = tw.Spec.from_file("examples/specs/quickstart.json").replace(
        **{
            "model.layers": Fixed(1),
            "model.units": Choice((4, 512)),
            "training.max_parameters": 2_000,
        }
    )
    with pytest.raises(tw.SpecError) as info:
        Search(spec, tmp_path)
    assert str(info.value) == (
        "model.units: the largest model of this search has 11,265 weights (about 180 KB to train, 135 KB of "
        "checkpoint per trial), more than training.max_parameters (2,000); search fewer layers, units or filters, "
        "or raise training.max_parameters"
    )
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


@pytest.mark.slow
def test_keyboard_interrupt_records_the_search_as_stopped(tmp_path):
    """Ctrl-C in a terminal or a kernel interrupt reaches the process running the search (not its workers)."""
    import signal

    from tunewidgets.events import EpochEnded

    from .keras_callbacks import SlowEpochs

    spec = tw.Spec.from_file("examples/specs/quickstart.json").replace(
        **{"tuner.max_trials": 3, "training.epochs": 3, "data.samples": 60}
    )
    search = Search(spec, tmp_path, callbacks=[SlowEpochs(0.3)])
    search.events.subscribe(lambda e: e.epoch == 2 and signal.raise_signal(signal.SIGINT), EpochEnded)
    with pytest.raises(KeyboardInterrupt):
        search.run()
    assert search.end_reason is EndReason.STOPPED
    loaded = tw.load(tmp_path)
    assert loaded.status == "stopped"
    assert loaded.trials["status"].tolist() == ["stopped"]
    assert "interrupted" in loaded.trials["message"].iloc[0]
    # and it resumes to completion
    results = Search(spec, tmp_path).run()
    assert results.trials["status"].tolist() == ["completed"] * 3
