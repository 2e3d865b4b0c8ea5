"""The size guard: the largest model a search space can build, what it costs, and the limit.

Counted without Keras from the network's plan (:mod:`tunewidgets.spec.plan`), the one
:func:`tunewidgets.model.build.build_model` builds (tested against Keras' ``count_params``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import plan
from .datasets import builtin_shape
from .knobs import Knob, Range
from .sections import section_fields
from .space import hp_name, is_active, possible

if TYPE_CHECKING:
    from .spec import Spec

#: Bytes of one weight (float32).
WEIGHT_BYTES = 4
#: Extra copies of every weight an optimizer keeps (Adam: first and second moments), from the optimizers' table.
OPTIMIZER_SLOTS = {name: kind.slots for name, kind in plan.OPTIMIZER_TABLE.items()}
#: Numeric network knobs whose every value is tried: the weights do not only grow with them (more conv blocks
#: pool more). The weights grow with every other numeric knob: its top is tried.
EVERY_VALUE = {"conv_blocks"}
#: Build values that change no weight count, for the plans of the largest model.
_UNCOUNTED = {
    "penalty": "none",
    "penalty_strength": None,
    "dropout": 0.0,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "batch_size": 1,
}
#: The default size limit lets the largest model's training state (weights, gradients, optimizer
#: slots) take at most this share of the machine's (or container's) memory.
MEMORY_SHARE = 0.25


@dataclass(frozen=True)
class ModelSize:
    """The largest model of a search space and what it costs."""

    weights: int  # every weight of the network, trainable or not
    slots: int  # optimizer copies per weight, for the hungriest optimizer of the space

    @property
    def checkpoint_bytes(self) -> int:
        """A trial's checkpoint: the weights and the optimizer's state."""
        return self.weights * WEIGHT_BYTES * (1 + self.slots)

    @property
    def training_bytes(self) -> int:
        """Weights, gradients and optimizer slots while training (activations not counted)."""
        return self.weights * WEIGHT_BYTES * (2 + self.slots)


def default_max_parameters() -> int:
    """The size limit when ``training.max_parameters`` is empty: sized for this machine's memory.

    The largest model's training state may take a quarter of the memory (of the container, on
    Binder): about 33 million weights with 2 GB, 390 million with 24 GB. Rounded down to two
    significant digits, so the limit reads as a plain number.
    """
    from .._memory import total_mb

    total = total_mb()
    if not math.isfinite(total):
        total = 8 * 1024.0
    raw = int(total * 2**20 * MEMORY_SHARE / (WEIGHT_BYTES * (2 + max(OPTIMIZER_SLOTS.values()))))
    magnitude = 10 ** max(0, len(str(raw)) - 2)
    return max(1, raw // magnitude * magnitude)


def max_parameters(spec: Spec) -> int:
    """The size limit of a search: ``training.max_parameters``, or the default for this machine."""
    limit = spec.training.max_parameters
    return int(limit) if limit is not None else default_max_parameters()


def _top(k: Knob) -> Any:
    return max(possible(k, "int")) if isinstance(k, Range) else max(k.values())


def _candidates(spec: Spec, input_shape: tuple[int, ...]) -> dict[str, tuple[Any, ...]]:
    """The build values the largest model is looked for among: the top of a numeric network knob, every
    value of the others (and of those in ``EVERY_VALUE``)."""
    out: dict[str, tuple[Any, ...]] = {}
    for name, info in section_fields("model"):
        if not info.tunable or not is_active(spec, "model", name):
            continue
        k = getattr(spec.model, name)
        numeric = info.kind in ("int", "float") and name not in EVERY_VALUE
        out[hp_name("model", name)] = (_top(k),) if numeric else tuple(possible(k, info.kind))
    if len(input_shape) != 3:  # no convolutions on a table (validation says so)
        out.pop("conv_blocks", None)
    return out


def largest_model(spec: Spec, input_shape: tuple[int, ...], outputs: int) -> ModelSize:
    """The most weights any trial of ``spec`` can build, for inputs of ``input_shape``.

    Counts the plan of each worst case (:meth:`tunewidgets.spec.plan.NetworkPlan.weights`, what
    :func:`tunewidgets.model.build.build_model` builds), without Keras: every count only grows with layers,
    units and filters, so the largest model takes the top of each range and every one of the choices that
    change its form.
    """
    candidates = _candidates(spec, input_shape)
    task, classes = ("multiclass", outputs) if outputs > 1 else ("regression", None)
    best = 0
    for combo in itertools.product(*candidates.values()):
        values = {**_UNCOUNTED, **dict(zip(candidates, combo, strict=True))}
        units, layers = int(values["units"]), int(values["layers"])
        values["units_per_layer"] = plan.layer_widths(
            str(values["shape"]), units, layers, dict.fromkeys(range(layers), units)
        )
        best = max(best, plan.network_plan(values, input_shape, task, classes, 1, 1).weights())
    slots = max(OPTIMIZER_SLOTS[str(name)] for name in spec.optimizer.name.values())
    return ModelSize(best, slots)


def size_text(spec: Spec, input_shape: tuple[int, ...] | None = None, outputs: int | None = None) -> str:
    """The largest model of the space and its limit, for people; '' when the inputs are not known yet
    (a CSV file's columns are counted when its data is loaded)."""
    if input_shape is None or outputs is None:
        known = builtin_shape(spec)
        if known is None:
            return ""
        input_shape, outputs = known
    size = largest_model(spec, input_shape, outputs)
    return (
        f"Largest model: {size.weights:,} weights (about {human_bytes(size.checkpoint_bytes)} of checkpoint per "
        f"trial); the limit is {max_parameters(spec):,}."
    )


def human_bytes(n: float) -> str:
    """``1.5 GB``, ``320 MB``, ``12.0 KB``: one decimal below 100, none above."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" or n >= 100 else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover
