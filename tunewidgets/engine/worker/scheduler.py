"""The search's connection to a Dask scheduler, from the worker process that keeps the oracle.

:class:`Cluster` connects as a Dask client (this machine opens no port), in the background so that the Dask
workers import Keras (:func:`~.remote.warm_up`) while this process imports keras-tuner; checks that every
worker runs the same tunewidgets; and watches the cluster while the search runs: a scheduler that stopped
answering, or no worker at all, ends the search with what to do (:class:`ClusterError`).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import importlib
import importlib.metadata
import os
import threading
import time
from typing import Any

from ..folder.protocol import SECURITY_ENV

#: Seconds to reach the scheduler.
CONNECT_SECONDS = 10.0
#: Seconds the scheduler may stay out of reach, mid-search, before the search ends.
LOST_SECONDS = 10.0


def no_worker_seconds() -> float:
    """How long a search waits for the cluster's first worker (``TUNEWIDGETS_CLUSTER_WAIT``, default 20 s)."""
    with contextlib.suppress(ValueError):
        return max(1.0, float(os.environ.get("TUNEWIDGETS_CLUSTER_WAIT", "20")))
    return 20.0


class ClusterError(Exception):
    """The cluster cannot go on with the search (the message says why and what to do); the trials that ended
    are kept, and the same search resumes later."""


class Cluster:
    """A Dask client of the scheduler at ``address``, connected in the background.

    Args:
        address: the scheduler's address (``tcp://host:8786``, ``tls://...``).
        security: a ``distributed.Security``, cloudpickled and base64-encoded ('' for none).
    """

    def __init__(self, address: str, security: str = ""):
        self.address = address
        self._security = security
        self._client: Any = None
        self._error: BaseException | None = None
        self._lost_since: float | None = None
        self._empty_since: float | None = None
        self._checked = 0.0
        self._workers: dict[str, dict[str, Any]] = {}
        self._thread = threading.Thread(target=self._connect, name="tunewidgets:dask-connect", daemon=True)
        self._thread.start()

    @property
    def client(self) -> Any:
        """The connected ``distributed.Client``. Raises :class:`ClusterError` when it could not connect."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._client

    def _connect(self) -> None:
        try:
            self._client = self._open()
            self._workers = self._read_workers()
            self._check_versions()
            self._warm_up()
        except ClusterError as e:
            self._error = e
        except Exception as e:  # noqa: BLE001 - any failure to connect is told the same way
            self._error = ClusterError(
                f"cannot reach the Dask scheduler at {self.address} ({type(e).__name__}: {e}); is it running, and "
                "can this machine reach its address? Start one with `dask scheduler`, or pass the Client you made"
            )

    def _open(self) -> Any:
        scheme = self.address.partition("://")[0] if "://" in self.address else "tcp"
        if scheme == "gateway":  # dask-gateway's proxied clusters: its comm is registered when it is imported
            importlib.import_module("dask_gateway")
        from distributed import Client

        security = None
        if self._security:
            import cloudpickle

            security = cloudpickle.loads(base64.b64decode(self._security))
        return Client(self.address, security=security, timeout=CONNECT_SECONDS, set_as_default=False)

    def _read_workers(self) -> dict[str, dict[str, Any]]:
        try:
            info = self._client.scheduler_info(n_workers=-1)
        except TypeError:  # distributed before 2025: every worker, always
            info = self._client.scheduler_info()
        return dict(info.get("workers", {}))

    def _check_versions(self) -> None:
        """Every worker present runs this machine's tunewidgets and Keras (tasks unpickle our functions)."""
        client = self._client
        for package in ("tunewidgets", "keras"):
            mine = importlib.metadata.version(package)
            theirs = client.run(importlib.metadata.version, package, on_error="return")
            for worker, version in theirs.items():
                if isinstance(version, BaseException):
                    raise ClusterError(
                        f"the Dask worker {worker} has no {package}: install it on every worker, the same version "
                        f"as here ({package} {mine}), with the same Keras backend"
                    )
                if version != mine:
                    raise ClusterError(
                        f"the Dask worker {worker} has {package} {version} and this machine {mine}: install the same "
                        "version on every worker"
                    )

    def _warm_up(self) -> None:
        """Each worker imports Keras and the training code now, while this process imports keras-tuner."""
        from distributed import fire_and_forget

        from .remote import warm_up

        peers = self.peers()
        for address in self._workers:
            future = self._client.submit(warm_up, peers, workers=[address], allow_other_workers=False, pure=False)
            fire_and_forget(future)

    # ------------------------------------------------------------------ while the search runs
    def peers(self) -> dict[str, int]:
        """Each worker's address -> how many Dask workers share its host (they split its cores)."""
        hosts = collections.Counter(str(w.get("host", a)) for a, w in self._workers.items())
        return {a: hosts[str(w.get("host", a))] for a, w in self._workers.items()}

    def resources(self) -> dict[str, float] | None:
        """One GPU per task where the workers declare GPUs (``dask worker --resources GPU=1``)."""
        declared = any(w.get("resources", {}).get("GPU") for w in self._workers.values())
        return {"GPU": 1} if declared else None

    def scatter(self, value: Any) -> Any:
        """``value`` sent to every worker now (and from them to those that join later); waits for a first
        worker as :meth:`watch` does."""
        while not self._workers:
            self.watch(busy=True)
            time.sleep(0.2)
        return self.client.scatter(value, broadcast=True, hash=False)

    def watch(self, *, busy: bool) -> None:
        """Checked about once a second. Raises :class:`ClusterError` when the scheduler has been out of reach
        for :data:`LOST_SECONDS`, or without a worker for ``TUNEWIDGETS_CLUSTER_WAIT`` while trials wait."""
        now = time.monotonic()
        if now - self._checked < 1.0:
            return
        self._checked = now
        client = self.client
        try:
            if client.status != "running":
                raise OSError(f"the client is {client.status}")
            workers = self._read_workers()
        except Exception as e:  # noqa: BLE001 - any failure to ask is the scheduler out of reach
            self._lost_since = self._lost_since or now
            if now - self._lost_since > LOST_SECONDS:
                raise self.lost(e) from None
            return
        self._lost_since = None
        if workers != self._workers:
            self._workers = workers
        if workers or not busy:
            self._empty_since = None
            return
        self._empty_since = self._empty_since or now
        wait = no_worker_seconds()
        if now - self._empty_since > wait:
            raise ClusterError(
                f"the Dask scheduler at {self.address} has had no worker for {wait:.0f} s: start some "
                f"(`dask worker {self.address}` on each machine) or scale the cluster up, then run the same search "
                "again to resume (TUNEWIDGETS_CLUSTER_WAIT sets how long to wait)"
            )

    def lost(self, error: BaseException) -> ClusterError:
        """The search ends: the scheduler is out of reach."""
        return ClusterError(
            f"lost the Dask scheduler at {self.address} ({type(error).__name__}: {error}). The trials that ended "
            "are kept; run the same search again, with cluster= the scheduler, to resume"
        )

    def reachable(self) -> bool:
        """Whether the scheduler answers now."""
        try:
            return self.client.status == "running" and isinstance(self._read_workers(), dict)
        except Exception:  # noqa: BLE001 - any failure to ask is an answer
            return False

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close(timeout=5)


__all__ = ["CONNECT_SECONDS", "Cluster", "ClusterError", "LOST_SECONDS", "SECURITY_ENV", "no_worker_seconds"]
