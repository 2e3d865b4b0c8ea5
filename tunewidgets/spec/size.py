"""The size guard: the largest model a search space can build, what it costs, and the limit.

Counted without Keras, exactly as :func:`tunewidgets.model.build.build_model` builds (tested
against Keras' ``count_params``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .datasets import builtin_shape
from .knobs import Knob, Range
from .space import possible

if TYPE_CHECKING:
    from .spec import Spec

#: Bytes of one weight (float32).
WEIGHT_BYTES = 4
#: Extra copies of every weight an optimizer keeps (Adam: first and second moments).
OPTIMIZER_SLOTS = {"sgd": 1, "adam": 2, "adamw": 2, "rmsprop": 2, "adagrad": 1}
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


def _dense_weights(inputs: int, units: list[int], batch_norm: bool, residual: bool, outputs: int) -> int:
    total, width = 0, inputs
    for u in units:
        total += width * u + u + (4 * u if batch_norm else 0)  # kernel, bias; gamma, beta, moving mean, variance
        if residual and width != u:
            total += width * u  # the skip projection (no bias)
        width = u
    return total + width * outputs + outputs


def largest_model(spec: Spec, input_shape: tuple[int, ...], outputs: int) -> ModelSize:
    """The most weights any trial of ``spec`` can build, for inputs of ``input_shape``.

    Counts what :func:`tunewidgets.model.build.build_model` builds (tested against Keras'
    ``count_params``), without Keras: every count only grows with layers, units and filters, so the
    largest model takes the top of each range and the worst of the choices that change its form.
    """
    m = spec.model
    layers = int(_top(m.layers))
    units = int(_top(m.units))
    norms = [bool(v) for v in m.batch_norm.values()]
    residuals = [bool(v) for v in m.residual.values()]
    best = 0
    conv_options: list[tuple[int, int]] = [(0, int(math.prod(input_shape)))]  # (conv weights, flat width)
    if m.architecture == "cnn" and len(input_shape) == 3:
        filters, kernel = int(_top(m.filters)), int(_top(m.kernel_size))
        conv_options = []
        for blocks in sorted({int(b) for b in possible(m.conv_blocks, "int")}):
            for norm in norms:
                h, w_, c, weights = input_shape[0], input_shape[1], input_shape[2], 0
                for i in range(blocks):
                    out = filters * 2**i
                    weights += kernel * kernel * c * out + out + (4 * out if norm else 0)
                    c = out
                    if h >= 2 and w_ >= 2:
                        h, w_ = h // 2, w_ // 2
                conv_options.append((weights, h * w_ * c))
    for shape in m.shape.values():
        widths = [max(1, units // 2**i) if shape == "funnel" else units for i in range(layers)]
        for conv_weights, flat in conv_options:
            for norm in norms:
                for residual in residuals:
                    best = max(best, conv_weights + _dense_weights(flat, widths, norm, residual, outputs))
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
