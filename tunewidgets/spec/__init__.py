"""The search spec: everything a user tunes, as plain data that round-trips to JSON."""

from .io import read_spec, spec_equal, spec_from_dict, spec_from_json, spec_to_dict, spec_to_json, write_spec
from .knobs import Choice, Fixed, Knob, Range, choice, knob_from_json
from .model import (
    SECTIONS,
    SPEC_VERSION,
    DataSpec,
    FieldInfo,
    ModelSpec,
    OptimizerSpec,
    RegularizationSpec,
    Spec,
    TrainingSpec,
    TunerSpec,
    field_info,
    is_active,
    section_fields,
)
from .validate import check, known_task, resolve_objective, validate

__all__ = [
    "SECTIONS",
    "SPEC_VERSION",
    "Choice",
    "DataSpec",
    "FieldInfo",
    "Fixed",
    "Knob",
    "ModelSpec",
    "OptimizerSpec",
    "Range",
    "RegularizationSpec",
    "Spec",
    "TrainingSpec",
    "TunerSpec",
    "check",
    "choice",
    "field_info",
    "is_active",
    "knob_from_json",
    "known_task",
    "read_spec",
    "resolve_objective",
    "section_fields",
    "spec_equal",
    "spec_from_dict",
    "spec_from_json",
    "spec_to_dict",
    "spec_to_json",
    "validate",
    "write_spec",
]
