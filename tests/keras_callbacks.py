"""Keras callbacks the tests hand to searches; a module of their own so worker processes can import them."""

from __future__ import annotations

import time

import keras


class SlowEpochs(keras.callbacks.Callback):
    """Makes each epoch last at least ``seconds``, so timing-sensitive checks do not race tiny epochs."""

    def __init__(self, seconds: float = 0.3):
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(self.seconds)
