"""How a worker uses the machine: how many cores its TensorFlow takes, and GPU memory grown as needed."""

from __future__ import annotations

import contextlib


def limit_threads(threads: int) -> None:
    """Keeps parallel workers from fighting over cores (each would otherwise use them all)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with contextlib.suppress(RuntimeError):
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))


def configure_gpu() -> None:
    """Lets TensorFlow grow GPU memory as needed instead of taking it all (several workers share it)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)


__all__ = ["configure_gpu", "limit_threads"]
