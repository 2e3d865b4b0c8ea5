"""The model side: a spec's knobs as keras-tuner hyperparameters, the Keras model of a trial, its code.

:mod:`~tunewidgets.model.space` and :mod:`~tunewidgets.model.codegen` import no Keras;
:mod:`~tunewidgets.model.build` and :mod:`~tunewidgets.model.hypermodel` do (worker processes).
"""
