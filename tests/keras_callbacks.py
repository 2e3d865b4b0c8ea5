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
