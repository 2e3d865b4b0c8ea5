"""Keras callbacks the tests hand to searches; a module of their own so worker processes can import them."""

from __future__ import annotations

import os
import signal
import time

import keras


class SlowEpochs(keras.callbacks.Callback):
    """Makes each epoch last at least ``seconds``, so timing-sensitive checks do not race tiny epochs."""

    def __init__(self, seconds: float = 0.3):
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(self.seconds)


class KillOnce(keras.callbacks.Callback):
    """Kills its own process at the second epoch the first time any process gets there (a crash, like OOM)."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = marker

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1 and not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write("killed\n")
            os.kill(os.getpid(), signal.SIGKILL)


class KillAlways(keras.callbacks.Callback):
    """Kills its own process at the end of every first epoch."""

    def on_epoch_end(self, epoch, logs=None):
        os.kill(os.getpid(), signal.SIGKILL)


class WaitForWorkers(keras.callbacks.Callback):
    """Holds each trial at its start until ``count`` workers have begun a trial (read from the search's worker
    event files), so a test of parallel workers never depends on how fast a second worker starts."""

    def __init__(self, folder: str, count: int = 2, timeout: float = 300.0):
        super().__init__()
        self.folder = folder
        self.count = count
        self.timeout = timeout

    def _begun(self) -> int:
        workers = os.path.join(self.folder, "workers")
        names = [n for n in os.listdir(workers) if n.endswith(".jsonl")] if os.path.isdir(workers) else []
        begun = 0
        for name in names:
            with open(os.path.join(workers, name), encoding="utf-8", errors="replace") as f:
                begun += any('"trial_started"' in line for line in f)
        return begun

    def on_train_begin(self, logs=None):
        deadline = time.monotonic() + self.timeout
        while self._begun() < self.count and time.monotonic() < deadline:
            time.sleep(0.05)
