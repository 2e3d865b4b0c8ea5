"""The History tab: the searches in the dashboard's base folder, and the ones a student picks, side by side."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..engine import Results, load
from ..engine.folder.project import Project
from ..errors import ProjectError, SpecError
from . import html as h
from . import widgets as w
from .rows import row


def _row(r: Results) -> str:
    best = r.record.best()
    score = f"{best.score:.4f}" if best is not None and best.score is not None else "-"
    t = r.spec.tuner
    strategy = t.algorithm + (f" + {t.pruning}" if t.pruning != "none" else "")
    seconds = sum(x.duration or 0.0 for x in r.record.snapshot())
    return (
        f"{r.directory.name}: {r.spec.name}, {strategy}, {len(r.record.trials)} trials, best {score}, {seconds:.0f} s"
    )


class HistoryPanel:
    """Lists the searches under ``base_dir`` (name, tuner, trials, best, time); Compare overlays the picked ones."""

    def __init__(self, base_dir: Path):
        self.base_dir = Path(base_dir)
        self._results: dict[str, Results] = {}
        self._loaded: dict[Path, tuple[float, Results]] = {}  # each folder's results, by its event log's time
        self.searches = w.SelectMultiple(
            options=[],
            rows=8,
            layout=w.shared_layout(width="100%"),
            tooltip="Pick two or more searches (Ctrl or Shift) to compare them",
        )
        self.refresh_button = w.Button(description="Refresh", icon="refresh", tooltip="Look for new searches")
        self.compare_button = w.Button(
            description="Compare",
            icon="line-chart",
            button_style="info",
            tooltip="Best so far against trials and against training time, and every trial's score, one colour each",
        )
        self.message = w.HTML()
        self.figure_box = w.VBox([])
        self.refresh_button.on_click(lambda _: self.refresh())
        self.compare_button.on_click(lambda _: self.compare())
        self.box = w.VBox(
            [
                w.HTML("Searches in this dashboard's folder, newest first:"),
                self.searches,
                row(self.refresh_button, self.compare_button),
                self.message,
            ]
        )

    def refresh(self) -> list[str]:
        """Reads the base folder again; returns the searches' folder names, newest first."""
        folders = []
        if self.base_dir.is_dir():
            candidates = [p for p in self.base_dir.iterdir() if p.is_dir() and Project(p).spec.exists()]
            folders = sorted(candidates, key=lambda p: p.stat().st_mtime, reverse=True)
        results: dict[str, Results] = {}
        for folder in folders:
            events = Project(folder).events
            stamp = events.stat().st_mtime if events.exists() else 0.0
            cached = self._loaded.get(folder)
            if cached is not None and cached[0] == stamp:  # unchanged since it was read: not read again
                results[folder.name] = cached[1]
                continue
            try:
                results[folder.name] = load(folder)
            except (ProjectError, SpecError, OSError, ValueError):
                continue  # a folder being written, or not a search: skipped
            self._loaded[folder] = (stamp, results[folder.name])
        self._results = results
        chosen = [v for v in self.searches.value if v in results]
        self.searches.options = [(_row(r), name) for name, r in results.items()]
        self.searches.value = tuple(chosen)
        self.message.value = "" if results else "No searches yet: press Run."
        return list(results)

    def compare(self, names: list[str] | None = None) -> Any:
        """Overlays the picked searches (or ``names``); returns the figure, or None with a message."""
        from ..plots import compare

        names = list(names if names is not None else self.searches.value)
        picked = [self._results[n] for n in names if n in self._results]
        if len(picked) < 2:
            self.message.value = h.error("Pick two or more searches to compare.")
            return None
        try:
            fig = compare(picked, labels=[f"{r.directory.name} ({r.spec.tuner.algorithm})" for r in picked])
        except ValueError as e:
            self.message.value = h.error(str(e))
            return None
        from ..plots import figure_widget

        widget = figure_widget(fig)
        self.figure_box.children = [widget]
        self.message.value = f"Comparing {len(picked)} searches: {html.escape(', '.join(names))}"
        return widget


__all__ = ["HistoryPanel"]
