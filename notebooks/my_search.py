
import json, sys, warnings
import numpy as np, keras, keras_tuner as kt
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

x, y = make_classification(n_samples=1000, n_features=20, random_state=42)
x_train, x_test, y_train, y_test = train_test_split(x.astype("float32"), y, test_size=0.2, random_state=42)

def build_model(hp):
    model = keras.Sequential([
        keras.Input((20,)),
        keras.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    return model

if __name__ == "__main__":
    project = sys.argv[1]
    keras.utils.set_random_seed(1)
    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=2, seed=1,
                            directory="runs", project_name=project, overwrite=True)
    callbacks = []
    if "--live" in sys.argv:  # the one line tunewidgets adds
        import tunewidgets as tw
        callbacks = [tw.live()]
    tuner.search(x_train, y_train, epochs=2, validation_split=0.2, verbose=0, callbacks=callbacks)
    with warnings.catch_warnings():  # the checkpoint holds the optimizer's state too; only the weights are used
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        best = tuner.get_best_models()[0]
    # the test set, never used during the search
    print(json.dumps(best.evaluate(x_test, y_test, verbose=0, return_dict=True)))
