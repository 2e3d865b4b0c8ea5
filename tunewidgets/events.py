"""Search events and the dispatcher observers subscribe to.

The engine publishes these; the dashboard, the live plots, the command line's
progress display and the on-disk record all observe the same stream. Events are
plain data and serialize to one JSON line each, so a recorded search can be
replayed into the same views.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

log = logging.getLogger(__name__)


class TrialStatus(str, enum.Enum):
    """Where a trial stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"  # stopped by the user or cut off by a crash; re-run on resume
    PRUNED = "pruned"  # ended early by the pruning rule; its score is its best epoch's
    USER_STOPPED = "user_stopped"  # one trial stopped by the user (``Search.stop_trial``); the search went on

    def is_finished(self) -> bool:
        return self in (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.PRUNED, TrialStatus.USER_STOPPED)

    def has_score(self) -> bool:
        """Trained to a score: completed, or ended early (its best epoch before it was stopped)."""
        return self in (TrialStatus.COMPLETED, TrialStatus.PRUNED, TrialStatus.USER_STOPPED)


class EndReason(str, enum.Enum):
    """Why a search ended."""

    COMPLETED = "completed"  # every planned trial ran
    STOPPED = "stopped"  # stopped by request; can be resumed
    FAILED = "failed"  # too many trials failed in a row
    ERROR = "error"  # the search itself broke
    TARGET_REACHED = "target_reached"  # a trial reached tuner.target: nothing more to search for


_T = TypeVar("_T")


class Direction(str, enum.Enum):
    """Whether a higher (``max``) or a lower (``min``) objective is better: the one place that says what that
    means. JSON, the spec and keras-tuner write it as those words; ``Direction(word)`` reads one."""

    MAX = "max"
    MIN = "min"

    def __str__(self) -> str:  # "max" in messages and f-strings, as the JSON says it
        return self.value

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a > b if self is Direction.MAX else a < b

    def pick(self, values: Iterable[_T], key: Callable[[_T], Any] = lambda v: v) -> _T:
        """The best of ``values`` (by ``key``): their ``max`` or their ``min``."""
        return max(values, key=key) if self is Direction.MAX else min(values, key=key)

    @property
    def worst(self) -> float:
        """What any number beats: ``-inf`` for ``max``, ``inf`` for ``min``."""
        return -math.inf if self is Direction.MAX else math.inf

    @classmethod
    def read(cls, value: Any, default: Direction) -> Direction:
        """``value`` as a file or a setting writes it (``"max"`` / ``"min"``), or ``default`` when it is neither."""
        try:
            return cls(value)
        except (ValueError, TypeError):
            return default


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class SearchStarted:
    name: str
    objective: str
    direction: Direction  # a "max" / "min" given (read from JSON, say) is made a Direction
    algorithm: str
    planned_trials: int | None
    epochs: int  # the most epochs one trial trains
    resumed: bool
    data_summary: str = ""
    #: what the search will train, in words (trials, epochs, random starts): the same text ``validate`` gives
    plan: str = ""
    #: epochs the search trains in all (every trial and run)
    planned_epochs: int | None = None
    #: what data preparation did (read, imputed, encoded, dropped, scaled), one line each
    data_report: list[str] = field(default_factory=list)
    #: warnings to read before training (a budget that cannot work as hoped, disk space)
    notes: list[str] = field(default_factory=list)
    #: models each trial trains (cross-validation folds, or runs per trial)
    runs_per_trial: int = 1
    #: on resume: the trials that already ended (completed or failed) and the best of them so far
    finished_trials: list[str] = field(default_factory=list)
    best_trial_id: str | None = None
    best_score: float | None = None
    time: float = field(default_factory=_now)
    kind = "search_started"

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", Direction(self.direction))


@dataclass(frozen=True)
class TrialStarted:
    trial_id: str
    hyperparameters: dict[str, Any]
    worker: str = "tuner0"
    time: float = field(default_factory=_now)
    kind = "trial_started"


@dataclass(frozen=True)
class EpochEnded:
    trial_id: str
    epoch: int  # 1-based
    metrics: dict[str, float]
    execution: int = 0
    time: float = field(default_factory=_now)
    kind = "epoch_ended"


@dataclass(frozen=True)
class TrialEnded:
    trial_id: str
    status: TrialStatus
    score: float | None
    best_epoch: int | None
    duration: float
    message: str = ""
    time: float = field(default_factory=_now)
    #: values declared while it trained (a hypermodel's own ``fit`` choosing its batch size), if any
    declared: dict[str, Any] | None = None
    kind = "trial_ended"


@dataclass(frozen=True)
class BoundaryUpdated:
    """A classifier's predictions over the plane of its two inputs, at the end of an epoch (2-D data only).

    ``values`` holds one row per grid line along y, from ``y_range[0]`` to ``y_range[1]``, each with one
    value per grid line along x: the probability of the second class (``shows`` "probability") or the
    predicted class ("class").
    """

    trial_id: str
    epoch: int  # 1-based
    values: list[list[float]]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    shows: str = "probability"
    execution: int = 0
    time: float = field(default_factory=_now)
    kind = "boundary_updated"


@dataclass(frozen=True)
class SearchEnded:
    reason: EndReason
    message: str = ""
    best_trial_id: str | None = None
    best_score: float | None = None
    time: float = field(default_factory=_now)
    kind = "search_ended"


Event = Union[SearchStarted, TrialStarted, EpochEnded, TrialEnded, BoundaryUpdated, SearchEnded]
EVENT_TYPES: dict[str, type] = {
    cls.kind: cls for cls in (SearchStarted, TrialStarted, EpochEnded, TrialEnded, BoundaryUpdated, SearchEnded)
}


def clean_value(value: Any) -> Any:
    """JSON-safe: non-finite floats become None, numpy scalars become Python ones."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_value(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def restore_float(value: Any) -> Any:
    if value is None:
        return math.nan
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    out = {"event": event.kind}
    out.update(clean_value(dataclasses.asdict(event)))
    return out


def event_from_dict(raw: dict[str, Any]) -> Event:
    raw = dict(raw)
    cls = EVENT_TYPES[raw.pop("event")]
    names = {f.name for f in dataclasses.fields(cls)}
    raw = {k: v for k, v in raw.items() if k in names}
    if cls is EpochEnded:
        raw["metrics"] = {k: restore_float(v) for k, v in raw["metrics"].items()}
    if cls is TrialEnded:
        raw["status"] = TrialStatus(raw["status"])
    if cls is SearchEnded:
        raw["reason"] = EndReason(raw["reason"])
    if cls is BoundaryUpdated:
        raw["x_range"], raw["y_range"] = tuple(raw["x_range"]), tuple(raw["y_range"])
    return cls(**raw)


Handler = Callable[[Event], None]


class EventBus:
    """Delivers events to every subscriber; one failing handler does not stop the others.

    Handlers run on the thread that publishes (the search thread for a
    background search), so they should be quick; views throttle themselves.
    """

    def __init__(self) -> None:
        self._handlers: list[tuple[Handler, tuple[type, ...] | None]] = []
        self._lock = threading.Lock()
        self.errors: list[BaseException] = []

    def subscribe(self, handler: Handler, *kinds: type, remove: bool = False) -> Callable[[], None]:
        """Calls ``handler(event)`` for every event (or only the given event classes).

        Returns a function that unsubscribes. ``remove=True`` unsubscribes now.
        """
        entry = (handler, kinds or None)
        with self._lock:
            if remove:
                self._handlers = [h for h in self._handlers if h[0] is not handler]
                return lambda: None
            self._handlers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._handlers:
                    self._handlers.remove(entry)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            handlers = list(self._handlers)
        for handler, kinds in handlers:
            if kinds is not None and not isinstance(event, kinds):
                continue
            try:
                handler(event)
            except Exception as e:  # noqa: BLE001 - an observer must not break the search
                self.errors.append(e)
                log.exception("event handler %r failed on %s", handler, event.kind)
