"""keras-tuner's search loop, read from the stack: the tuner and the trial a Keras callback is called for.

keras-tuner tells a callback neither: ``tuner.search(..., callbacks=[tunewidgets.live()])`` deep-copies the
callbacks for each trial and hands them to ``fit``. Its loop holds both in the frames that call ``fit``, as
their local variables ``self`` (the tuner: ``Tuner.run_trial``, ``Tuner._build_and_fit_model``...) and
``trial``. Every read of those frames (CPython's ``sys._getframe``, keras-tuner's local names) is here; it
imports nothing, keras-tuner included (a notebook that never searched need not have imported it).
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any


def running_trial() -> tuple[Any, Any] | None:
    """The tuner and the trial of the keras-tuner search whose loop called the caller, found in the nearest
    frame above it that holds both (a ``trial`` beside a ``self`` with an ``oracle`` and a ``project_dir``);
    None when no frame does (a ``fit`` outside any search)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        owner, trial = frame.f_locals.get("self"), frame.f_locals.get("trial")
        if trial is not None and hasattr(owner, "oracle") and hasattr(owner, "project_dir"):
            return owner, trial
        frame = frame.f_back
    return None


__all__ = ["running_trial"]
