"""Inside a worker process: what trains a search's trials (``python -m tunewidgets.engine.worker``).

* :mod:`~tunewidgets.engine.worker.main`: the process: its roles (solo, chief, client), warm waits, tasks;
* :mod:`~tunewidgets.engine.worker.loop`: the trial loop, every trial's life in one object;
* :mod:`~tunewidgets.engine.worker.kt_tuner`: keras-tuner's oracle and ``Tuner`` for a spec;
* :mod:`~tunewidgets.engine.worker.oracles`: Optuna's pruners and TPE inside keras-tuner's oracle;
* :mod:`~tunewidgets.engine.worker.checkpoint`, :mod:`~tunewidgets.engine.worker.chief`,
  :mod:`~tunewidgets.engine.worker.task`: best-epoch checkpoints, the chief's server, one-off tasks;
* :mod:`~tunewidgets.engine.worker.private`: every private keras-tuner name used, in one place.

Nothing here imports the notebook side (``tunewidgets.engine.search`` and its kin); both share
:mod:`tunewidgets.engine.folder`.
"""
