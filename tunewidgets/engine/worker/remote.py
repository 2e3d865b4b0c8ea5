"""What runs on a Dask worker: one group of trials trained as one task, with nothing read from or left on its disk.

The search's machine (:mod:`tunewidgets.engine.worker.driver`) scatters a
:class:`~tunewidgets.engine.worker.payload.Session` once per search (the spec, the prepared data or the user's
arrays, the user's hypermodel and callbacks, all as values) and submits one :func:`train_group` task per group of
trials (a :class:`~tunewidgets.engine.worker.payload.GroupTask`: the trials' keras-tuner states, the checkpoints a
Hyperband trial carries on from). The task trains them with the same
:class:`~tunewidgets.engine.worker.trainer.Trainer` a local worker uses, in a temporary folder it removes,
and talks to the search's machine through Dask only:

* every event (``TrialStarted`` is the search's machine's, the epochs and decision boundaries the task's) and
  every objective to judge for pruning goes out with ``Worker.log_event`` on the session's topic, stamped
  with the task's attempt (a task run again after its worker was lost starts a new attempt);
* stop, stop-this-trial and prune decisions come back on the task's own topic (``Client.subscribe_topic``),
  and are applied at the next epoch's end;
* the result is each trial's outcome with its best-epoch weights and build config as bytes.

This module imports neither Keras nor keras-tuner at its top: a worker unpickling the task function first
narrows which GPU it sees (:func:`prepare_process`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ...events import Event, EventBus, TrialStatus, event_to_dict
from ..folder.tuner_files import TunerFolder
from .payload import GroupTask, Session

#: Seconds a trial waits for the oracle's answer to its epoch's objective (pruning) before it goes on.
JUDGE_SECONDS = 30.0


def prepare_process() -> None:
    """Before Keras is imported in a Dask worker: one GPU per worker, memory taken as needed.

    Under dask-cuda each worker's ``CUDA_VISIBLE_DEVICES`` lists its own GPU first and the others after: the
    worker keeps only its own. JAX's preallocation of most of the GPU's memory is turned off.
    """
    if "tensorflow" in sys.modules or "jax" in sys.modules:
        return
    devices = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    if "," in devices:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices.split(",")[0].strip()
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: ``dask worker ADDRESS --preload tunewidgets.engine.worker.remote`` imports Keras and
    the training code as the worker starts, so that a search's first trials on it start at once."""
    prepare_process()
    from .trainer import Trainer  # noqa: F401 - imports Keras, keras-tuner and the group loop


def worker_label() -> str:
    """How a trial's worker is named in the record: the Dask worker's name (or address), and its GPU."""
    from distributed import get_worker

    worker = get_worker()
    name = worker.name
    label = str(name) if isinstance(name, str) and name and name != worker.address else str(worker.address)
    devices = os.environ.get("CUDA_VISIBLE_DEVICES")
    return f"{label} gpu {devices}" if devices else label


def warm_up(peers: dict[str, int]) -> str:
    """Imports Keras and the training code in a worker ahead of its first trial; returns the worker's label."""
    prepare_process()
    label = worker_label()
    _TRAINING.submit(_machine, peers, get_worker_address()).result()
    return label


def get_worker_address() -> str:
    from distributed import get_worker

    return str(get_worker().address)


#: Every group of a worker process trains on this one thread, one at a time, as a local worker's trials train
#: on its main thread: Keras keeps its session and seeds per thread, and a Dask worker may run each task on
#: another thread of its pool (the same trial then started from other weights).
_TRAINING = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tunewidgets-train")
_configured = False


def _machine(peers: dict[str, int], address: str) -> None:
    """Keras imported; the cores shared among the Dask workers of this host; GPU memory grown as needed."""
    global _configured
    from .trainer import Trainer  # noqa: F401 - imports Keras, keras-tuner and the group loop

    if _configured:
        return
    _configured = True
    _own_random()
    from .device import configure_gpu, limit_threads

    configure_gpu()
    sharing = peers.get(address, 1)
    if sharing > 1:
        limit_threads(max(1, (os.cpu_count() or 1) // sharing))
    import keras

    keras.ops.convert_to_numpy(keras.ops.ones((1,)))  # the backend's runtime started now, not in the first trial
    # the long-lived heap (Keras, Dask) out of the collector's way, as a local worker freezes it for its search
    gc.collect()
    gc.freeze()


def _own_random() -> None:
    """The training thread draws from a Python random generator of its own; the worker's other threads keep the
    shared one.

    Keras gives every layer's initializer a seed drawn from Python's global generator (seeded per trial by
    ``keras.utils.set_random_seed``), and a Dask worker's own threads draw from that generator too (dask's
    ``sizeof`` samples the values it sizes, the worker's state machine picks peers): each such draw between the
    seeding and the build would start the trial from other weights. Called once, on the training thread.
    """
    import random

    trainer = threading.get_ident()
    own = random.Random()

    def dispatch(name: str) -> Any:
        shared, mine = getattr(random, name), getattr(own, name)

        def draw(*args: Any, **kwargs: Any) -> Any:
            return (mine if threading.get_ident() == trainer else shared)(*args, **kwargs)

        return draw

    for name in random.__all__:
        if callable(getattr(random, name)) and hasattr(own, name) and not isinstance(getattr(random, name), type):
            setattr(random, name, dispatch(name))


class _Inputs:
    """A session's models' inputs in this worker process, made once and kept for its next tasks."""

    def __init__(self, session: Session):
        import keras

        from ...model.boundary import BoundaryGrid, applies
        from ...model.spec_hypermodel import SpecHyperModel
        from ...model.user import UserHyperModel
        from ...spec import Spec
        from .kt_tuner import grouped, loop_settings

        spec = Spec.from_json(session.spec_json)
        data = session.data
        if session.hypermodel:
            from ..folder.travel import loads

            user = loads(session.hypermodel, "the hypermodel")
            self.hypermodel: Any = UserHyperModel(user, spec, data)
        else:
            user = None
            self.hypermodel = SpecHyperModel(spec, data)
        self.settings = loop_settings(
            spec, data.task, grouped=grouped(self.hypermodel), tensorboard=session.tensorboard
        )
        self.callbacks: list[Any] = []
        if session.callbacks:
            from ..folder.travel import loads

            self.callbacks = loads(session.callbacks, "the callbacks")
        self.fit_args = (data.x_train, data.y_train)
        self.fit_kwargs = {"validation_data": (data.x_val, data.y_val)}
        self.boundary = BoundaryGrid(data) if user is None and applies(data) else None
        self.tensorboard = keras.callbacks.TensorBoard if session.tensorboard else None


_inputs: tuple[str, _Inputs] | None = None


def _inputs_of(session: Session) -> _Inputs:
    """The session's inputs, made on its first task in this process (the last search's are let go first)."""
    global _inputs
    if _inputs is None or _inputs[0] != session.key:
        if _inputs is not None:
            _inputs = None
            gc.collect()  # the heap frozen by _machine is skipped: quick
        _inputs = (session.key, _Inputs(session))
    return _inputs[1]


class _Remote:
    """The trainer's control and referee in a Dask task: events and reports out, decisions in."""

    def __init__(self, session: Session, task: GroupTask, attempt: str):
        from distributed import get_client, get_worker

        self.worker = get_worker()
        self.client = get_client()
        self.topic = session.topic
        self.task = task
        self.attempt = attempt
        self.events = EventBus()
        self.events.subscribe(self._forward)
        self.stop = False
        self.stop_trials: set[str] = set()
        self.pruned: set[str] = set()
        self.outcomes: dict[str, dict[str, Any]] = {}
        self._judged = threading.Condition()
        self._answers: set[tuple[str, int]] = set()  # the (trial, step) reports the oracle answered
        self.client.subscribe_topic(task.control, self._decided)

    def send(self, kind: str, **message: Any) -> None:
        self.worker.log_event(self.topic, {"kind": kind, "key": self.task.key, "attempt": self.attempt, **message})

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.unsubscribe_topic(self.task.control)

    def _decided(self, event: tuple[float, dict[str, Any]]) -> None:
        decision = event[1]
        with self._judged:
            self.stop = self.stop or bool(decision.get("stop"))
            self.stop_trials.update(decision.get("stop_trials", ()))
            self.pruned.update(decision.get("prune", ()))
            self._answers.update((str(t), int(s)) for t, s in decision.get("judged", ()))
            self._judged.notify_all()

    def _forward(self, event: Event) -> None:
        self.send("event", event=event_to_dict(event))

    # Control
    @property
    def stop_requested(self) -> bool:
        return self.stop

    def should_retire(self) -> bool:
        return False

    def trial_stop_requested(self, trial_id: str) -> bool:
        return trial_id in self.stop_trials

    def trial_started(self) -> None:
        pass

    # Referee
    def prune(self, state: Any, value: float, step: int) -> bool:
        """The oracle's answer, waited for (a few milliseconds): the trial stops at the epoch it would stop at on
        this machine. Unanswered after :data:`JUDGE_SECONDS`, the trial goes on."""
        self.send("report", trial=state.trial_id, value=value, step=step)
        with self._judged:
            self._judged.wait_for(lambda: (state.trial_id, step) in self._answers or self.stop, JUDGE_SECONDS)
            return state.trial_id in self.pruned

    def complete(self, state: Any, metrics: dict[str, float], step: int) -> None:
        self.outcomes[state.trial_id] = {
            "status": TrialStatus.COMPLETED,
            "metrics": metrics,
            "step": step,
            "pruned": state.pruned,
            "stopped_after": state.stopped_after,
        }

    def fail(self, state: Any) -> None:
        self.outcomes[state.trial_id] = {"status": TrialStatus.FAILED, "failure": state.failure, "trace": state.trace}

    def cut(self, state: Any, message: str) -> None:
        self.outcomes[state.trial_id] = {"status": TrialStatus.STOPPED, "message": message}


def train_group(session: Session, task: GroupTask) -> dict[str, Any]:
    """Trains one group of trials on this Dask worker; returns each trial's outcome, weights and build config."""
    prepare_process()
    remote = _Remote(session, task, uuid.uuid4().hex)
    label = worker_label()
    try:
        _TRAINING.submit(_run, session, task, remote, label).result()
    finally:
        remote.close()
    return {"attempt": remote.attempt, "worker": label, "trials": remote.outcomes, "finished": time.time()}


def _run(session: Session, task: GroupTask, remote: _Remote, label: str) -> None:
    """On the training thread: the machine set up once, the session's inputs made once, the group trained."""
    _machine(task.peers, str(remote.worker.address))
    inputs = _inputs_of(session)
    remote.send("begin", label=label, pid=os.getpid())
    with tempfile.TemporaryDirectory(prefix="tunewidgets-trials-") as folder:
        trials = _train(inputs, remote, task, folder)
        for trial_id, outcome in remote.outcomes.items():
            outcome.update(_files(folder, trials[trial_id]))


def _train(inputs: _Inputs, remote: _Remote, task: GroupTask, folder: str) -> dict[str, Any]:
    import keras_tuner as kt

    from .outcomes import StopRequested
    from .trainer import Trainer

    for parent, weights in task.parents.items():
        path = TunerFolder(folder).checkpoint(parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(weights)
    callbacks = list(inputs.callbacks)
    if inputs.tensorboard is not None:
        callbacks.append(inputs.tensorboard(log_dir=os.path.join(folder, "tensorboard")))
    trainer = Trainer(
        inputs.hypermodel,
        inputs.settings,
        remote,
        remote,
        folder,
        fit_args=inputs.fit_args,
        fit_kwargs=inputs.fit_kwargs,
        callbacks=callbacks,
        boundary=inputs.boundary,
    )
    trials = {state["trial_id"]: kt.engine.trial.Trial.from_state(state) for state in task.trials}
    states = [trainer.begin(trial) for trial in trials.values()]
    with contextlib.suppress(StopRequested):  # the cut trials' outcomes say so; they run again on resume
        trainer.train(states)
    return trials


def _files(folder: str, trial: Any) -> dict[str, Any]:
    """What a trial's training wrote, as values: its best-epoch weights, build config, TensorBoard logs, and
    its hyperparameters (a hypermodel's own ``fit`` may have declared more)."""
    files = TunerFolder(folder)
    weights, config = files.checkpoint(str(trial.trial_id)), files.build_config(str(trial.trial_id))
    logs = Path(folder) / "tensorboard" / str(trial.trial_id)
    return {
        "weights": weights.read_bytes() if weights.is_file() else None,
        "build_config": config.read_text() if config.is_file() else None,
        "tensorboard": {str(p.relative_to(logs.parent)): p.read_bytes() for p in logs.rglob("*") if p.is_file()},
        "hyperparameters": trial.hyperparameters.get_config(),
    }


__all__ = [
    "dask_setup",
    "prepare_process",
    "train_group",
    "warm_up",
    "worker_label",
]
