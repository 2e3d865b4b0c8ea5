"""How a worker's trials and loop end, as types: the trial loop, the checkpoint and the worker talk through
these, never through the text of a message."""

from __future__ import annotations


class StopRequested(Exception):
    """The user asked the search to stop: the trials training now end after this epoch and run again on resume."""


class Retire(Exception):
    """This worker process has trained enough; a fresh one takes over (see ``tunewidgets.engine.worker``)."""


class TrialFailed(Exception):
    """One trial cannot go on (a loss that is not a number, a model over the size limit, no room for its
    checkpoint, a model that reports no objective); it is recorded as failed with this message and the
    search goes on."""


class TooManyFailures(Exception):
    """``tuner.max_consecutive_failed_trials`` trials failed in a row in this worker: the search ends."""


__all__ = ["Retire", "StopRequested", "TooManyFailures", "TrialFailed"]
