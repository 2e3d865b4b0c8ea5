"""Many trials in a few traces, each update the size of one small trace.

A live figure with a trace per status (completed, failed, ...) would send every point of every trial
again whenever one trial ends: 7.6 MB a trial at 1,000 trials of 20 epochs. :class:`Chunks` draws one
group of trials as a series of traces instead: a trial's part (its curve, its point) goes to the open
chunk, a trace of at most ``size`` trials; a full chunk is sealed and the next one opened; every
``merge`` sealed chunks are joined into one trace, so that 10,000 trials make about 40 traces. A trial's
end rewrites one open chunk (at most ``size`` trials), and a merge, once every ``size * merge`` trials,
rewrites one trace. Chunks opened once the group holds ``gl_after`` trials are WebGL traces, which a
browser draws fast at any size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from ._data import Line, join
from ._figures import set_line


class Chunks:
    """One group of trials drawn in ``fig`` as a series of traces, after its first trace ``first``.

    ``make(gl)`` makes the group's next trace (``go.Scattergl`` when ``gl``), styled as ``first`` but
    out of the legend; ``gaps`` puts a gap between two trials' parts (lines), or not (points).
    """

    def __init__(
        self,
        fig: go.Figure,
        first: Any,
        make: Callable[[bool], Any],
        *,
        gaps: bool = True,
        size: int = 25,
        merge: int = 20,
        gl_after: int = 300,
    ):
        self.fig = fig
        self.make = make
        self.gaps = gaps
        self.size, self.merge, self.gl_after = size, merge, gl_after
        self.traces: list[Any] = [first]  # None: a chunk whose trace is not made yet
        self.parts: list[dict[str, Line]] = [{}]
        self.sealed = [False]
        self.gl = [False]  # whether the chunk's trace is a WebGL one
        self.where: dict[str, int] = {}
        self.dirty: set[int] = set()

    def put(self, trial_id: str, part: Line) -> None:
        """Draws (or redraws) one trial's part."""
        index = self.where.get(trial_id)
        if index is None:
            if len(self.parts[-1]) >= self.size:
                self._seal()
            index = len(self.parts) - 1
            self.where[trial_id] = index
        self.parts[index][trial_id] = part
        self.dirty.add(index)

    def remove(self, trial_id: str) -> None:
        """Takes one trial out of the group (it moved to another, or is drawn afresh)."""
        index = self.where.pop(trial_id, None)
        if index is not None:
            del self.parts[index][trial_id]
            self.dirty.add(index)

    def clear(self) -> None:
        """Every trial out, back to the first trace alone."""
        self._drop(set(range(1, len(self.traces))))
        self.parts, self.sealed, self.gl, self.where = [{}], [False], [False], {}
        self.dirty = {0}

    def flush(self) -> None:
        """Writes the parts of every chunk that changed into its trace (making the traces of new chunks)."""
        new = [i for i in sorted(self.dirty) if self.traces[i] is None]
        if new:
            self._make(new)
        for index in sorted(self.dirty):
            set_line(self.traces[index], join(list(self.parts[index].values()), gaps=self.gaps))
        self.dirty.clear()

    def _seal(self) -> None:
        self.sealed[-1] = True
        run = 0  # the sealed chunks since the last merged one
        for parts, sealed in zip(reversed(self.parts), reversed(self.sealed), strict=True):
            if not sealed or len(parts) > self.size:
                break
            run += 1
        if run >= self.merge:
            self._merge(len(self.parts) - run)
        # the next chunk; its trace is made when it is first written (many trials at once make few traces)
        self.traces.append(None)
        self.parts.append({})
        self.sealed.append(False)
        self.gl.append(len(self.where) >= self.gl_after)

    def _merge(self, start: int) -> None:
        """Chunks ``start``.. become one: the first of them, holding all their trials."""
        merged: dict[str, Line] = {}
        for parts in self.parts[start:]:
            merged.update(parts)
        self._drop(set(range(start + 1, len(self.traces))))
        self.parts[start] = merged
        for trial_id in merged:
            self.where[trial_id] = start
        self.dirty.add(start)

    def _drop(self, indexes: set[int]) -> None:
        if not indexes:
            return
        gone = {id(self.traces[i]) for i in indexes if self.traces[i] is not None}
        if gone:
            self.fig.data = [t for t in self.fig.data if id(t) not in gone]
        keep = [i for i in range(len(self.traces)) if i not in indexes]
        self.traces = [self.traces[i] for i in keep]
        self.parts = [self.parts[i] for i in keep]
        self.sealed = [self.sealed[i] for i in keep]
        self.gl = [self.gl[i] for i in keep]
        self.dirty = {keep.index(i) for i in self.dirty if i in keep}

    def _make(self, indexes: list[int]) -> None:
        """The traces of new chunks, placed right after the group's last one (under the traces drawn on top)."""
        last = next(t for t in reversed(self.traces) if t is not None)
        for index in indexes:
            trace = self.make(self.gl[index])
            trace.showlegend = False
            self.fig.add_trace(trace)
            self.traces[index] = self.fig.data[-1]
        added = [self.traces[i] for i in indexes]
        order = [t for t in self.fig.data if all(t is not a for a in added)]
        at = next(i for i, t in enumerate(order) if t is last) + 1
        order[at:at] = added
        if any(a is not b for a, b in zip(order, self.fig.data, strict=True)):
            self.fig.data = order


__all__ = ["Chunks"]
