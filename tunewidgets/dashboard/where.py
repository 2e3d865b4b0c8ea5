"""The Tuner tab's line saying where the trials run: this machine's worker processes, or a Dask cluster (its
scheduler, workers, threads and GPUs, asked in the background: the kernel never waits on the network)."""

from __future__ import annotations

import html
import threading

from ..engine.cluster import ClusterTarget, describe
from . import widgets as w


class WhereTrialsRun:
    """One line: where a search of this dashboard trains its trials."""

    def __init__(self, cluster: ClusterTarget | None):
        self.cluster = cluster
        self.widget = w.HTML(layout=w.shared_layout(margin="4px 0 0 0"))
        self.refresh()

    def refresh(self) -> None:
        """Says it now; a cluster's workers are counted in the background."""
        if self.cluster is None:
            self.widget.value = (
                "<b>Where trials run:</b> worker processes on this machine (Parallel trials: how many at once)"
            )
            return
        self.widget.value = f"<b>Where trials run:</b> Dask scheduler at {html.escape(str(self.cluster))}: asking..."
        threading.Thread(target=self._describe, name="tunewidgets:where", daemon=True).start()

    def _describe(self) -> None:
        assert self.cluster is not None
        text = describe(self.cluster)
        self.widget.value = (
            f"<b>Where trials run:</b> {html.escape(text)} (Parallel trials: how many train at once there)"
        )


__all__ = ["WhereTrialsRun"]
