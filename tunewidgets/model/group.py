"""Several models trained as one computation: fused trials.

A small trial costs mostly fixed costs: tracing its training and evaluation steps, and dispatching
every step from Python. A group trains K models on the same batches with **one** training function
(one ``tf.function`` holding every member's own ``train_step``) and one evaluation function: each
step is one call for the K models, each member applying its gradients with its own optimizer,
learning-rate schedule, regularization and dropout. The members stay ordinary Keras models (built,
compiled, saved and loaded alone); only the loop that feeds them is shared.

Members end on their own (their callbacks set ``model.stop_training``: early stopping, pruning, a
stopped trial; or raise: a loss that is not a number). An ended member's callbacks hear no more, and
its results are final. Dropping it from the step function means tracing the others again, so it is
dropped only when that costs less than carrying it to the end, judged from the group's own measured
trace and epoch times; until then its model keeps computing, unseen (its weights, already saved at
its best epoch, are never read again).

On TensorFlow the step functions are ``tf.function`` s, on JAX ``jax.jit`` functions over the members'
stateless steps; on torch the engine trains trials one at a time with ``Model.fit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import keras

#: The Keras backends a group trains on (one ``tf.function``, one ``jax.jit`` function).
BACKENDS = ("tensorflow", "jax")


@dataclass(eq=False)
class Member:
    """One model of a group: its callbacks (a ``History`` is added) and how it ended."""

    model: keras.Model
    callbacks: list[Any]
    #: callbacks that also hear every batch (batch hooks cost a step's results in Python)
    batch_callbacks: list[Any] = field(default_factory=list)
    history: Any = None
    error: BaseException | None = None  # what ended it, if it failed
    ended: bool = False
    hooks: Any = None

    def begin(self, epochs: int, steps: int) -> None:
        self.history = keras.callbacks.History()
        self.hooks = keras.callbacks.CallbackList(
            [*self.callbacks, self.history], model=self.model, verbose=0, epochs=epochs, steps=steps
        )
        self.model.stop_training = False
        self.hooks.on_train_begin()


def train_group(
    members: list[Member],
    data: dict[str, Any],
    *,
    epochs: int,
    initial_epoch: int = 0,
    fatal: tuple[type[BaseException], ...] = (),
    on_end: Callable[[Member], None] | None = None,
) -> int:
    """Trains ``members`` together for ``epochs`` epochs on ``data`` (what ``Model.fit`` reads:
    ``x`` a dataset of batches, ``steps_per_epoch``, ``validation_data``, ``validation_steps``).

    ``on_end(member)`` is called as each member ends (its callbacks' ``on_train_end`` done), in the
    order they end. An exception from a member's callbacks ends that member (``member.error``) unless
    its class is in ``fatal``: then the whole group stops and it propagates. Returns how many times
    the group's step functions were traced (once, plus once per time ended members were dropped).
    """
    if keras.backend.backend() not in BACKENDS:
        raise RuntimeError(f"fused trials need the TensorFlow or JAX backend, not {keras.backend.backend()}")
    try:
        for m in members:
            m.begin(epochs, int(data["steps_per_epoch"]))
        loop = _FusedLoop(members, data, fatal, on_end)
        loop.run(initial_epoch, epochs)
        return loop.traces
    finally:
        for m in members:  # a group stopped by a fatal error: the rest end unfinished, no callbacks
            m.ended = True


def build_state(model: keras.Model, batch: Any) -> None:
    """Makes a compiled model's whole training state (its layers, the compiled loss and metrics, the optimizer's
    variables) before a step function is traced, as ``Model.fit`` does, with public calls on one batch.

    The metrics and the loss tracker this counts are reset before the first epoch.
    """
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
    y_pred = model(x, training=False)
    model.compute_loss(x, y, y_pred, sample_weight, training=False)
    model.compute_metrics(x, y, y_pred, sample_weight)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _finish(
    member: Member, on_end: Callable[[Member], None] | None, fatal: tuple[type[BaseException], ...] = ()
) -> None:
    """Ends a member: its callbacks' ``on_train_end`` (an error there, such as no room for its checkpoint, is
    its error), then ``on_end``."""
    member.ended = True
    if member.error is None:
        try:
            member.hooks.on_train_end()
        except fatal:
            raise
        except Exception as e:  # noqa: BLE001 - ends this member only
            member.error = e
    if on_end is not None:
        on_end(member)


def worth_retracing(traced: int, live: int, trace_seconds: float, epoch_seconds: float, epochs_left: int) -> bool:
    """Should a step function traced for ``traced`` members be traced again for the ``live`` ones left?

    Yes when carrying the ended members to the end costs more than tracing the live ones again, each
    member costing its share of the function's measured trace time and epoch time.
    """
    dead = traced - live
    per_member_epoch = epoch_seconds / traced
    per_member_trace = trace_seconds / traced
    return dead > 0 and dead * per_member_epoch * epochs_left > live * per_member_trace


class _Steps:
    """The group's training and evaluation functions over some of its members, traced once."""

    def __init__(self, members: list[Member]):
        import tensorflow as tf

        self.members = list(members)
        models = [m.model for m in self.members]
        jit = all(getattr(model, "jit_compile", False) is True for model in models)

        def train(data: Any) -> list[Any]:
            return [model.train_step(data) for model in models]

        def test(data: Any) -> list[Any]:
            return [model.test_step(data) for model in models]

        # Keras marks its own step functions do-not-convert: AutoGraph has nothing to do in them
        self.train = tf.function(train, jit_compile=jit, autograph=False, reduce_retracing=True)
        self.test = tf.function(test, jit_compile=jit, autograph=False, reduce_retracing=True)
        self.first_epoch: float | None = None  # seconds, tracing included
        self.later_epoch: float | None = None  # seconds, the last epoch after the first

    def reset_metrics(self) -> None:
        for m in self.members:
            m.model.reset_metrics()

    def sync(self) -> None:
        """The models' variables hold what training did (TensorFlow updates them in place)."""

    def trace_cost(self) -> float:
        """Seconds the first epoch took beyond a later one: tracing and preparing these functions."""
        assert self.first_epoch is not None and self.later_epoch is not None
        return max(0.0, self.first_epoch - self.later_epoch)


class _JaxSteps(_Steps):
    """On JAX: one jitted function of the members' stateless ``train_step`` and one of their ``test_step``.

    The members' state (weights, optimizer and metric variables) travels through the jitted functions as
    arrays, as in ``Model.fit``, and is written back into the models' variables before their callbacks
    read them (``sync``) and around a reset of their metrics.
    """

    def __init__(self, members: list[Member]):
        import jax

        self.members = list(members)
        models = [m.model for m in self.members]

        def train(states: list[Any], data: Any) -> tuple[list[Any], list[Any]]:
            out = [model.train_step(state, data) for model, state in zip(models, states, strict=True)]
            return [logs for logs, _ in out], [state for _, state in out]

        def test(states: list[Any], data: Any) -> tuple[list[Any], list[Any]]:
            out = [model.test_step(state, data) for model, state in zip(models, states, strict=True)]
            return [logs for logs, _ in out], [state for _, state in out]

        self._train = jax.jit(train)
        self._test = jax.jit(test)
        self.states: list[Any] | None = None  # (trainable, non-trainable, optimizer, metrics) of each member
        self.first_epoch = None
        self.later_epoch = None

    def _pull(self) -> list[Any]:
        if self.states is None:  # the values of the models' public variable lists, as Model.fit passes them
            self.states = [
                tuple(
                    [v.value for v in variables]
                    for variables in (
                        m.model.trainable_variables,
                        m.model.non_trainable_variables,
                        m.model.optimizer.variables,
                        m.model.metrics_variables,
                    )
                )
                for m in self.members
            ]
        return self.states

    def sync(self) -> None:
        if self.states is None:
            return
        for m, (trainable, non_trainable, optimizer, metrics) in zip(self.members, self.states, strict=True):
            model = m.model
            for variables, values in (
                (model.trainable_variables, trainable),
                (model.non_trainable_variables, non_trainable),
                (model.optimizer.variables, optimizer),
                (model.metrics_variables, metrics),
            ):
                for variable, value in zip(variables, values, strict=True):
                    variable.assign(value)

    def reset_metrics(self) -> None:
        self.sync()
        self.states = None  # read again after the reset
        super().reset_metrics()

    def train(self, data: Any) -> list[Any]:
        logs, self.states = self._train(self._pull(), data)
        return logs

    def test(self, data: Any) -> list[Any]:
        states = self._pull()
        logs, tested = self._test([(t, n, m) for t, n, _, m in states], data)
        self.states = [(t, n, o, m) for (t, _, o, _), (_, n, m) in zip(states, tested, strict=True)]
        return logs


def _floats(logs: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in logs.items()}


class _FusedLoop:
    def __init__(
        self,
        members: list[Member],
        data: dict[str, Any],
        fatal: tuple[type[BaseException], ...],
        on_end: Callable[[Member], None] | None,
    ):
        self.members = members
        self.fatal = fatal
        self.on_end = on_end
        self.steps = int(data["steps_per_epoch"])
        self.val_steps = int(data["validation_steps"])
        self.batches: Iterator[Any] = iter(data["x"])  # one iterator for the whole fit, as Model.fit reads it
        self.val_batches: Iterator[Any] = iter(data["validation_data"])
        self.fn: _Steps | None = None
        self.traces = 0

    def _build(self, live: list[Member], batch: Any) -> _Steps:
        for m in live:
            build_state(m.model, batch)
        self.traces += 1
        return _JaxSteps(live) if keras.backend.backend() == "jax" else _Steps(live)

    def _choose(self, epochs_left: int, batch: Any) -> _Steps:
        """The step function for the members still training: the current one, or one without the
        members that ended when carrying them to the end would cost more than tracing the rest again."""
        live = [m for m in self.members if not m.ended]
        fn = self.fn
        if fn is None:
            return self._build(live, batch)
        if fn.later_epoch is None or len(live) == len(fn.members):
            return fn
        if worth_retracing(len(fn.members), len(live), fn.trace_cost(), fn.later_epoch, epochs_left):
            return self._build(live, batch)
        return fn

    def run(self, initial_epoch: int, epochs: int) -> None:
        for epoch in range(initial_epoch, epochs):
            live = [m for m in self.members if not m.ended]
            if not live:
                return
            batch = next(self.batches)
            fn = self.fn = self._choose(epochs - epoch, batch)
            started = time.perf_counter()
            for m in live:
                self._call(m, m.hooks.on_epoch_begin, epoch)
            fn.reset_metrics()
            logs = self._train_epoch(fn, batch)
            fn.reset_metrics()
            val_logs: list[Any] = []
            for _ in range(self.val_steps):
                val_logs = fn.test(next(self.val_batches))
            fn.sync()  # the callbacks read the models' weights (the best epoch's checkpoint)
            seconds = time.perf_counter() - started
            if fn.first_epoch is None:
                fn.first_epoch = seconds
            else:
                fn.later_epoch = seconds
            for i, m in enumerate(fn.members):
                if m.ended:
                    continue
                epoch_logs = _floats(logs[i])
                epoch_logs.update({f"val_{k}": v for k, v in _floats(val_logs[i]).items()})
                self._call(m, m.hooks.on_epoch_end, epoch, epoch_logs)
                if not m.ended and m.model.stop_training:
                    _finish(m, self.on_end, self.fatal)
        for m in self.members:
            if not m.ended:
                _finish(m, self.on_end, self.fatal)

    def _train_epoch(self, fn: _Steps, first: Any) -> list[Any]:
        listening = [(i, m) for i, m in enumerate(fn.members) if m.batch_callbacks and not m.ended]
        logs: list[Any] = []
        for step in range(self.steps):
            batch = first if step == 0 else next(self.batches)
            for _, m in listening:
                for cb in m.batch_callbacks:
                    self._call(m, cb.on_train_batch_begin, step)
            logs = fn.train(batch)
            for i, m in listening:
                step_logs = _floats(logs[i])
                for cb in m.batch_callbacks:
                    self._call(m, cb.on_train_batch_end, step, step_logs)
        return logs

    def _call(self, member: Member, hook: Callable[..., None], *args: Any) -> None:
        """Runs one of a member's callbacks; an error ends that member (a fatal one, the group)."""
        if member.ended:
            return
        try:
            hook(*args)
        except self.fatal:
            raise
        except Exception as e:  # noqa: BLE001 - any error ends this member only
            member.error = e
            _finish(member, self.on_end, self.fatal)


__all__ = ["BACKENDS", "Member", "build_state", "train_group", "worth_retracing"]
