"""The sections of a spec, in order, and the description of each of their fields."""

from __future__ import annotations

import dataclasses

from .data import DataSpec
from .fields import FieldInfo
from .network import ModelSpec, RegularizationSpec
from .training import OptimizerSpec, TrainingSpec
from .tuner import TunerSpec

SECTIONS: dict[str, type] = {
    "data": DataSpec,
    "model": ModelSpec,
    "regularization": RegularizationSpec,
    "optimizer": OptimizerSpec,
    "training": TrainingSpec,
    "tuner": TunerSpec,
}


def field_info(section: str, name: str) -> FieldInfo:
    """The :class:`FieldInfo` of ``section.name``."""
    for f in dataclasses.fields(SECTIONS[section]):
        if f.name == name:
            return f.metadata["info"]
    raise KeyError(f"{section}.{name}")


def section_fields(section: str) -> list[tuple[str, FieldInfo]]:
    """``(name, info)`` for every field of a section, in declaration order."""
    return [(f.name, f.metadata["info"]) for f in dataclasses.fields(SECTIONS[section])]
