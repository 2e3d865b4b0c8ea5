"""The run's status, its progress bar and line, and the best so far, drawn from a :class:`ProgressState`."""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING

from ..events import EpochEnded, Event, SearchStarted, TrialEnded, TrialStarted
from ..progress import ProgressState, duration_text
from . import html as h
from . import widgets as w

if TYPE_CHECKING:
    from ..engine.folder.record import SearchRecord


class ProgressView:
    """Fed every event of the running search (and its record, for the best trial's values)."""

    def __init__(self) -> None:
        self.status = w.HTML("Ready.")
        self.progress = w.IntProgress(
            value=0, min=0, max=1, description="Trials", bar_style="info", layout=w.shared_layout(width="420px")
        )
        self.text = w.HTML()
        self.best_so_far = w.HTML()
        self.state = ProgressState()
        self._t0 = 0.0

    def start(self) -> None:
        """A new run: counts start from what its first event says."""
        self.state = ProgressState()
        self._t0 = time.time()
        self.best_so_far.value = ""

    def on_event(self, event: Event, record: SearchRecord) -> None:
        state = self.state
        state.apply(event)
        if isinstance(event, SearchStarted):
            self.progress.max = max(1, event.planned_trials or 1)
            self.progress.value = min(self.progress.max, state.done)
            verb = "Resumed" if event.resumed else "Running"
            # one line, the details folded: Run and the curves stay on one screen
            details = f"Data: {html.escape(event.data_summary)}{h.bullets(event.data_report)}"
            line = f"{verb}: {event.plan or event.algorithm} Objective {event.objective} ({event.direction})."
            self.status.value = (
                f'<details><summary title="{html.escape(line, quote=True)}" style="white-space:nowrap; '
                f'overflow:hidden; text-overflow:ellipsis">{verb}: {html.escape(event.plan or event.algorithm)} '
                f"Objective <b>{html.escape(event.objective)}</b> ({event.direction}).</summary>{details}</details>"
                f"{h.notes(event.notes)}"
            )
            self._show_best(record)
        elif isinstance(event, (TrialStarted, EpochEnded)):
            self._show_progress()
        elif isinstance(event, TrialEnded):
            self.progress.value = min(self.progress.max, state.done)
            self._show_progress()
            self._show_best(record)

    def ended(self) -> None:
        took = duration_text(time.time() - self._t0)
        self.text.value = f"{self.progress.value} of {self.progress.max} trials done; took {took}"

    def _show_progress(self) -> None:
        state = self.state
        text = (
            f"{state.done} of {state.planned_trials} trials done; {state.running_text()}; "
            f"elapsed {duration_text(time.time() - self._t0)}"
        )
        left = state.seconds_left()
        if left is not None:
            text += f"; about {duration_text(left)} left"
        if state.pruned:
            text += f"; pruning stopped {len(state.pruned)} trials early, saving {state.epochs_saved} epochs"
        self.text.value = text

    def _show_best(self, record: SearchRecord) -> None:
        best = record.best()
        if best is None:
            return
        values = h.inline(best.tuned_values())
        plain = html.escape(", ".join(f"{k}={v}" for k, v in best.tuned_values().items()), quote=True)
        # every value, wrapping where the column is narrow (a value cut at "learnin" could only be read by hovering)
        self.best_so_far.value = (
            f"Best so far: trial {best.number}, <b>{html.escape(record.objective)} = "
            f'{best.score:.4f}</b><br><span title="{plain}" style="display:block; line-height:1.3">{values}</span>'
        )
