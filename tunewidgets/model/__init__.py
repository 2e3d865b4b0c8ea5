"""The model side: a spec's knobs as keras-tuner hyperparameters, the Keras model of a trial, its code.

:mod:`~tunewidgets.model.hyperparameters` and :mod:`~tunewidgets.model.codegen` import no Keras;
:mod:`~tunewidgets.model.build` and :mod:`~tunewidgets.model.spec_hypermodel` do (worker processes).
"""
