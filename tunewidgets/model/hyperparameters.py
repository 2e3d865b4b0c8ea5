"""A spec's knobs as keras-tuner hyperparameters, and a trial's values as the values a model is built from.

The spec's knobs become keras-tuner hyperparameters: ``Fixed`` -> ``hp.Fixed``, ``Range`` ->
``hp.Int`` / ``hp.Float`` (``sampling="log"`` on a log scale), ``Choice`` -> ``hp.Choice``
(``hp.Boolean`` for true/false). A knob that only matters for some values of another (momentum only
for SGD) is declared inside keras-tuner's ``conditional_scope``, so grid and Bayesian search see the
real space; which knobs, their names and their conditions are the rules of
:mod:`tunewidgets.spec.space`.

Nothing here imports keras-tuner: the tuner hands its ``HyperParameters`` in, and a finished trial's
recorded values are read back through :class:`RecordedValues`, which answers as keras-tuner would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from ..spec.knobs import Fixed, Knob, Range
from ..spec.plan import layer_widths
from ..spec.sections import field_info
from ..spec.space import conditions, hp_name, possible

if TYPE_CHECKING:
    from ..spec import Spec


class HyperParameters(Protocol):
    """What this module asks of keras-tuner's ``HyperParameters`` (and :class:`RecordedValues` gives)."""

    def Fixed(self, name: str, value: Any) -> Any: ...  # noqa: N802 - keras-tuner's names

    def Int(self, name: str, min_value: int, max_value: int, step: int | None = ..., sampling: str = ...) -> Any: ...  # noqa: N802

    def Float(  # noqa: N802
        self, name: str, min_value: float, max_value: float, step: float | None = ..., sampling: str = ...
    ) -> Any: ...

    def Boolean(self, name: str, default: bool = ...) -> Any: ...  # noqa: N802

    def Choice(self, name: str, values: list[Any], ordered: bool | None = ...) -> Any: ...  # noqa: N802

    def conditional_scope(self, parent_name: str, parent_values: list[Any]) -> Any: ...


class SpaceBuilder:
    """Declares a spec's knobs on a ``HyperParameters`` and reads their values."""

    def __init__(self, spec: Spec, hp: HyperParameters):
        self.spec = spec
        self.hp = hp

    def _declare(self, name: str, k: Knob, kind: str) -> Any:
        hp = self.hp
        if isinstance(k, Fixed):
            return hp.Fixed(name, k.value)
        if isinstance(k, Range):
            sampling = "log" if k.log else "linear"
            if kind == "int":
                return hp.Int(
                    name, int(k.min), int(k.max), step=None if k.step is None else int(k.step), sampling=sampling
                )
            return hp.Float(name, float(k.min), float(k.max), step=k.step, sampling=sampling)
        if kind == "bool" and set(k.options) == {True, False}:
            return hp.Boolean(name, default=bool(k.options[0]))
        return hp.Choice(name, list(k.options), ordered=kind in ("int", "float"))

    def value(
        self, section: str, name: str, *, extra: list[tuple[str, list[Any]]] | None = None, as_name: str | None = None
    ) -> Any:
        """The value of ``section.name`` for this trial; ``None`` when it does not apply.

        ``extra`` adds conditions ``(hp name, values)`` beside the field's own.
        """
        info = field_info(section, name)
        sec = getattr(self.spec, section)
        scopes = conditions(self.spec, section, name)
        if scopes is None:
            return None
        scopes = [*scopes, *(extra or [])]
        with contextlib.ExitStack() as stack:
            for parent_hp, values in scopes:
                stack.enter_context(self.hp.conditional_scope(parent_hp, values))
            return self._declare(as_name or hp_name(section, name), getattr(sec, name), info.kind)


def layer_units(space: SpaceBuilder, n_layers: int) -> list[int]:
    """The hidden layers' widths for this trial (declaring ``units`` and, for a free shape, ``units_i``)."""
    spec = space.spec
    units = space.value("model", "units")
    shape = space.value("model", "shape")
    layers_knob = spec.model.layers
    max_layers = max(possible(layers_knob, "int")) if not isinstance(layers_knob, Fixed) else layers_knob.value
    free_possible = "free" in possible(spec.model.shape, "str")
    per_layer: dict[int, Any] = {}
    if free_possible:
        for i in range(1, int(max_layers)):
            # keras-tuner scopes cannot nest two unrelated parents, so units_i hangs on
            # the layer count when that is tuned (unused unless the shape is free),
            # else on the shape.
            extra: list[tuple[str, list[Any]]] = []
            if not isinstance(layers_knob, Fixed):
                extra.append(("layers", [v for v in possible(layers_knob, "int") if v > i]))
            elif int(layers_knob.value) <= i:
                continue
            elif not isinstance(spec.model.shape, Fixed):
                extra.append(("shape", ["free"]))
            per_layer[i] = space.value("model", "units", extra=extra, as_name=f"units_{i}")
    return layer_widths(str(shape), int(units), n_layers, per_layer)


def declare(spec: Spec, hp: HyperParameters) -> dict[str, Any]:
    """Declares every hyperparameter of ``spec`` on ``hp`` and returns this trial's build values."""
    s = SpaceBuilder(spec, hp)
    v: dict[str, Any] = {}
    m = spec.model
    if m.architecture == "cnn":
        for name in ("conv_blocks", "filters", "kernel_size"):
            v[name] = s.value("model", name)
    v["layers"] = s.value("model", "layers")
    v["units_per_layer"] = layer_units(s, int(v["layers"]))
    for name in ("activation", "batch_norm", "residual"):
        v[name] = s.value("model", name)
    v["penalty"] = s.value("regularization", "penalty")
    v["penalty_strength"] = s.value("regularization", "strength")
    v["dropout"] = s.value("regularization", "dropout")
    for name in (
        "name",
        "learning_rate",
        "momentum",
        "nesterov",
        "weight_decay",
        "schedule",
        "decay_rate",
        "decay_epochs",
    ):
        v[hp_name("optimizer", name)] = s.value("optimizer", name)
    v["batch_size"] = s.value("training", "batch_size")
    return v


class RecordedValues:
    """A finished trial's recorded hyperparameter values, answering declarations as keras-tuner would:
    the recorded value, the default when none was recorded, ``None`` inside a scope that does not hold."""

    def __init__(self, values: dict[str, Any]):
        self.values = {k: v for k, v in values.items() if not k.startswith("tuner/")}
        self._scopes: list[tuple[str, list[Any]]] = []

    def _get(self, name: str, default: Any) -> Any:
        if any(self.values.get(parent) not in allowed for parent, allowed in self._scopes):
            return None
        return self.values.get(name, default)

    def Fixed(self, name: str, value: Any) -> Any:  # noqa: N802
        return self._get(name, value)

    def Int(self, name: str, min_value: int, max_value: int, step: int | None = None, sampling: str = "linear") -> Any:  # noqa: N802
        return self._get(name, min_value)

    def Float(  # noqa: N802
        self, name: str, min_value: float, max_value: float, step: float | None = None, sampling: str = "linear"
    ) -> Any:
        return self._get(name, min_value)

    def Boolean(self, name: str, default: bool = False) -> Any:  # noqa: N802
        return self._get(name, default)

    def Choice(self, name: str, values: list[Any], ordered: bool | None = None) -> Any:  # noqa: N802
        return self._get(name, values[0])

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: list[Any]) -> Iterator[None]:
        self._scopes.append((parent_name, list(parent_values)))
        try:
            yield
        finally:
            self._scopes.pop()


def values_from_hp(spec: Spec, hp_values: dict[str, Any]) -> dict[str, Any]:
    """Build values for a finished trial's hyperparameters (as recorded in its results)."""
    return declare(spec, RecordedValues(hp_values))


__all__ = ["HyperParameters", "RecordedValues", "SpaceBuilder", "declare", "layer_units", "values_from_hp"]
