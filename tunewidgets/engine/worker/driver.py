"""Trials on a Dask cluster: keras-tuner's oracle stays in this process, each group of trials is one Dask task.

A search with ``cluster=`` runs one local worker process in the role ``cluster`` (:mod:`.main`). It keeps
keras-tuner's oracle (TPE and the pruners with it) and every file of the search's folder, as a solo worker
does, but trains nothing itself: it connects to the Dask scheduler as a client (it opens no port), sends
the search's inputs once to every worker (:class:`~.remote.Session`, scattered), and submits one
:func:`~.remote.train_group` task per group of trials taken from the oracle, ``tuner.workers`` groups at a
time. While a task trains, its epochs, decision boundaries and pruning reports come back on the session's
topic; this process publishes them as a local worker's, answers the reports with the oracle, and sends
stop, stop-this-trial and prune decisions on the task's own topic. A task's result (each trial's outcome,
best-epoch weights, build config) is written into the folder and the trial ended in the oracle, as
:class:`~.loop.OracleReferee` ends a local trial.

Faults: Dask runs a task again when its worker is lost (killed, its network gone); the next attempt to
begin ends the earlier one in the record ("stopped": the trial is tried again) and only the current
attempt's messages count. A task whose workers kept dying (Dask's ``KilledWorker``) fails its trials; data
lost with the workers that held it is sent again. A scheduler that goes away, or a cluster without any
worker, ends the search with what to do (:class:`ClusterError`); the trials that ended are kept and the
same search resumes later.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import time
import uuid
from dataclasses import dataclass
from typing import Any

from keras_tuner.engine.trial import TrialStatus as KtTrialStatus

from ..._atomic import atomic_write_bytes, atomic_write_text
from ...events import TrialStarted, TrialStatus, event_from_dict
from ..folder.project import Project
from ..folder.tuner_files import TunerFolder
from .loop import OracleReferee
from .outcomes import StopRequested
from .payload import GroupTask, Session
from .remote import train_group
from .scheduler import Cluster, ClusterError
from .trainer import Control
from .trials import LoopSettings, TrialState, groups, slot_id

#: Seconds a stopped search waits for its tasks to end their epoch and return.
STOP_GRACE_SECONDS = 120.0
#: A task sent again this many times after the data it needed was lost fails its trials.
MAX_SUBMISSIONS = 3


@dataclass(eq=False)
class _Flight:
    """One group of trials submitted as a Dask task."""

    key: str
    slot: int
    states: list[TrialState]
    task: GroupTask
    future: Any = None
    attempt: str = ""  # the attempt whose messages count (the last to begin)
    worker: str = ""
    submissions: int = 0


class ClusterDriver:
    """Runs a search's trials on a Dask cluster until the oracle has none left.

    Args:
        cluster: the connection to the scheduler (:class:`~.cluster.Cluster`).
        tuner: keras-tuner's ``Tuner`` keeping the oracle in the search's folder.
        control: this process's event bus and the user's stops (:class:`~.trainer.Control`).
        settings: how trials train (the groups' size and epochs; the tasks read the rest from the spec).
        session: what every task shares (:class:`~.remote.Session`), scattered once.
        slots: groups training at once (``tuner.workers``).
    """

    poll_seconds = 0.05

    def __init__(
        self, cluster: Cluster, tuner: Any, control: Control, settings: LoopSettings, session: Session, slots: int
    ):
        self.cluster = cluster
        self.tuner = tuner
        self.oracle = tuner.oracle
        self.control = control
        self.settings = settings
        self.session = session
        self.slots = max(1, slots)
        self.referee = OracleReferee(tuner, control, settings.max_failures)
        self.project_dir = str(tuner.project_dir)
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.flights: dict[str, _Flight] = {}
        self.pruned: set[str] = set()
        self.stop_trials: set[str] = set()
        self.stopping = False
        self.more = True  # the oracle may have more trials
        self._idle_until = 0.0
        self._session_future: Any = None
        self._groups = 0
        #: trials trained again after their worker was lost (a count for the tests and benchmarks)
        self.reruns = 0

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        """Trains every trial the oracle hands out. Raises :class:`StopRequested`, :class:`ClusterError` or
        ``TooManyFailures``; the trials training then are ended in the record as stopped (run again on resume)."""
        client = self.cluster.client
        try:
            client.subscribe_topic(self.session.topic, lambda event: self.inbox.put(event[1]))
            self._loop()
        except OSError as e:  # a call to the scheduler failed: out of reach, or a file of the folder
            reachable = self.cluster.reachable()
            self._abandon(cancel=reachable)
            if reachable:
                raise
            raise self.cluster.lost(e) from None
        except BaseException:
            self._abandon()
            raise
        finally:
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(self.session.topic)
        if self.stopping:
            raise StopRequested("stopped")

    def _loop(self) -> None:
        stop_since: float | None = None
        while True:
            if self.control.stop_requested and not self.stopping:
                self._stop()
                stop_since = time.monotonic()
            self._read(self.poll_seconds)
            self._land_finished()
            self._user_stops()
            if not self.stopping:
                self._fill()
            if not self.flights and (self.stopping or not self.more):
                return
            if stop_since is not None and time.monotonic() - stop_since > STOP_GRACE_SECONDS:
                self._abandon()  # stragglers: a worker that no longer answers
                return
            self.cluster.watch(busy=bool(self.flights) or self.more)

    def _fill(self) -> None:
        """Takes trials from the oracle for every free slot and submits their groups."""
        busy = collections.Counter(f.slot for f in self.flights.values())
        for slot in range(self.slots):
            if not self.more or time.monotonic() < self._idle_until:
                return
            if busy[slot]:
                continue
            trials = self._take(slot)
            for group in groups(trials, self.settings.epochs, self.settings.batch_size):
                self._launch(slot, group)
                busy[slot] += 1

    def _take(self, slot: int) -> list[Any]:
        """Up to ``fuse`` trials for one slot (one tuner id each); the oracle's IDLE (Hyperband waiting for
        trials in flight to end) leaves the slot free for a while."""
        k = self.settings.fuse if self.settings.grouped else 1
        trials: list[Any] = []
        while len(trials) < k:
            trial = self.oracle.create_trial(slot_id(f"dask{slot}", len(trials)))
            if trial.status == KtTrialStatus.STOPPED:
                self.more = False
                break
            if trial.status == KtTrialStatus.IDLE:
                if not trials:
                    self._idle_until = time.monotonic() + 0.25
                break
            trials.append(trial)
        return trials

    def _launch(self, slot: int, trials: list[Any]) -> None:
        self._groups += 1
        key = f"g{self._groups}"
        states = [TrialState(trial, time.time(), None) for trial in trials]
        for state in states:
            state.values = dict(state.trial.hyperparameters.values)
        parents = {}
        for trial in trials:
            carried = trial.hyperparameters.values.get("tuner/trial_id")
            if carried:  # Hyperband carries this trial on from an earlier one's best weights
                parents[str(carried)] = TunerFolder(self.project_dir).checkpoint(str(carried)).read_bytes()
        task = GroupTask(
            key,
            [trial.get_state() for trial in trials],
            control=f"{self.session.topic}-{key}",
            parents=parents,
            peers=self.cluster.peers(),
        )
        flight = _Flight(key, slot, states, task)
        self.flights[key] = flight
        self._submit(flight)

    def _submit(self, flight: _Flight) -> None:
        client = self.cluster.client
        if self._session_future is None or self._session_future.status != "finished":
            self._session_future = self.cluster.scatter(self.session)
        flight.submissions += 1
        flight.future = client.submit(
            train_group,
            self._session_future,
            flight.task,
            key=f"tunewidgets-{flight.task.control}-{flight.submissions}",
            pure=False,
            resources=self.cluster.resources(),
        )
        flight.future.add_done_callback(lambda _: self.inbox.put({"kind": "done"}))  # wakes the loop at once

    # ------------------------------------------------------------------ what the tasks say
    def _read(self, timeout: float) -> None:
        try:
            message = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._heard(message)
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return

    def _heard(self, message: dict[str, Any]) -> None:
        flight = self.flights.get(message.get("key", ""))
        if flight is None:
            return  # a group already ended (or cancelled), or another search's
        kind, attempt = message.get("kind"), message.get("attempt", "")
        if kind == "begin":
            if attempt != flight.attempt:
                self._begin(flight, attempt, str(message.get("label", "?")))  # "worker": its address, by Dask
        elif attempt != flight.attempt:
            return  # an earlier attempt's late word: its worker was given up on
        elif kind == "event":
            self.control.events.publish(event_from_dict(message["event"]))
        elif kind == "report":
            trial, step = str(message["trial"]), int(message["step"])
            self._judge(flight, trial, float(message["value"]), step)
            self._tell(flight, judged=(trial, step))
            return
        self._tell(flight)

    def _begin(self, flight: _Flight, attempt: str, worker: str) -> None:
        """An attempt of a group began on ``worker``; one that began before it was lost with its worker."""
        if flight.attempt:
            self.reruns += len(flight.states)
            why = f"its Dask worker {flight.worker} was lost mid-trial; it trains again on {worker}"
            for state in flight.states:
                self.referee.cut(state, why)
                self.pruned.discard(state.trial_id)
                state.pruned = False
        flight.attempt, flight.worker = attempt, worker
        for state in flight.states:
            state.started = time.time()
            self.control.events.publish(TrialStarted(state.trial_id, state.values, worker=worker))

    def _judge(self, flight: _Flight, trial_id: str, value: float, step: int) -> None:
        """A pruning report: the oracle decides; a trial to prune hears it at its next epoch's end."""
        state = next((s for s in flight.states if s.trial_id == trial_id), None)
        if state is None or trial_id in self.pruned:
            return
        if self.referee.prune(state, value, step):
            self.pruned.add(trial_id)
            state.pruned = True

    def _tell(self, flight: _Flight, judged: tuple[str, int] | None = None) -> None:
        """Sends a group's decisions (again: a task that began after the last message still hears them), and the
        answer to a pruning report (``judged``: the trial waits for it)."""
        ids = [s.trial_id for s in flight.states]
        decision: dict[str, Any] = {
            "stop": self.stopping,
            "stop_trials": [t for t in ids if t in self.stop_trials],
            "prune": [t for t in ids if t in self.pruned],
            "judged": [judged] if judged else [],
        }
        if any(decision.values()):
            with contextlib.suppress(Exception):
                self.cluster.client.log_event(flight.task.control, decision)

    def _user_stops(self) -> None:
        for flight in self.flights.values():
            if not flight.attempt:
                continue
            asked = [s.trial_id for s in flight.states if s.trial_id not in self.stop_trials]
            asked = [t for t in asked if self.control.trial_stop_requested(t)]
            if asked:
                self.stop_trials.update(asked)
                self._tell(flight)

    # ------------------------------------------------------------------ results
    def _land_finished(self) -> None:
        for flight in [f for f in self.flights.values() if f.future.done()]:
            self._read(0)  # the task's last messages before its result
            if self._landed(flight):
                del self.flights[flight.key]
                self.referee.check_failures()

    def _landed(self, flight: _Flight) -> bool:
        """Ends a finished task's trials; False when it was sent again instead."""
        import asyncio
        import concurrent.futures

        from distributed import KilledWorker

        future = flight.future
        if future.status == "finished":
            self._results(flight, future.result())
            return True
        error = future.exception() if future.status == "error" else None
        if error is None or isinstance(error, (asyncio.CancelledError, concurrent.futures.CancelledError)):
            # cancelled, or lost with the workers that held its data (they all left, the scheduler restarted)
            if not self.stopping and flight.submissions < MAX_SUBMISSIONS:
                self._session_future = None
                self._submit(flight)
                return False
            self._fail_all(flight, f"its Dask task was lost {flight.submissions} times (workers left with its data)")
        elif isinstance(error, KilledWorker):
            self._fail_all(flight, "the Dask workers training it died, again and again (out of memory?)")
        else:
            hint = ""
            if isinstance(error, ModuleNotFoundError):
                hint = "; install tunewidgets (the same version) and your model's modules on every Dask worker"
            self._fail_all(flight, f"its Dask task raised {type(error).__name__}: {error}{hint}")
        return True

    def _results(self, flight: _Flight, result: dict[str, Any]) -> None:
        if result["attempt"] != flight.attempt:  # its begin was not heard (or came after an earlier one's)
            self._begin(flight, result["attempt"], result["worker"])
        for state in flight.states:
            outcome = result["trials"].get(state.trial_id)
            if outcome is None:
                state.failure = "its Dask task returned nothing for it"
                self.referee.fail(state)
                continue
            self._write(state, outcome)
            if outcome["status"] == TrialStatus.COMPLETED:
                state.pruned = state.pruned or bool(outcome["pruned"])
                state.stopped_after = outcome["stopped_after"]
                self.referee.complete(state, outcome["metrics"], outcome["step"])
            elif outcome["status"] == TrialStatus.FAILED:
                state.failure, state.trace = outcome["failure"], outcome["trace"]
                self.referee.fail(state)
            else:
                self.referee.cut(state, outcome["message"])

    def _write(self, state: TrialState, outcome: dict[str, Any]) -> None:
        """A trial's files as keras-tuner and the results read them, from the values its task returned."""
        import keras_tuner as kt

        if outcome.get("hyperparameters"):  # a hypermodel's own fit may have declared more
            state.trial.hyperparameters = kt.HyperParameters.from_config(outcome["hyperparameters"])
        folder = TunerFolder(self.project_dir)
        if outcome.get("weights") is not None:
            atomic_write_bytes(folder.checkpoint(state.trial_id), outcome["weights"])
        if outcome.get("build_config") is not None:
            atomic_write_text(folder.build_config(state.trial_id), outcome["build_config"])
        logs = Project(os.path.dirname(self.project_dir)).tensorboard
        for name, data in (outcome.get("tensorboard") or {}).items():
            atomic_write_bytes(logs / name, data)

    def _fail_all(self, flight: _Flight, message: str) -> None:
        if not flight.attempt:
            self._begin(flight, uuid.uuid4().hex, "?")
        for state in flight.states:
            state.failure = message
            self.referee.fail(state)

    # ------------------------------------------------------------------ stopping
    def _stop(self) -> None:
        """Stop: tasks not begun are cancelled (their trials run on resume), the others end after this epoch."""
        self.stopping = True
        for flight in list(self.flights.values()):
            if flight.attempt:
                self._tell(flight)
            else:
                flight.future.cancel()
                del self.flights[flight.key]

    def _abandon(self, *, cancel: bool = True) -> None:
        """The search ends with tasks still out: their trials are cut (they run again on resume), the tasks
        cancelled (unless the scheduler is out of reach: it forgets them with this client)."""
        for flight in self.flights.values():
            for state in flight.states if flight.attempt else []:
                self.referee.cut(state, "the search ended while it trained; it runs again on resume")
            if cancel:
                with contextlib.suppress(Exception):
                    flight.future.cancel()
        self.flights.clear()


__all__ = ["ClusterDriver", "ClusterError", "STOP_GRACE_SECONDS"]
