"""What the live views follow, behind one small protocol.

The views follow a running :class:`~tunewidgets.engine.Search` (its live record), a search's
:class:`~tunewidgets.engine.Results` (a tunewidgets folder or a keras-tuner one) or a bare
:class:`~tunewidgets.engine.folder.record.SearchRecord`. :func:`view_source` turns each into a
:class:`ViewSource`, so the views ask one thing one way instead of guessing what they were given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..engine.folder.record import SearchRecord
from ..engine.results import Results
from ..spec.hyper import space_scales
from ..spec.space import categorical, log_scaled

if TYPE_CHECKING:
    from ..engine.search import Search


@runtime_checkable
class ViewSource(Protocol):
    """What the live views read of what they show."""

    @property
    def record(self) -> SearchRecord:
        """The trials, as they are now (a running search's grows)."""
        ...

    def scales(self) -> tuple[set[str], set[str]]:
        """The hyperparameters drawn on a log axis, and those drawn as categories."""
        ...

    def dataset(self) -> Any:
        """The prepared data (for a two-input classifier's decision boundary); None when none is kept."""
        ...

    def notes(self) -> tuple[str, str]:
        """What the empty curves say: why a folder has no curves, and what a search about to start will train."""
        ...


@dataclass
class RecordSource:
    """A bare record: its trials, no scales, no data."""

    source: SearchRecord

    @property
    def record(self) -> SearchRecord:
        return self.source

    def scales(self) -> tuple[set[str], set[str]]:
        return set(), set()

    def dataset(self) -> Any:
        return None

    def notes(self) -> tuple[str, str]:
        return "", ""


@dataclass
class ResultsSource:
    """A search's results from its folder (a tunewidgets search, or a keras-tuner project)."""

    source: Results

    @property
    def record(self) -> SearchRecord:
        return self.source.record

    def scales(self) -> tuple[set[str], set[str]]:
        return set(self.source.log_scaled), set(self.source.categorical)

    def dataset(self) -> Any:
        try:
            return self.source.dataset
        except (OSError, ValueError, LookupError):  # data never prepared, or none kept (a keras-tuner folder)
            return None

    def notes(self) -> tuple[str, str]:
        return self.source.curves_note, ""


@dataclass
class SearchSource:
    """A search, running or about to: its live record, its spec's scales and your own hypermodel's space."""

    source: Search

    @property
    def record(self) -> SearchRecord:
        return self.source.record

    def scales(self) -> tuple[set[str], set[str]]:
        spec = self.source.spec
        log, grouped = log_scaled(spec), categorical(spec)
        if self.source.space:  # your own hypermodel's, once the search has found them
            more_log, more_grouped = space_scales(self.source.space, spec.hypermodel)
            log, grouped = log | more_log, grouped | more_grouped
        return log, grouped

    def dataset(self) -> Any:
        return self.source.dataset

    def notes(self) -> tuple[str, str]:
        from ..spec.budget import planned_trials
        from ..spec.space import epochs_per_trial

        trials = planned_trials(self.source.spec)
        waiting = (
            f"Starting: {trials} trial{'s' if trials != 1 else ''} of up to {epochs_per_trial(self.source.spec)} "
            "epochs; each curve appears as its trial trains"
        )
        return "", waiting


def view_source(source: Any) -> ViewSource:
    """The :class:`ViewSource` of what the views are given (one already is one)."""
    if source is None:
        return RecordSource(SearchRecord())
    if isinstance(source, SearchRecord):
        return RecordSource(source)
    if isinstance(source, Results):
        return ResultsSource(source)
    from ..engine.search import Search  # (imported already where a Search exists: not at the views' import)

    if isinstance(source, Search):
        return SearchSource(source)
    if isinstance(source, ViewSource):
        return source
    raise TypeError(f"the live views show a Search, a search's Results or a SearchRecord, not {type(source).__name__}")


__all__ = ["RecordSource", "ResultsSource", "SearchSource", "ViewSource", "view_source"]
