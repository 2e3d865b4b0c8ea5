"""Size of a spec's search space and how much work it plans (no TensorFlow needed)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .spec.knobs import Choice, Fixed, Knob, Range
from .spec.model import Spec, field_info, is_active, section_fields

TUNED_SECTIONS = ("model", "regularization", "optimizer", "training")

#: hyperparameter names that differ from their spec field names
HP_NAMES = {
    ("optimizer", "name"): "optimizer",
    ("optimizer", "schedule"): "lr_schedule",
    ("regularization", "strength"): "penalty_strength",
}


def hp_name(section: str, name: str) -> str:
    """The keras-tuner hyperparameter name of a spec field."""
    return HP_NAMES.get((section, name), name)


def log_scaled(spec: Spec) -> set[str]:
    """Hyperparameter names searched on a log scale (``units_1``... follow ``units``)."""
    out = set()
    for section in TUNED_SECTIONS:
        for name, info in section_fields(section):
            value = getattr(getattr(spec, section), name)
            if info.tunable and isinstance(value, Range) and value.log:
                out.add(hp_name(section, name))
    if "units" in out:
        out |= {f"units_{i}" for i in range(1, 64)}
    return out


def categorical(spec: Spec) -> set[str]:
    """Hyperparameter names searched among a few numbers (``dropout`` in {0, 0.25}): drawn as categories,
    not on a continuous axis (``units_1``... follow ``units``)."""
    out = set()
    for section in TUNED_SECTIONS:
        for name, info in section_fields(section):
            value = getattr(getattr(spec, section), name)
            if info.tunable and isinstance(value, Choice) and info.kind in ("int", "float"):
                out.add(hp_name(section, name))
    if "units" in out:
        out |= {f"units_{i}" for i in range(1, 64)}
    return out


def knob_size(k: Knob, kind: str) -> float:
    """Distinct values a knob can take (``inf`` for a continuous range)."""
    if isinstance(k, Fixed):
        return 1
    if isinstance(k, Choice):
        return len(k.options)
    if isinstance(k, Range):
        if kind == "int" and k.step is None and not k.log:
            return int(k.max) - int(k.min) + 1
        size = k.size()
        return math.inf if size is None else size
    return 1  # pragma: no cover


def _values(k: Knob) -> tuple[Any, ...]:
    if isinstance(k, Range):
        return tuple(range(int(k.min), int(k.max) + 1, int(k.step or 1)))
    return k.values()


def search_space_size(spec: Spec) -> float:
    """Number of distinct hyperparameter combinations (``inf`` when any range is continuous).

    Knobs that only apply for some values of another (momentum for SGD) count
    only for those values, as keras-tuner's conditional scopes make them.
    """
    total: float = 1
    for section in TUNED_SECTIONS:
        sec = getattr(spec, section)
        fields = dict(section_fields(section))
        children: dict[str, list[str]] = {}
        for name, info in fields.items():
            if info.tunable and info.active_when and fields.get(info.active_when[0]) is not None:
                parent = info.active_when[0]
                if fields[parent].tunable:
                    children.setdefault(parent, []).append(name)
        for name, info in fields.items():
            if not info.tunable or not is_active(spec, section, name):
                continue
            if info.active_when and fields[info.active_when[0]].tunable:
                continue  # counted with its parent
            if section == "model" and name in ("units", "layers", "shape"):
                continue  # counted together below
            parent_knob = getattr(sec, name)
            kids = children.get(name, [])
            if not kids:
                total *= knob_size(parent_knob, info.kind)
                continue
            subtotal: float = 0
            for value in parent_knob.values():
                branch: float = 1
                for kid in kids:
                    if value in field_info(section, kid).active_when[1]:  # type: ignore[index]
                        branch *= knob_size(getattr(sec, kid), field_info(section, kid).kind)
                subtotal += branch
            total *= subtotal
    return total * _layer_space(spec)


def _layer_space(spec: Spec) -> float:
    m = spec.model
    units = knob_size(m.units, "int")
    total: float = 0
    for shape in m.shape.values():
        for layers in _values(m.layers):
            if layers == 0:
                total += 1
            elif shape == "free":
                total += units ** int(layers)
            else:
                total += units
    return total


def hyperband_trials(max_epochs: int, factor: int, iterations: int = 1) -> list[tuple[int, int]]:
    """``(epochs, initial_epoch)`` of every trial keras-tuner's Hyperband runs, in bracket order."""

    def size(bracket: int, rnd: int) -> int:
        end = math.ceil(1 + math.log(max_epochs, factor)) / (bracket + 1)
        return math.ceil(end * factor ** (bracket - rnd))

    def epochs(bracket: int, rnd: int) -> int:
        return math.ceil(max_epochs / factor ** (bracket - rnd))

    brackets, e = 0, float(max_epochs)
    while e >= 1:
        e /= factor
        brackets += 1
    out: list[tuple[int, int]] = []
    for _ in range(iterations):
        for b in range(brackets - 1, -1, -1):
            for r in range(b + 1):
                start = 0 if r == 0 else epochs(b, r - 1)
                out.extend([(epochs(b, r), start)] * size(b, r))
    return out


def planned_trials(spec: Spec) -> int:
    """How many trials the search trains: every tuner runs exactly this many (unless stopped or failing).

    Random, Bayesian and grid search train ``tuner.max_trials`` trials, or every combination of a
    smaller space; Hyperband's brackets decide its own number from ``max_epochs`` and ``factor``.
    """
    t = spec.tuner
    if t.algorithm == "hyperband":
        return len(hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations))
    size = search_space_size(spec)
    return int(min(t.max_trials, size))


def epochs_per_trial(spec: Spec) -> int:
    """The most epochs one trial trains (Hyperband: its ``max_epochs``; else ``training.epochs``)."""
    t = spec.tuner
    return t.max_epochs if t.algorithm == "hyperband" else spec.training.epochs


def planned_epochs(spec: Spec) -> int:
    """Epochs the search trains in all (every trial, every run); fewer only with early stopping."""
    t = spec.tuner
    if t.algorithm == "hyperband":
        per_run = sum(end - start for end, start in hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations))
    else:
        per_run = planned_trials(spec) * spec.training.epochs
    return per_run * t.executions_per_trial


def tuned_knobs(spec: Spec) -> int:
    """How many knobs of the spec are searched (not fixed, and able to matter)."""
    return sum(
        1
        for section in TUNED_SECTIONS
        for name, info in section_fields(section)
        if info.tunable
        and not isinstance(getattr(getattr(spec, section), name), Fixed)
        and is_active(spec, section, name)
    )


def random_starts(spec: Spec) -> int | None:
    """Bayesian optimization: the random trials before its model of the objective chooses (None otherwise).

    ``tuner.initial_points``, or by default a third of the trials, at most three per searched knob,
    at least two (keras-tuner's own default, three per hyperparameter, fixed ones included, is often
    more than the whole budget, which makes the search random under another name).
    """
    t = spec.tuner
    if t.algorithm != "bayesian":
        return None
    if t.initial_points is not None:
        return int(t.initial_points)
    return max(2, min(3 * max(1, tuned_knobs(spec)), planned_trials(spec) // 3))


def hyperband_random_trials(spec: Spec) -> int:
    """Hyperband's trials that start from scratch with new random values (the others carry on one)."""
    t = spec.tuner
    return sum(1 for _, start in hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations) if start == 0)


def budget_notes(spec: Spec) -> list[str]:
    """What a student should know about the budget before pressing Run (warnings, not errors)."""
    notes = []
    starts = random_starts(spec)
    trials = planned_trials(spec)
    if starts is not None and spec.tuner.initial_points is None and starts >= trials:
        notes.append(
            f"With {trials} trials, Bayesian optimization only has time for its {starts} random starts: "
            "it will be a random search. Give it more trials (10 or more) to let its model choose."
        )
    return notes


def describe(spec: Spec) -> str:
    """What the search will do, for people: space size, trials and epochs (exact), random starts."""
    t = spec.tuner
    size = search_space_size(spec)
    size_text = "continuous (infinite)" if math.isinf(size) else f"{int(size):,} combinations"
    trials, epochs = planned_trials(spec), planned_epochs(spec)
    runs = f", {t.executions_per_trial} runs each" if t.executions_per_trial > 1 else ""
    if t.algorithm == "hyperband":
        plan = hyperband_trials(t.max_epochs, t.factor, t.hyperband_iterations)
        lengths = sorted({end - start for end, start in plan})
        work = f"trains {trials} trials of {lengths[0]} to {lengths[-1]} epochs{runs}"
    else:
        work = f"trains {trials} trials x {spec.training.epochs} epochs{runs}"
    total = f"{epochs:,} epochs in all"
    if spec.training.early_stopping:
        total = f"at most {total} (early stopping may end trials sooner)"
    text = f"Search space: {size_text}. {ALGORITHM_NAMES[t.algorithm]} {work}, {total}."
    starts = random_starts(spec)
    if starts is not None:
        guided = max(0, trials - starts)
        text += f" The first {min(starts, trials)} trials are random, then its model of the objective chooses {guided}."
    return text


ALGORITHM_NAMES = {
    "random": "Random search",
    "bayesian": "Bayesian optimization",
    "hyperband": "Hyperband",
    "grid": "Grid search",
}


# ---------------------------------------------------------------------- model size

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
    from ._memory import total_mb

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
    return max(_values(k)) if isinstance(k, Range) else max(k.values())


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

    Counts what :func:`tunewidgets.hypermodel.build_model` builds (tested against Keras'
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
        for blocks in sorted({int(b) for b in _values(m.conv_blocks)}):
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
    slots = max(OPTIMIZER_SLOTS[name] for name in spec.optimizer.name.values())
    return ModelSize(best, slots)


def size_text(spec: Spec, input_shape: tuple[int, ...] | None = None, outputs: int | None = None) -> str:
    """The largest model of the space and its limit, for people; '' when the inputs are not known yet
    (a CSV file's columns are counted when its data is loaded)."""
    if input_shape is None or outputs is None:
        from .spec.datasets import builtin_shape

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
    """``1.5 GB``, ``320 MB``, ``12 KB``."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover
