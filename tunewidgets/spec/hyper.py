"""The user's own hypermodel in a spec: its name, and how its hyperparameters are narrowed or fixed.

A spec with a ``hypermodel`` section trains the user's ``build_model(hp)`` (or ``keras_tuner.HyperModel``)
instead of the network its model, regularization and optimizer sections describe; its training and tuner
sections still say how (epochs, batch size, the tuner, trials, pruning, fused trials, workers, seed).

``hyperparameters`` holds the user's changes to the hypermodel's own hyperparameters, by name, in the
knobs' JSON form: a range ``{"min": 32, "max": 128, "step": 32}`` (narrowed or widened), choices
``{"choices": ["relu", "tanh"]}`` (some unticked) or a bare value (fixed). They become keras-tuner's
``hyperparameters=`` overrides (its guide "Tailor the search space"); a hyperparameter not named here is
searched as the hypermodel declares it. The code itself is never in the spec: it travels in the search's
folder (``hypermodel.pkl``).

JSON form::

    "hypermodel": {"name": "build_model", "hyperparameters": {"units": {"min": 32, "max": 64, "step": 16},
                                                              "learning_rate": 0.001}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import Issue
from .knobs import Choice, Fixed, Knob, Range, knob_from_json
from .parse import unknown_field

HYPERMODEL_KEYS = ("name", "hyperparameters", "tune_new_entries", "allow_new_entries")


@dataclass(frozen=True)
class HyperModelSpec:
    """The user's hypermodel: its name (for people; the code is in the folder) and the overrides."""

    name: str = "build_model"
    #: ``(hyperparameter name, knob)`` pairs, in the order the user set them
    hyperparameters: tuple[tuple[str, Knob], ...] = ()
    #: keras-tuner's ``tune_new_entries``: the hyperparameters not named above are searched (True) or keep their
    #: defaults (False: only the named ones vary, keras-tuner's "tailored" space)
    tune_new_entries: bool = True
    #: keras-tuner's ``allow_new_entries``: the hypermodel may declare hyperparameters not named above
    allow_new_entries: bool = True

    @property
    def overrides(self) -> dict[str, Knob]:
        return dict(self.hyperparameters)

    def with_overrides(self, overrides: dict[str, Knob]) -> HyperModelSpec:
        return HyperModelSpec(self.name, tuple(overrides.items()), self.tune_new_entries, self.allow_new_entries)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "hyperparameters": {n: k.to_json() for n, k in self.hyperparameters}}
        for key in ("tune_new_entries", "allow_new_entries"):  # written only when not keras-tuner's default
            if getattr(self, key) is not True:
                out[key] = getattr(self, key)
        return out

    def issues(self) -> list[Issue]:
        """What is wrong in the section itself (what the hypermodel declares is checked against it later)."""
        out = []
        if not isinstance(self.name, str) or not self.name.strip():
            out.append(Issue("hypermodel.name", "expected the name of the build function or HyperModel class"))
        for key in ("tune_new_entries", "allow_new_entries"):
            if not isinstance(getattr(self, key), bool):
                out.append(Issue(f"hypermodel.{key}", f"expected true or false, got {getattr(self, key)!r}"))
        for name, knob in self.hyperparameters:
            path = f"hypermodel.hyperparameters.{name}"
            if isinstance(knob, Range):
                if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (knob.min, knob.max)):
                    out.append(Issue(path, f"a range's min and max are numbers, got {knob.min!r} and {knob.max!r}"))
                elif knob.min > knob.max:
                    out.append(Issue(path, f"min ({knob.min:g}) is above max ({knob.max:g})"))
                elif knob.log and knob.min <= 0:
                    out.append(Issue(path, f"a log-scaled range starts above 0, not at {knob.min:g}"))
                elif knob.step is not None and (isinstance(knob.step, bool) or knob.step <= 0):
                    out.append(Issue(path, f"step must be above 0, got {knob.step!r}"))
            elif isinstance(knob, Choice) and not knob.options:
                out.append(Issue(path, "no choice is left: tick at least one, or fix a value"))
        return out


def hypermodel_from_json(raw: Any, issues: list[Issue]) -> HyperModelSpec | None:
    """Reads a spec file's ``hypermodel`` object; problems of shape go to ``issues``."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        issues.append(
            Issue("hypermodel", f"expected an object with name and hyperparameters, got {type(raw).__name__}")
        )
        return None
    for key in raw:
        if key not in HYPERMODEL_KEYS:
            issues.append(Issue(f"hypermodel.{key}", unknown_field(str(key), HYPERMODEL_KEYS)))
    name = raw.get("name", "build_model")
    if not isinstance(name, str):
        issues.append(Issue("hypermodel.name", f"expected text, got {type(name).__name__}"))
        name = "build_model"
    body = raw.get("hyperparameters") or {}
    if not isinstance(body, dict):
        issues.append(
            Issue(
                "hypermodel.hyperparameters",
                f"expected an object of hyperparameters by name, got {type(body).__name__}",
            )
        )
        body = {}
    knobs: list[tuple[str, Knob]] = []
    for key, value in body.items():
        try:
            knobs.append((str(key), knob_from_json(value)))
        except ValueError as e:
            issues.append(Issue(f"hypermodel.hyperparameters.{key}", str(e)))
    entries = {key: raw.get(key, True) for key in ("tune_new_entries", "allow_new_entries")}
    for key, value in entries.items():
        if not isinstance(value, bool):
            issues.append(Issue(f"hypermodel.{key}", f"expected true or false, got {value!r}"))
            entries[key] = True
    return HyperModelSpec(name, tuple(knobs), **entries)


__all__ = ["HYPERMODEL_KEYS", "Choice", "Fixed", "HyperModelSpec", "Range", "hypermodel_from_json"]


# ---------------------------------------------------------------- a hypermodel's space (keras-tuner's JSON)
#: keras-tuner's hyperparameter classes, as the discovered space names them
NUMERIC = ("Int", "Float")


def space_names(space: list[dict[str, Any]]) -> list[str]:
    return [entry["config"]["name"] for entry in space]


def conditions_text(entry: dict[str, Any]) -> str:
    """``when optimizer is sgd`` for a conditional hyperparameter ('' otherwise)."""
    parts = []
    for c in entry["config"].get("conditions") or []:
        cfg = c.get("config", {})
        values = ", ".join(str(v) for v in cfg.get("values", []))
        parts.append(f"{cfg.get('name')} is {values}")
    return f"when {' and '.join(parts)}" if parts else ""


def default_issues(space: list[dict[str, Any]], build: str) -> list[str]:
    """Hyperparameters declared with a default outside their own range (keras-tuner accepts them)."""
    out = []
    for entry in space:
        cfg = entry["config"]
        if entry["class_name"] in NUMERIC and cfg.get("default") is not None:
            low, high, default = cfg["min_value"], cfg["max_value"], cfg["default"]
            if not low <= default <= high:
                out.append(
                    f"{build} declares {cfg['name']} with default {default:g}, outside its range {low:g} to {high:g}"
                )
    return out


def override_issues(space: list[dict[str, Any]], hm: HyperModelSpec) -> list[Issue]:
    """What is wrong with the overrides for the hyperparameters the hypermodel declares."""
    from .parse import did_you_mean

    by_name = {entry["config"]["name"]: entry for entry in space}
    out = []
    for name, knob in hm.hyperparameters:
        path = f"hypermodel.hyperparameters.{name}"
        entry = by_name.get(name)
        if entry is None:
            hint = did_you_mean(name, list(by_name))
            out.append(Issue(path, f"{hm.name} declares no hyperparameter '{name}'{hint}"))
            continue
        kind = entry["class_name"]
        if isinstance(knob, Range):
            if kind not in NUMERIC:
                out.append(
                    Issue(path, f'{name} is a {kind}: give choices {{"choices": [...]}} or one value, not a range')
                )
            elif kind == "Int" and not all(float(v).is_integer() for v in (knob.min, knob.max)):
                out.append(
                    Issue(path, f"{name} is an Int: its range needs whole numbers, got {knob.min:g} to {knob.max:g}")
                )
        elif isinstance(knob, Choice) and kind == "Boolean" and not all(isinstance(v, bool) for v in knob.options):
            out.append(Issue(path, f"{name} is a Boolean: its choices are true and false"))
            continue
        outside = _outside_declared(entry, knob, hm.name)
        if outside:
            out.append(Issue(path, outside))
    return out


def _outside_declared(entry: dict[str, Any], knob: Knob, hypermodel: str) -> str:
    """An override reaching past what the hypermodel declares (``units`` 1000 where it declares 4 to 16, a choice
    it does not offer): the build was written for its own values, so it is refused, not used as given."""
    cfg, kind, name = entry["config"], entry["class_name"], entry["config"]["name"]
    if isinstance(knob, Range):
        given: list[Any] = [knob.min, knob.max]
    elif isinstance(knob, Fixed):
        given = [knob.value]
    elif isinstance(knob, Choice):
        given = list(knob.options)
    else:
        return ""
    if kind in NUMERIC and cfg.get("min_value") is not None and cfg.get("max_value") is not None:
        low, high = cfg["min_value"], cfg["max_value"]
        numbers = [v for v in given if isinstance(v, (int, float)) and not isinstance(v, bool)]
        bad = [v for v in numbers if v < low or v > high]
        if bad:
            return (
                f"{hypermodel} declares {name} from {low:g} to {high:g}; {', '.join(f'{v:g}' for v in bad)} is "
                "outside it: choose values in that range, or widen it in the function"
            )
    elif kind == "Choice":
        bad = [v for v in given if v not in cfg.get("values", [])]
        if bad:
            offered = ", ".join(str(v) for v in cfg.get("values", []))
            return (
                f"{hypermodel} offers {name} as {offered}; {', '.join(str(v) for v in bad)} is not one of them: "
                "choose among those, or add it to the function's choices"
            )
    return ""


def override_configs(space: list[dict[str, Any]], hm: HyperModelSpec) -> list[dict[str, Any]]:
    """keras-tuner's configs of the overridden hyperparameters (their conditions kept), in the space's order."""
    knobs = hm.overrides
    out = []
    for entry in space:
        cfg = entry["config"]
        name = cfg["name"]
        if name not in knobs:
            continue
        knob, kind = knobs[name], entry["class_name"]
        common = {"name": name, "conditions": cfg.get("conditions") or []}
        if isinstance(knob, Fixed) or (isinstance(knob, Choice) and len(knob.options) == 1):
            value = knob.value if isinstance(knob, Fixed) else knob.options[0]
            out.append({"class_name": "Fixed", "config": {**common, "value": value}})
        elif isinstance(knob, Range):
            is_int = kind == "Int"
            low, high = (int(knob.min), int(knob.max)) if is_int else (float(knob.min), float(knob.max))
            step = knob.step if knob.step is not None else (1 if is_int else None)
            if is_int and step is not None:
                step = int(step)
            sampling = "log" if knob.log else "linear"
            out.append(
                {
                    "class_name": kind,
                    "config": {
                        **common,
                        "default": None,
                        "min_value": low,
                        "max_value": high,
                        "step": step,
                        "sampling": sampling,
                    },
                }
            )
        elif kind == "Boolean" and set(knob.options) == {True, False}:
            out.append({"class_name": "Boolean", "config": {**common, "default": bool(cfg.get("default", False))}})
        else:
            ordered = cfg.get("ordered") if kind == "Choice" else all(isinstance(v, (int, float)) for v in knob.options)
            out.append(
                {
                    "class_name": "Choice",
                    "config": {**common, "default": None, "values": list(knob.options), "ordered": ordered},
                }
            )
    return out


def _numbers(values: Any) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def space_scales(space: list[dict[str, Any]], hm: HyperModelSpec | None) -> tuple[set[str], set[str]]:
    """The hyperparameters searched on a log scale, and the numbers searched among a few values (drawn as
    categories), after the overrides."""
    knobs = hm.overrides if hm is not None else {}
    log, categorical = set(), set()
    for entry in space:
        cfg, name = entry["config"], entry["config"]["name"]
        knob = knobs.get(name)
        if isinstance(knob, Range):
            if knob.log:
                log.add(name)
        elif isinstance(knob, Choice) and _numbers(knob.options):
            categorical.add(name)
        elif knob is None and entry["class_name"] in NUMERIC and cfg.get("sampling") == "log":
            log.add(name)
        elif knob is None and entry["class_name"] == "Choice" and _numbers(cfg.get("values", [])):
            categorical.add(name)
    return log, categorical
