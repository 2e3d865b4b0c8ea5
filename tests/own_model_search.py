"""Your own model's search into a folder, as a user's script runs it (for the disk tests): a build function, the
user's arrays, ``tw.Search(..., hypermodel=...)``. Run twice with the same folder, the second run resumes.

    python tests/own_model_search.py FOLDER
"""

from __future__ import annotations

import sys

import numpy as np

import tunewidgets as tw


def build_model(hp):  # noqa: ANN001, ANN201 - a user's function
    import keras

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu")])
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")), loss="binary_crossentropy"
    )
    return model


def main() -> int:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    spec = tw.Spec().replace(
        **{"tuner.max_trials": 6, "training.epochs": 2, "tuner.seed": 4, "tuner.objective": "val_loss"}
    )
    try:
        results = tw.Search(spec, sys.argv[1], hypermodel=build_model, data=(x, y), keep_warm=0).run()
    except (tw.ProjectError, tw.SearchError, tw.SpecError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{len(results.record.completed())} trials completed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
