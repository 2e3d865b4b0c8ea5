"""Spec input that once gave a raw traceback or a puzzling message: each now answers with a
:class:`SpecError` naming the field and what to do, and the forms that are fine are read as meant."""

from __future__ import annotations

import base64
import codecs
import json
import zlib

import pytest

from tunewidgets import SpecError
from tunewidgets.spec import Choice, Fixed, Range, Spec
from tunewidgets.spec.parse import MAX_DEPTH


def file(content):
    """A spec file's content (text, bytes, or a function making either), written to tmp_path."""
    return ("file", content)


def text(content):
    return ("text", content)


def raw(value):
    return ("dict", value)


def replace(**changes):
    return ("replace", changes)


def setup_text(payload: bytes) -> str:
    """A ``tw1.`` setup text holding ``payload`` (as Spec.to_text writes one)."""
    return "tw1." + base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode().rstrip("=")


def deep_dict(levels: int) -> str:
    return '{"model": ' * levels + "1" + "}" * levels


def deep_list(levels: int) -> str:
    return '{"model": {"units": ' + "[" * levels + "]" * levels + "}}"


def nested_list(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


def loop() -> dict:
    spec: dict = {}
    spec["model"] = spec
    return spec


def read(tmp_path, how, value):
    value = value() if callable(value) else value
    if how == "file":
        path = tmp_path / "spec.json"
        path.write_bytes(value if isinstance(value, bytes) else value.encode())
        return Spec.from_file(path)
    if how == "text":
        return Spec.from_text(value)
    if how == "dict":
        return Spec.from_dict(value)
    return Spec().replace(**value)


BOM = codecs.BOM_UTF8

# (case id, input, error, the issue's path, words its message must hold)
BAD = [
    # 1. a byte order mark is read; what follows it is still checked
    ("bom-then-a-typo", file(BOM + b'{"model": {"unitz": 3}}'), SpecError, "model.unitz", ["did you mean 'units'"]),
    # 2. nesting too deep for a spec, named as the file (or text) it came in
    ("deep-objects-file", file(lambda: deep_dict(100_000)), SpecError, "", ["spec.json", "nested too deeply"]),
    ("deep-lists-file", file(lambda: deep_list(100_000)), SpecError, "", ["spec.json", "nested too deeply"]),
    ("deep-json-text", text(lambda: deep_dict(100_000)), SpecError, "", ["this text", "nested too deeply"]),
    (
        "deep-setup-text",
        text(lambda: setup_text(deep_dict(100_000).encode())),
        SpecError,
        "",
        ["this setup text", "nested too deeply"],
    ),
    ("deep-but-parsable-file", file(lambda: deep_dict(500)), SpecError, "", ["spec.json", "nested too deeply"]),
    ("deep-dict", raw(lambda: json.loads(deep_dict(MAX_DEPTH + 1))), SpecError, "", ["nested too deeply"]),
    ("deep-list-value", raw(lambda: {"model": {"units": nested_list(100_000)}}), SpecError, "", ["nested too deeply"]),
    ("a-spec-inside-itself", raw(loop), SpecError, "", ["nested too deeply"]),
    # 3. replace: unknown names with the closest field, values of the wrong kind named
    ("replace-field-typo", replace(**{"model.unitz": 3}), SpecError, "model.unitz", ["did you mean 'model.units'"]),
    ("replace-section-typo", replace(**{"modle.units": 3}), SpecError, "modle.units", ["did you mean 'model.units'"]),
    ("replace-no-section", replace(epochs=3), SpecError, "epochs", ["did you mean 'training.epochs'"]),
    ("replace-top-typo", replace(naem="x"), SpecError, "naem", ["did you mean 'name'"]),
    ("replace-too-far", replace(**{"model.units.min": 8}), SpecError, "model.units.min", ["'model.units'"]),
    ("replace-nothing-close", replace(**{"model.zzz": 1}), SpecError, "model.zzz", ["known: architecture, layers"]),
    ("replace-section-value", replace(model=3), SpecError, "model", ["expected a ModelSpec, got 3", "'model."]),
    ("replace-section-dict", replace(model={"units": 8}), SpecError, "model", ["expected a ModelSpec"]),
    ("replace-name-number", replace(name=3), SpecError, "name", ["expected text, got 3"]),
    ("replace-lesson-dict", replace(lesson={"locked": []}), SpecError, "lesson", ["expected a Lesson"]),
    ("replace-version", replace(version=2), SpecError, "version", ["version 1"]),
    ("replace-text-for-int", replace(**{"training.epochs": "3"}), SpecError, "training.epochs", ["got '3'"]),
    ("replace-text-for-trials", replace(**{"tuner.max_trials": "3"}), SpecError, "tuner.max_trials", ["got '3'"]),
    ("replace-text-for-float", replace(**{"tuner.target": "0.9"}), SpecError, "tuner.target", ["got '0.9'"]),
    ("replace-text-for-knob", replace(**{"model.units": "abc"}), SpecError, "model.units", ["whole number"]),
    (
        "replace-text-in-range",
        replace(**{"optimizer.learning_rate": Range("a", 1.0)}),
        SpecError,
        "optimizer.learning_rate",
        ["min: expected a number, got 'a'"],
    ),
    (
        "replace-knob-for-setting",
        replace(**{"training.epochs": Fixed(3)}),
        SpecError,
        "training.epochs",
        ["whole number"],
    ),
    (
        "replace-number-for-bool",
        replace(**{"training.early_stopping": 1}),
        SpecError,
        "training.early_stopping",
        ["true or false, got 1"],
    ),
    ("replace-number-for-columns", replace(**{"data.columns": 5}), SpecError, "data.columns", ["list of column names"]),
    ("replace-none-for-knob", replace(**{"model.units": None}), SpecError, "model.units", ["a value is required"]),
    (
        "replace-bad-range",
        replace(**{"model.units": {"min": 8}}),
        SpecError,
        "model.units",
        ["needs both 'min' and 'max'"],
    ),
    (
        "replace-all-reported",
        replace(**{"model.unitz": 3, "training.epochs": "x"}),
        SpecError,
        "training.epochs",
        ["got 'x'"],
    ),
    # 4. 2.0 is a whole number; 2.5 is not, shown as given
    ("half-epoch-file", file('{"training": {"epochs": 2.5}}'), SpecError, "training.epochs", ["whole number, got 2.5"]),
    ("half-epoch-replace", replace(**{"training.epochs": 2.5}), SpecError, "training.epochs", ["got 2.5"]),
    ("half-unit-choice", raw({"model": {"units": [16.0, 32.5]}}), SpecError, "model.units", ["choice", "got 32.5"]),
    (
        "half-unit-step",
        raw({"model": {"units": {"min": 16.0, "max": 64.0, "step": 0.5}}}),
        SpecError,
        "model.units",
        ["step", "got 0.5"],
    ),
    ("whole-and-float-repeat", raw({"model": {"units": [16, 16.0]}}), SpecError, "model.units", ["repeat"]),
    # 5. splits that leave (next to) nothing to train on: validation takes its share of what the test leaves
    (
        "splits-0.9-0.9",
        file('{"data": {"test_split": 0.9, "validation_split": 0.9}}'),
        SpecError,
        "data.validation_split",
        ["data.test_split 0.9", "data.validation_split 0.9", "1% of the rows to train on", "lower one"],
    ),
    (
        "splits-0.8-0.8",
        raw({"data": {"test_split": 0.8, "validation_split": 0.8}}),
        SpecError,
        "data.validation_split",
        ["data.test_split 0.8", "data.validation_split 0.8", "4%"],
    ),
    # 6. everything else tried
    ("empty-file", file(""), SpecError, "", ["spec.json", "is empty"]),
    ("blank-file", file(" \n\t\n"), SpecError, "", ["is empty"]),
    ("bom-only-file", file(BOM), SpecError, "", ["is empty"]),
    ("list-file", file("[]"), SpecError, "", ["a spec is a JSON object, got list"]),
    ("number-file", file("3"), SpecError, "", ["a spec is a JSON object, got int"]),
    ("null-file", file("null"), SpecError, "", ["a spec is a JSON object, got NoneType"]),
    ("latin-1-file", file('{"name": "café"}'.encode("latin-1")), SpecError, "", ["spec.json", "not UTF-8", "0xe9"]),
    ("binary-file", file(b"\x89PNG\r\n\x1a\n\x00\x00"), SpecError, "", ["not UTF-8", "Save it as UTF-8"]),
    ("not-json-file", file("{oops"), SpecError, "", ["spec.json", "not valid JSON", "line 1"]),
    ("long-number-file", file('{"training": {"epochs": 1' + "0" * 5000 + "}}"), SpecError, "", ["number too long"]),
    ("version-as-text", file('{"version": "1"}'), SpecError, "version", ["expected the number 1, got '1'"]),
    ("null-section", raw({"model": None, "tuner": 3}), SpecError, "tuner", ["expected an object of fields, got int"]),
    ("huge-python-int", raw({"training": {"epochs": 10**5000}}), SpecError, "training.epochs", ["10^5000", "at most"]),
    ("nested-choice", raw({"model": {"units": [nested_list(10)]}}), SpecError, "model.units", ["[[[[...]]]]"]),
    ("long-text-value", raw({"optimizer": {"name": "x" * 10_000}}), SpecError, "optimizer.name", ["unknown value"]),
    ("not-a-dict", raw(None), SpecError, "", ["a spec is a JSON object, got NoneType"]),
    ("empty-text", text(""), SpecError, "", ["starts with 'tw1.'"]),
    ("bytes-for-text", text(b'{"name": "x"}'), SpecError, "", ["expected the setup as text, got bytes"]),
    ("cut-setup-text", text(lambda: Spec().replace(name="a setup").to_text()[:-6]), SpecError, "", ["cut short"]),
    ("setup-text-of-a-list", text(lambda: setup_text(b"[1]")), SpecError, "", ["does not hold a spec"]),
    ("setup-text-bomb", text(lambda: setup_text(b" " * 20 * 2**20)), SpecError, "", ["more than 10 MB"]),
    ("setup-text-not-utf8", text(lambda: setup_text(b"\xff\xfe\xfd")), SpecError, "", ["damaged"]),
]


@pytest.mark.parametrize(("case", "given", "error", "path", "words"), BAD, ids=[row[0] for row in BAD])
def test_bad_input_names_the_field_and_what_to_do(tmp_path, case, given, error, path, words):
    with pytest.raises(error) as info:
        read(tmp_path, *given)
    messages = [i.message for i in info.value.issues if i.path == path]
    assert messages, f"{case}: no issue for {path!r}; got {info.value.issues}"
    assert any(all(w in m for w in words) for m in messages), messages
    assert all(len(str(i)) < 600 for i in info.value.issues), info.value.issues


def test_a_missing_file_and_a_folder_are_named(tmp_path):
    with pytest.raises(SpecError, match="spec file not found"):
        Spec.from_file(tmp_path / "nope.json")
    with pytest.raises(SpecError, match="cannot read spec file .*: Is a directory"):
        Spec.from_file(tmp_path)


# ---------------------------------------------------------------------- forms that are read as meant

SPEC_TEXT = '{"name": "notepad", "training": {"epochs": 3}, "model": {"units": [8, 16]}}'


def test_a_byte_order_mark_reads_as_the_same_spec(tmp_path):
    plain, bom, utf16 = tmp_path / "plain.json", tmp_path / "bom.json", tmp_path / "utf16.json"
    plain.write_text(SPEC_TEXT, encoding="utf-8")
    bom.write_text(SPEC_TEXT, encoding="utf-8-sig")  # as Windows Notepad saves it
    utf16.write_text(SPEC_TEXT, encoding="utf-16")  # Notepad's "Unicode"
    assert bom.read_bytes().startswith(BOM)
    expected = Spec.from_file(plain)
    assert expected.name == "notepad"
    assert Spec.from_file(bom) == expected
    assert Spec.from_file(utf16) == expected
    assert Spec.from_bytes(bom.read_bytes(), "bom.json") == expected
    assert Spec.from_text("\ufeff" + SPEC_TEXT) == expected
    assert Spec.from_json("\ufeff" + SPEC_TEXT) == expected


def test_whole_numbers_written_with_a_point_read_as_ints(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(
        json.dumps(
            {
                "training": {"epochs": 2.0, "batch_size": [16.0, 32]},
                "model": {"units": {"min": 16.0, "max": 64.0, "step": 16.0}, "layers": 2.0},
                "tuner": {"max_trials": 4.0, "seed": 7.0},
                "data": {"samples": 1e3},
            }
        )
    )
    spec = Spec.from_file(path)
    assert spec.training.epochs == 2 and type(spec.training.epochs) is int
    assert spec.training.batch_size == Choice((16, 32))
    assert all(type(v) is int for v in spec.training.batch_size.options)
    assert spec.model.units == Range(16, 64, 16)
    assert all(type(v) is int for v in (spec.model.units.min, spec.model.units.max, spec.model.units.step))
    assert spec.model.layers == Fixed(2) and type(spec.model.layers.value) is int
    assert (spec.tuner.max_trials, spec.tuner.seed, spec.data.samples) == (4, 7, 1000)
    written = spec.to_dict()
    assert written["training"]["epochs"] == 2 and type(written["training"]["epochs"]) is int
    assert '"epochs": 2,' in spec.to_json() and "2.0" not in spec.to_json()
    assert Spec.from_json(spec.to_json()) == spec
    assert Spec.from_text(spec.to_text()) == spec
    replaced = Spec().replace(**{"training.epochs": 2.0, "model.units": Range(8.0, 32.0)})
    assert type(replaced.training.epochs) is int and replaced.to_dict()["training"]["epochs"] == 2
    assert replaced.model.units == Range(8, 32) and type(replaced.model.units.min) is int
    assert type(Spec().replace(**{"optimizer.learning_rate": 1}).optimizer.learning_rate.value) is float


def test_replace_reads_values_as_a_spec_file_does_and_leaves_bounds_to_validate():
    spec = Spec().replace(**{"model.units": 8, "model.activation": ["relu", "tanh"], "data.columns": ["a"]})
    assert spec.model.units == Fixed(8)
    assert spec.model.activation == Choice(("relu", "tanh"))
    assert spec.data.columns == ("a",)
    assert Spec().replace(**{"model.units": Choice([8, 16])}).model.units == Choice((8, 16))
    section = Spec().model
    assert Spec().replace(model=section, **{"model.units": 8}).model.units == Fixed(8)
    too_big = Spec().replace(**{"model.units": 100_000})  # a bound: validation's, as before
    assert [i.path for i in too_big.validate()] == ["model.units"]


def test_splits_that_leave_enough_rows_are_accepted():
    edge = Spec.from_dict({"data": {"test_split": 0.9, "validation_split": 0.5}})  # 5% left to train on
    assert edge.validate() == []
    # with folds the validation rows train too, in the other folds: only the test split counts
    folds = Spec.from_dict({"data": {"test_split": 0.9, "validation_split": 0.9}, "tuner": {"folds": 3}})
    assert folds.validate() == []


def test_a_range_that_differs_in_one_end_survives_the_setup_text():
    spec = Spec().replace(**{"model.units": Range(16, 64, 16), "optimizer.learning_rate": Range(1e-4, 1e-1, log=True)})
    assert Spec.from_text(spec.to_text()) == spec


def test_a_file_far_too_large_is_not_read(tmp_path):
    big = tmp_path / "data.csv"
    with big.open("wb") as f:
        f.truncate(11 * 2**20)
    with pytest.raises(SpecError, match="data.csv is 11 MB: too large to be a spec file"):
        Spec.from_file(big)
