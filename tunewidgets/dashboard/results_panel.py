"""The results panel: the best trial, its score on the test split, saving it, and its Keras code.

It asks :class:`~tunewidgets.engine.results.Results` for everything: scoring and saving happen in a
worker process and the code is written from the recorded values, so the kernel never imports Keras.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.results import Results

from . import html as h
from . import widgets as w
from .rows import row


class ResultsPanel:
    """Shows a search's results once it has a best trial; the buttons act on that trial."""

    def __init__(self) -> None:
        self.results: Results | None = None
        self.best_box = w.HTML()
        self.evaluate_button = w.Button(
            description="Evaluate on test split", icon="check", disabled=True, layout=w.shared_layout(width="auto")
        )
        self.evaluate_button.on_click(lambda _: self.evaluate())
        self.model_path = w.Text(
            value="best_model.keras", description="Model file", style={"description_width": "initial"}
        )
        self.save_model_button = w.Button(description="Save best model", icon="save", disabled=True)
        self.save_model_button.on_click(lambda _: self.save_best_model())
        self.code_button = w.Button(description="Show Keras code", icon="code", disabled=True)
        self.code_button.on_click(lambda _: self.show_code())
        self.output = w.HTML()
        self.code = w.HTML()
        self.box = w.VBox(
            [
                self.best_box,
                row(self.evaluate_button, self.model_path, self.save_model_button, self.code_button),
                self.output,
                self.code,
            ]
        )

    @property
    def _buttons(self) -> tuple[w.Button, ...]:
        return (self.evaluate_button, self.save_model_button, self.code_button)

    def clear(self) -> None:
        """A new search starts: nothing to show yet."""
        self.results = None
        for button in self._buttons:
            button.disabled = True
        self.best_box.value = self.output.value = self.code.value = ""

    def show(self, results: Results) -> None:
        """Shows the best trial of ``results`` and enables the buttons (when a trial completed)."""
        self.results = results
        best = results.record.best()
        if best is None:
            return
        self.best_box.value = (
            f"<h4 style='margin:6px 0'>Best trial {best.number}: "
            f"{html.escape(results.objective)} = {best.score:.4f}</h4>{h.table(best.tuned_values())}"
        )
        for button in self._buttons:
            button.disabled = False

    def evaluate(self) -> dict[str, float] | None:
        """Scores the best model on the test split (in a worker process) and shows it."""
        if self.results is None:
            return None
        self.output.value = "Scoring the best model on the test split (in a worker process)..."
        try:
            scores = self.results.evaluate()
            line = self.results.test_summary()
        except (LookupError, OSError, RuntimeError) as e:
            self.output.value = h.error(str(e))
            return None
        self.output.value = f"<b>Best model on the test split:</b> {html.escape(line)}" + h.table(scores)
        return scores

    def save_best_model(self, path: str | None = None) -> Path | None:
        """Saves the best model as ``.keras`` (the Model file box by default)."""
        if self.results is None:
            return None
        try:
            saved = self.results.save_best_model(path or self.model_path.value)
        except (ValueError, LookupError, OSError, RuntimeError) as e:
            self.output.value = h.error(str(e))
            return None
        self.output.value = f"Saved the best model to {h.code(saved)}"
        return saved

    def best_model_code(self) -> str | None:
        """Keras code that builds the best model."""
        if self.results is None or self.results.best_trial is None:
            return None
        return str(self.results.model_code())

    def show_code(self) -> None:
        code = self.best_model_code()
        if code is not None:
            self.code.value = f"<pre style='font-size:12px'>{html.escape(code)}</pre>"
