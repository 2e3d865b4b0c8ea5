"""The row of buttons that runs a search: Run, Stop, Resume, and Stop this trial with its trial picker."""

from __future__ import annotations

import html

from ..engine.folder.record import SearchRecord
from ..events import EndReason, SearchEnded
from ..progress import trial_number
from . import html as h
from . import widgets as w


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
            options=[], description="Trial", layout=w.shared_layout(width="150px"), style={"description_width": "40px"}
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
            layout=w.shared_layout(flex_flow="row wrap"),
        )

    def running(self) -> None:
        """A search runs, started by Run or by ``dash.run()`` in a cell: Run's place says so, Stop ends it."""
        self.run_button.disabled, self.resume_button.disabled, self.stop_button.disabled = True, True, False
        self.run_button.description, self.run_button.icon = "Running...", "spinner"
        self.run_button.tooltip = "A search is running: Stop ends it; Run starts a new one once it has ended"
        self.stop_button.description = "Stop"

    def ready(self, disabled: bool, folder: object = None) -> None:
        """No search runs: Run starts one (in ``folder``, said on hover), unless ``disabled``."""
        self.run_button.disabled = disabled
        self.run_button.description, self.run_button.icon = "Run", "play"
        where = f"in {folder}" if folder is not None else "in a new folder"
        self.run_button.tooltip = f"Start a new search with these settings {where}"

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


def ended_text(event: SearchEnded, record: SearchRecord, directory: object, next_folder: object = None) -> str:
    """The status line after a search: how it ended, its trials, where the results are, and where Run would
    search next (a new folder at every Run: ``quickstart``, then ``quickstart-2``...)."""
    colour = h.ERROR if event.reason in (EndReason.FAILED, EndReason.ERROR) else "inherit"
    message = f" {html.escape(event.message)}" if event.message and event.reason != EndReason.STOPPED else ""
    counts = record.counts()
    pruned = f"{counts['pruned']} pruned, " if counts["pruned"] else ""
    return (
        f'<span style="color:{colour}">{ENDINGS[event.reason]}{message}</span> '
        f"({counts['completed']} completed, {pruned}{counts['failed']} failed) Results in {h.code(directory)}"
        + (f"; Run starts a new search in {h.code(next_folder)}" if next_folder not in (None, directory) else "")
    )


__all__ = ["ENDINGS", "RunBar", "ended_text"]
