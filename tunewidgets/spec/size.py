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
#: pool more; fewer filters can flatten to a width a dense layer projects rather than adds as it is). The
#: hidden layers' widths (``units``) are searched by :class:`_Stacks`. The weights grow with every other
#: numeric knob (the kernel size): its top is tried.
EVERY_VALUE = {"conv_blocks", "filters", "layers"}
#: Network knobs whose values never change a weight count (an activation is a layer without weights): one value
#: of each is enough for the plans of the largest model.
WEIGHTLESS = {"activation"}
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


def _drawn(k: Knob) -> tuple[int, ...]:
    """Every whole number an integer knob can take: a log range without a step any between its ends, one with a
    step its min times each power of the step (as keras-tuner draws them)."""
    if isinstance(k, Range) and k.log:
        if k.step is None:
            return tuple(range(math.ceil(k.min), math.floor(k.max) + 1))
        return tuple(int(k.min * k.step**i) for i in range(k.size() or 0))
    return tuple(int(v) for v in possible(k, "int"))


def _candidates(spec: Spec, input_shape: tuple[int, ...]) -> dict[str, tuple[Any, ...]]:
    """The build values the largest model is looked for among, but the widths: the top of a numeric network knob,
    every value of the others (and of those in ``EVERY_VALUE``)."""
    out: dict[str, tuple[Any, ...]] = {}
    for name, info in section_fields("model"):
        if not info.tunable or not is_active(spec, "model", name) or name == "units":
            continue
        k = getattr(spec.model, name)
        if info.kind == "int":
            out[hp_name("model", name)] = _drawn(k) if name in EVERY_VALUE else (max(_drawn(k)),)
        else:
            values = tuple(possible(k, info.kind))
            out[hp_name("model", name)] = values[:1] if name in WEIGHTLESS else values
    if len(input_shape) != 3:  # no convolutions on a table (validation says so)
        out.pop("conv_blocks", None)
    return out


#: The most weights of some layers and the widths of those layers that have them.
_Heaviest = tuple[int, tuple[int, ...]]


class _Stacks:
    """The heaviest hidden layers (as many as one of ``depths``) and output layer on each input width, for one shape,
    batch normalization and skip setting, their widths drawn from ``widths``: for a free shape, a dynamic program
    over the layers whose state is the width.

    A layer weighs (:meth:`tunewidgets.spec.plan.Dense.weights`) more the wider its inputs and its units while its
    skip connection stays of one kind; the output layer more the wider its inputs. So only the three widest widths
    and the input width can be a layer's in a heaviest network: a layer as wide as neither neighbour can take the
    widest width different from both, a run of equal widths (its skips added as they are) the widest different from
    the run's two neighbours. A funnel's later layers only widen with its first (a projection only adds weights).
    """

    def __init__(self, form: tuple[str, bool, bool], widths: tuple[int, ...], depths: tuple[int, ...], head: plan.Head):
        (self.shape, self.batch_norm, self.residual), self.depths, self.head = form, depths, head
        self.widths = frozenset(widths)
        self.widest = frozenset(sorted(self.widths)[-3:])
        self._on: dict[int, _Heaviest] = {}
        self._after: dict[int, _Heaviest] = {}
        self._free: dict[tuple[int, int], _Heaviest] = {}

    def layer(self, width_in: int, units: int) -> int:
        """The weights of a hidden layer of ``units`` on ``width_in`` inputs."""
        skip = plan.skip_connection(width_in, units, self.residual)
        return plan.Dense(units, self.batch_norm, "relu", 0.0, skip).weights(width_in)

    def _next(self, width_in: int) -> frozenset[int]:
        """The widths a layer on ``width_in`` inputs can have in a heaviest network."""
        return self.widest | ({width_in} & self.widths)

    def heaviest_on(self, width_in: int) -> _Heaviest:
        """The most weights of the hidden layers and the output layer on ``width_in`` inputs, and the widths."""
        if width_in not in self._on:
            found: list[_Heaviest] = [(self.head.weights(width_in), ())] if 0 in self.depths else []
            for units in self._next(width_in) if max(self.depths) else ():
                rest, after = self.after(units)
                found.append((self.layer(width_in, units) + rest, (units, *after)))
            self._on[width_in] = max(found)
        return self._on[width_in]

    def after(self, first: int) -> _Heaviest:
        """The most weights of the layers after a first of width ``first`` and of the output layer, and the widths."""
        if first not in self._after:
            found: list[_Heaviest] = []
            if self.shape == "free":  # each layer's width its own: the heaviest on the first's width
                found = [self.free(first, layers - 1) for layers in self.depths if layers]
            else:  # the first's width sets the others'
                total, widths = 0, plan.layer_widths(self.shape, first, max(self.depths))
                for n in range(1, len(widths) + 1):  # n layers: the first n of the most
                    if n > 1:
                        total += self.layer(widths[n - 2], widths[n - 1])
                    if n in self.depths:
                        found.append((total + self.head.weights(widths[n - 1]), tuple(widths[1:n])))
            self._after[first] = max(found)
        return self._after[first]

    def free(self, width_in: int, layers: int) -> _Heaviest:
        """The most weights of ``layers`` free hidden layers and the output layer on ``width_in`` inputs."""
        key = (width_in, layers)
        if key not in self._free:
            found: list[_Heaviest] = [(self.head.weights(width_in), ())] if not layers else []
            for units in self._next(width_in) if layers else ():
                rest, after = self.free(units, layers - 1)
                found.append((self.layer(width_in, units) + rest, (units, *after)))
            self._free[key] = max(found)
        return self._free[key]


def largest_model(spec: Spec, input_shape: tuple[int, ...], outputs: int) -> ModelSize:
    """The most weights any trial of ``spec`` can build, for inputs of ``input_shape``.

    Counts the plan of the worst case (:meth:`tunewidgets.spec.plan.NetworkPlan.weights`, what
    :func:`tunewidgets.model.build.build_model` builds), without Keras. The weights do not only grow with the
    widths: a skip connection between layers of one width has none, one between different widths a projection.
    So every convolution part (each number of blocks and of filters, the widest kernel) feeds its flattened width
    to the heaviest hidden layers on it (:class:`_Stacks`: of any layer count), for each shape and setting.
    """
    candidates = _candidates(spec, input_shape)
    depths, widths = tuple(int(n) for n in candidates.pop("layers")), _drawn(spec.model.units)
    task, classes = ("multiclass", outputs) if outputs > 1 else ("regression", None)
    head = plan.output_head(task, classes)
    stacks: dict[tuple[str, bool, bool], _Stacks] = {}
    best, heaviest = -1, dict[str, Any](_UNCOUNTED)
    for combo in itertools.product(*candidates.values()):
        values = {**_UNCOUNTED, **dict(zip(candidates, combo, strict=True)), "units_per_layer": []}
        convs = plan.network_plan(values, input_shape, task, classes, 1, 1)  # no hidden layer yet
        form = (str(values["shape"]), bool(values.get("batch_norm")), bool(values.get("residual")))
        if form not in stacks:
            stacks[form] = _Stacks(form, widths, depths, head)
        weights, units = stacks[form].heaviest_on(convs.flat_width)
        if convs.conv_weights() + weights > best:
            best, heaviest = convs.conv_weights() + weights, {**values, "layers": len(units), "units_per_layer": units}
    size = plan.network_plan(heaviest, input_shape, task, classes, 1, 1).weights()
    slots = max(OPTIMIZER_SLOTS[str(name)] for name in spec.optimizer.name.values())
    return ModelSize(size, slots)


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
