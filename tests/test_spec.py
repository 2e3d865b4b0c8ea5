"""Specs: JSON round trips, parsing and validation messages."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tunewidgets import SpecError
from tunewidgets.data import file_issues
from tunewidgets.spec import (
    SECTIONS,
    Choice,
    Fixed,
    Range,
    Spec,
    section_fields,
)
from tunewidgets.spec.knobs import knob_from_json

from .conftest import SPECS

# ---------------------------------------------------------------------- strategies

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


def scalar_for(info):
    if info.kind == "int":
        return st.integers(-5, 10_000)
    if info.kind == "float":
        return finite
    if info.kind == "bool":
        return st.booleans()
    if info.options:
        return st.sampled_from(info.options)
    return st.text(max_size=12)


def knob_for(info):
    scalar = scalar_for(info)
    options = [
        st.builds(Fixed, scalar),
        st.builds(lambda xs: Choice(tuple(xs)), st.lists(scalar, min_size=1, max_size=4)),
    ]
    if info.kind in ("int", "float"):
        options.append(st.builds(Range, scalar, scalar, st.none() | scalar, st.booleans()))
    return st.one_of(options)


def section_strategy(section):
    cls = SECTIONS[section]
    fields = {}
    for name, info in section_fields(section):
        if info.tunable:
            fields[name] = knob_for(info)
        elif info.kind == "strlist":
            fields[name] = st.none() | st.lists(st.text(max_size=8), max_size=3).map(tuple)
        else:
            value = scalar_for(info)
            fields[name] = (st.none() | value) if info.nullable else value
    return st.builds(cls, **fields)


specs = st.builds(Spec, **{s: section_strategy(s) for s in SECTIONS}, name=st.text(min_size=1, max_size=20))


# ---------------------------------------------------------------------- round trips


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_any_spec_round_trips_through_json_unchanged(spec):
    text = json.dumps(spec.to_dict())
    back = Spec.from_dict(json.loads(text), validate=False)
    assert back == spec
    assert back.to_dict() == spec.to_dict()


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.json")), ids=lambda p: p.stem)
def test_example_specs_are_valid_and_canonical(path):
    spec = Spec.from_file(path)
    assert spec.validate() == []
    assert json.loads(path.read_text()) == spec.to_dict()


def test_knob_shorthands():
    assert knob_from_json(3) == Fixed(3)
    assert knob_from_json(["a", "b"]) == Choice(("a", "b"))
    assert knob_from_json({"choices": [1, 2]}) == Choice((1, 2))
    assert knob_from_json({"min": 1, "max": 4, "step": 1}) == Range(1, 4, 1)
    assert knob_from_json({"min": 1e-4, "max": 1e-1, "log": True}) == Range(1e-4, 1e-1, None, True)


def test_float_fields_read_integers_as_floats():
    spec = Spec.from_dict({"optimizer": {"learning_rate": 1}})
    assert spec.optimizer.learning_rate == Fixed(1.0)
    assert isinstance(spec.optimizer.learning_rate.value, float)


def test_missing_fields_take_defaults():
    assert Spec.from_dict({}) == Spec()


def test_replace_reaches_into_sections():
    spec = Spec().replace(**{"tuner.max_trials": 3, "training.epochs": 2, "name": "x"})
    assert (spec.tuner.max_trials, spec.training.epochs, spec.name) == (3, 2, "x")


# ---------------------------------------------------------------------- bad specs

BAD_SPECS = [
    ({"model": {"units": {"min": 256, "max": 64}}}, "model.units", "min 256 is above max 64"),
    (
        {"optimizer": {"learning_rate": {"min": 0.0, "max": 0.1, "log": True}}},
        "optimizer.learning_rate",
        "out of range: must be above 0",
    ),
    (
        {"regularization": {"strength": {"min": -1.0, "max": 0.1, "log": True}}},
        "regularization.strength",
        "out of range",
    ),
    ({"model": {"layers": "three"}}, "model.layers", "expected a whole number, got 'three'"),
    ({"model": {"layers": 2.5}}, "model.layers", "expected a whole number"),
    ({"model": {"activation": {"choices": ["relu", "swoosh"]}}}, "model.activation", "unknown value 'swoosh'"),
    ({"model": {"activation": {"choices": []}}}, "model.activation", "at least one value"),
    ({"model": {"activation": {"choices": ["relu", "relu"]}}}, "model.activation", "repeat"),
    ({"model": {"activation": {"min": 1, "max": 2}}}, "model.activation", "a range needs numbers"),
    ({"model": {"units": {"min": 16}}}, "model.units", "needs both 'min' and 'max'"),
    ({"model": {"units": {"min": 16, "max": 64, "step": 0}}}, "model.units", "step 0 must be positive"),
    ({"model": {"units": {"min": 16, "max": 64, "step": 100}}}, "model.units", "larger than the range"),
    ({"model": {"units": {"min": 16, "max": 64, "log": True, "step": 1}}}, "model.units", "must be above 1"),
    ({"model": {"units": {"min": 16, "max": 64, "by": 2}}}, "model.units", "unexpected key(s) ['by']"),
    ({"model": {"unit": 3}}, "model.unit", "did you mean 'units'"),
    ({"modle": {}}, "modle", "did you mean 'model'"),
    ({"regularization": {"dropout": 1.0}}, "regularization.dropout", "must be below 1"),
    ({"optimizer": {"name": "adamax"}}, "optimizer.name", "unknown value 'adamax'"),
    ({"optimizer": {"momentum": {"min": 0.5, "max": 1.5}}}, "optimizer.momentum", "max 1.5 is out of range"),
    ({"training": {"epochs": 0}}, "training.epochs", "must be at least 1"),
    ({"training": {"batch_size": {"choices": [32, "big"]}}}, "training.batch_size", "expected a whole number"),
    ({"training": {"early_stopping": "yes"}}, "training.early_stopping", "expected true or false"),
    ({"tuner": {"algorithm": "evolution"}}, "tuner.algorithm", "unknown value 'evolution'"),
    ({"tuner": {"max_trials": -1}}, "tuner.max_trials", "must be at least 1"),
    ({"tuner": {"factor": 1}}, "tuner.factor", "must be at least 2"),
    ({"tuner": {"algorithm": "grid"}}, "optimizer.learning_rate", "grid search needs a step"),
    (
        {"data": {"name": "diabetes"}, "tuner": {"objective": "val_accuracy"}},
        "tuner.objective",
        "needs a classification task",
    ),
    ({"data": {"name": "iris"}, "tuner": {"objective": "val_mae"}}, "tuner.objective", "needs a regression task"),
    ({"tuner": {"objective": "val_loss", "direction": "max"}}, "tuner.direction", "should be minimized"),
    ({"data": {"name": "iris", "task": "regression"}}, "data.task", "'iris' is a multiclass data set"),
    ({"data": {"name": "mnist"}}, "data.name", "unknown value 'mnist'"),
    ({"data": {"source": "csv"}}, "data.path", "choose a CSV file"),
    ({"data": {"source": "csv", "path": "x.csv"}}, "data.target", "choose the target column"),
    ({"data": {"test_split": 0.95}}, "data.test_split", "must be at most 0.9"),
    ({"data": {"validation_split": 0}}, "data.validation_split", "must be above 0"),
    ({"data": {"classes": 20, "features": 3}}, "data.features", "20 classes need at least 6 features"),
    ({"model": {"architecture": "cnn"}}, "model.architecture", "cnn needs image data"),
    ({"model": {"architecture": "transformer"}}, "model.architecture", "unknown value 'transformer'"),
    ({"name": ""}, "name", "give the search a name"),
    ({"data": {"columns": 5}}, "data.columns", "expected a list of column names"),
]


@pytest.mark.parametrize("raw,path,message", BAD_SPECS, ids=[f"{i}-{c[1]}" for i, c in enumerate(BAD_SPECS)])
def test_bad_spec_names_field_and_problem(raw, path, message):
    with pytest.raises(SpecError) as info:
        Spec.from_dict(raw)
    matching = [str(i) for i in info.value.issues if i.path == path]
    assert matching, f"no issue for {path}; got {info.value.issues}"
    assert any(message in m for m in matching), matching
    assert all(m.count(path + ":") == 1 for m in matching), matching


def test_bad_spec_messages_are_distinct():
    messages = set()
    for raw, _, _ in BAD_SPECS:
        with pytest.raises(SpecError) as info:
            Spec.from_dict(raw)
        messages.add(str(info.value))
    assert len(messages) == len(BAD_SPECS)


def test_every_problem_is_reported_at_once():
    raw = {
        "model": {"units": {"min": 256, "max": 64}, "layers": -1},
        "optimizer": {"learning_rate": {"min": 0.0, "max": 1.0, "log": True}},
        "tuner": {"max_trials": 0},
    }
    with pytest.raises(SpecError) as info:
        Spec.from_dict(raw)
    paths = {i.path for i in info.value.issues}
    assert {"model.units", "model.layers", "optimizer.learning_rate", "tuner.max_trials"} <= paths
    assert str(info.value).count("\n") >= 3


def test_log_range_with_zero_min_names_log_scale():
    spec = Spec().replace(**{"optimizer.learning_rate": Range(0.0, 1.0, log=True)})
    # 0 is also out of the field's bounds, so both problems are reported
    assert any("log scale needs min > 0" in str(i) or "above 0" in str(i) for i in spec.validate())
    spec = Spec().replace(**{"training.batch_size": Range(0, 64, log=True)})
    assert any(str(i) == "training.batch_size: min 0 is out of range: must be at least 1" for i in spec.validate())


def test_wrong_version_and_not_an_object():
    with pytest.raises(SpecError, match="version 7; tunewidgets reads version 1"):
        Spec.from_dict({"version": 7})
    with pytest.raises(SpecError, match="a spec is a JSON object"):
        Spec.from_dict([1, 2])
    with pytest.raises(SpecError, match="not valid JSON"):
        Spec.from_json("{oops")


def test_csv_target_must_be_a_column(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("rooms,area,city\n3,70,a\n4,90,b\n")
    spec = Spec().replace(**{"data.source": "csv", "data.path": str(path), "data.target": "price"})
    assert spec.validate() == []  # the spec alone is fine; the file is checked by the data layer
    issues = [str(i) for i in file_issues(spec)]
    assert "data.target: column 'price' not in file (columns: rooms, area, city)" in issues


def test_a_missing_csv_file_is_named():
    spec = Spec.from_dict({"data": {"source": "csv", "path": "/nonexistent/file.csv", "target": "y"}})
    assert [str(i) for i in file_issues(spec)] == ["data.path: file not found: /nonexistent/file.csv"]


@settings(max_examples=200, deadline=None)
@given(specs)
def test_validation_never_raises_on_any_spec(spec):
    issues = spec.validate()
    assert all(i.path and i.message for i in issues)
