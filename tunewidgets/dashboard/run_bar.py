"""The row of buttons that runs a search: Run, Stop, Resume, and Stop this trial with its trial picker."""

from __future__ import annotations

import html

import ipywidgets as w

from ..engine.folder.record import SearchRecord
from ..events import EndReason, SearchEnded
from ..progress import trial_number
from . import html as h


class RunBar:
    """Buttons only: the dashboard wires their clicks."""

    def __init__(self) -> None:
        self.run_button = w.Button(
            description="Run",
            button_style="success",
            icon="play",
            tooltip="Start a new search with these settings in a new folder",
        )
        self.stop_button = w.Button(
            description="Stop",
            button_style="danger",
            icon="stop",
            disabled=True,
            tooltip="Stop after the current epoch; everything so far is kept",
        )
        self.resume_button = w.Button(
            description="Resume",
            button_style="info",
            icon="forward",
            disabled=True,
            tooltip="Continue the stopped search where it ended",
        )
        self.trial_choice = w.Dropdown(
            options=[], description="Trial", layout=w.Layout(width="150px"), style={"description_width": "40px"}
        )
        self.stop_trial_button = w.Button(
            description="Stop this trial",
            icon="step-forward",
            disabled=True,
            tooltip="End only this trial after its current epoch (it keeps the score of its best epoch); "
            "the search goes on with the next one",
        )
        self.box = w.HBox(
            [self.run_button, self.stop_button, self.resume_button, self.trial_choice, self.stop_trial_button],
            layout=w.Layout(flex_flow="row wrap"),
        )

    def offer(self, running: list[str]) -> None:
        """The trials Stop this trial can end now (the chosen one kept while it runs)."""
        chosen = self.trial_choice.value
        self.trial_choice.options = [(f"trial {trial_number(t)}", t) for t in running]
        self.trial_choice.value = chosen if chosen in running else (running[0] if running else None)
        self.stop_trial_button.disabled = not running


ENDINGS = {
    EndReason.COMPLETED: "Search completed.",
    EndReason.STOPPED: "Stopped. Everything so far is kept; Resume continues it.",
    EndReason.FAILED: "Search ended: too many trials failed in a row.",
    EndReason.ERROR: "The search broke.",
    EndReason.TARGET_REACHED: "Search ended: the target was reached.",
}


def ended_text(event: SearchEnded, record: SearchRecord, directory: object) -> str:
    """The status line after a search: how it ended, its trials, and where the results are."""
    colour = h.ERROR if event.reason in (EndReason.FAILED, EndReason.ERROR) else "inherit"
    message = f" {html.escape(event.message)}" if event.message and event.reason != EndReason.STOPPED else ""
    counts = record.counts()
    pruned = f"{counts['pruned']} pruned, " if counts["pruned"] else ""
    return (
        f'<span style="color:{colour}">{ENDINGS[event.reason]}{message}</span> '
        f"({counts['completed']} completed, {pruned}{counts['failed']} failed) Results in {h.code(directory)}"
    )


__all__ = ["ENDINGS", "RunBar", "ended_text"]
