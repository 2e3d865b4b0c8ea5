"""Spec files in the dashboard: save the controls as a spec, load one into them, or open an uploaded one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..spec import Spec
from . import html as h
from . import widgets as w
from .rows import row


class SpecFiles:
    """Save spec / Load spec / Open spec. ``read`` gives the controls' spec (raising :class:`SpecError`
    while it has problems); ``apply`` fills the controls from a spec."""

    def __init__(self, read: Callable[[], Spec], apply: Callable[[Spec], None]):
        self._read = read
        self._apply = apply
        self.path = w.Text(value="search.json", description="Spec file", style={"description_width": "initial"})
        self.save_button = w.Button(description="Save spec", icon="download")
        self.load_button = w.Button(description="Load spec", icon="upload")
        self.save_button.on_click(lambda _: self.save(self.path.value))
        self.load_button.on_click(lambda _: self.load(self.path.value))
        self.upload = w.FileUpload(accept=".json", multiple=False, description="Open spec")
        self.upload.observe(self._on_upload, names="value")
        self.share_button = w.Button(
            description="Share", icon="share-alt", tooltip="This setup as one short line of text to paste or send"
        )
        self.share_text = w.Textarea(
            value="",
            placeholder="Share gives this setup as text (tw1....)",
            layout=w.shared_layout(width="98%", height="56px"),
        )
        self.paste = w.Text(
            value="", placeholder="paste a setup here (tw1....) or a spec's JSON", layout=w.shared_layout(width="70%")
        )
        self.open_text_button = w.Button(description="Open", icon="folder-open", tooltip="Fill the controls from it")
        self.share_button.on_click(lambda _: self.share())
        self.open_text_button.on_click(lambda _: self.open_text(self.paste.value))
        self.message = w.HTML()
        self.box = w.VBox(
            [
                row(self.path, self.save_button, self.load_button),
                self.upload,
                w.HTML("<b>Share a setup</b> (a lesson included): send the text, students paste it."),
                self.share_button,
                self.share_text,
                row(self.paste, self.open_text_button),
                self.message,
            ]
        )

    def share(self) -> str | None:
        """The current setup as one line of text (shown in the box to copy); None while it has problems."""
        try:
            text = self._read().to_text()
        except SpecError as e:
            self.message.value = h.error(f"Not shared: {e}")
            return None
        self.share_text.value = text
        self.message.value = f"Copy the text above ({len(text)} characters); Open reads it back."
        return text

    def open_text(self, text: str) -> bool:
        """Fills the controls from a shared setup's text; a bad text is reported, the controls kept."""
        try:
            spec = Spec.from_text(text)
        except SpecError as e:
            self.message.value = h.error(f"Not opened: {e}")
            return False
        self._apply(spec)
        self.message.value = f"Opened the setup {h.fmt(spec.name)}"
        return True

    def save(self, path: str | os.PathLike[str]) -> Path | None:
        """Writes the current spec to a JSON file (refused while it has problems)."""
        try:
            spec = self._read()
        except SpecError as e:
            self.message.value = h.error(f"Not saved: {e}")
            return None
        p = Path(path)
        spec.save(p)
        self.message.value = f"Saved the spec to {h.code(p)}"
        return p

    def load(self, path: str | os.PathLike[str]) -> bool:
        """Fills the controls from a spec file; a bad file is reported, the controls kept."""
        try:
            spec = Spec.from_file(path)
        except SpecError as e:
            self.message.value = h.error(f"Not loaded: {e}")
            return False
        self._apply(spec)
        self.message.value = f"Loaded {h.code(path)}"
        return True

    def _on_upload(self, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        try:
            spec = Spec.from_bytes(bytes(files[0]["content"]), files[0]["name"])
        except SpecError as e:
            self.message.value = h.error(f"Not loaded: {e}")
            return
        self._apply(spec)
        self.message.value = f"Loaded {h.fmt(files[0]['name'])}"
