"""The search spec: everything a user tunes, as plain data that round-trips to JSON.

One way to do each thing: build a :class:`Spec` (``Spec()``, ``Spec.from_file``,
``Spec.from_dict``), change it with ``spec.replace(**{"model.units": Range(16, 64)})``, check it
with ``spec.validate()`` / ``spec.check()``, write it with ``spec.save`` / ``spec.to_json``, and
ask what it will train with ``spec.describe()``. Knobs are :class:`Fixed`, :class:`Range` or
:class:`Choice` (``choice(...)`` for short).
"""

from .data import DataSpec
from .fields import FieldInfo
from .knobs import Choice, Fixed, Knob, Range, choice
from .network import ModelSpec, RegularizationSpec
from .sections import SECTIONS, field_info, section_fields
from .spec import SPEC_VERSION, Spec
from .training import OptimizerSpec, TrainingSpec
from .tuner import TunerSpec

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
    "choice",
    "field_info",
    "section_fields",
]
