"""A search of many trials, made of events (no training): for the views' benchmark and the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tunewidgets.events import (
    EndReason,
    EpochEnded,
    Event,
    SearchEnded,
    SearchStarted,
    TrialEnded,
    TrialStarted,
    TrialStatus,
)


def hyperparameters(i: int) -> dict[str, object]:
    return {
        "learning_rate": 10 ** -(1 + i % 4),
        "units": 16 * (1 + i % 5),
        "layers": 1 + i % 3,
        "dropout": (i % 5) / 10,
        "activation": ["relu", "tanh", "gelu"][i % 3],
    }


def trial(i: int, epochs: int, first: int = 1) -> Iterator[Event]:
    """Trial ``i``'s start (when ``first`` is 1) and its epochs ``first`` to ``first + epochs - 1``."""
    tid = f"{i:05d}"
    if first == 1:
        yield TrialStarted(tid, hyperparameters(i))
    final = (i % 7) / 10
    for e in range(first, first + epochs):
        acc = final * e / 20
        yield EpochEnded(tid, e, {"loss": 1 - acc, "val_loss": 1.1 - acc, "accuracy": acc + 0.01, "val_accuracy": acc})


def events(n_trials: int, n_epochs: int, *, running: bool = True, ended: bool = False) -> Iterator[Event]:
    """``n_trials`` finished trials of ``n_epochs`` (one in 97 failed), then one running trial of 3 epochs."""
    yield SearchStarted("s", "val_accuracy", "max", "random", n_trials + running, n_epochs, False)
    for i in range(n_trials):
        yield from trial(i, n_epochs)
        status = TrialStatus.FAILED if i % 97 == 13 else TrialStatus.COMPLETED
        score = None if status is TrialStatus.FAILED else (i % 7) / 10 + (i % 11) / 1000
        yield TrialEnded(f"{i:05d}", status, score, n_epochs, 1.0, "loss became nan" if score is None else "")
    if running:
        yield from trial(n_trials, 3)
    if ended:
        yield SearchEnded(EndReason.COMPLETED)


def write(directory: Path, n_trials: int, n_epochs: int = 20) -> Path:
    """A search folder that ``tunewidgets.load`` and ``Dashboard.open`` read as a finished search."""
    import tunewidgets as tw
    from tunewidgets.engine.folder.eventlog import EventLog

    directory.mkdir(parents=True, exist_ok=True)
    tw.Spec().replace(name=f"{n_trials} trials").save(directory / "spec.json")
    log = EventLog(directory / "events.jsonl")
    for event in events(n_trials, n_epochs, running=False, ended=True):
        log(event)
    log.close()
    return directory
