"""Where a search's trials train when it is given a Dask cluster: ``cluster=`` read, checked and described.

``cluster`` may be:

* a Dask scheduler's address: ``"tcp://host:8786"`` (``"host:8786"`` means tcp), ``"tls://..."``;
* ``"local-gpus"``: one Dask worker per GPU of this machine, started here (dask-cuda's ``LocalCUDACluster``
  where dask-cuda is installed), each seeing its own GPU only and declaring it (``resources={"GPU": 1}``);
* a ``distributed.Client`` you made, or a cluster object (``LocalCluster``, dask-jobqueue's ``SLURMCluster``,
  dask-kubernetes' ``KubeCluster``, dask-gateway's ``GatewayCluster``): its scheduler's address and
  credentials are used.

The search's machine keeps the oracle and the folder and connects to the scheduler as a client
(:mod:`tunewidgets.engine.worker.driver`); this module only reads what the user gave. It imports Dask
only to start ``local-gpus`` or to describe a cluster.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import Issue, SpecError
from .folder.protocol import SECURITY_ENV

#: ``cluster="local-gpus"``: a Dask worker per GPU of this machine.
LOCAL_GPUS = "local-gpus"
#: The module a Dask worker preloads (``dask worker ADDRESS --preload ...``) to import Keras as it starts.
PRELOAD = "tunewidgets.engine.worker.remote"

_ADDRESS = re.compile(r"^(?:(tcp|tls|ws|wss|ucx|gateway)://)?\[?[\w.:-]+?\]?:(\d{1,5})(/.*)?$")


@dataclass(frozen=True)
class ClusterTarget:
    """A resolved ``cluster=``: the scheduler's address, the credentials its client needs, and what to call it."""

    address: str
    env: tuple[tuple[str, str], ...] = ()
    client: Any = None  # the user's own Client, when one was given (to describe the cluster without a new one)

    def __str__(self) -> str:
        return self.address


def where_trials_train(cluster: Any, listen: str | None = None) -> ClusterTarget | None:
    """``Search``'s ``cluster=`` (None: this machine's worker processes); ``listen=``, retired, says what replaced
    it."""
    if listen is not None:
        raise SpecError(
            Issue(
                "listen",
                "workers on other machines no longer join through a port of the search: run the trials on a Dask "
                "cluster instead, cluster='tcp://SCHEDULER:8786' (see the 'On a cluster' page of the docs)",
            )
        )
    return None if cluster is None else cluster_target(cluster)


def cluster_target(cluster: Any) -> ClusterTarget:
    """Reads ``cluster=`` (see the module's docstring).

    Raises:
        SpecError: on the field ``cluster``, with what was wrong and what to give instead.
    """
    if isinstance(cluster, ClusterTarget):
        return cluster
    if importlib.util.find_spec("distributed") is None:
        raise SpecError(Issue("cluster", 'trials on a Dask cluster need Dask: pip install "tunewidgets[dask]"'))
    if isinstance(cluster, str):
        text = cluster.strip()
        if text == LOCAL_GPUS:
            return _target(local_gpus())
        match = _ADDRESS.match(text)
        if not match or not 0 < int(match.group(2)) <= 65535:
            raise SpecError(
                Issue(
                    "cluster",
                    f"{cluster!r} is not a Dask scheduler's address: give tcp://HOST:PORT (a scheduler started with "
                    f"`dask scheduler` listens on port 8786), {LOCAL_GPUS!r}, or a distributed.Client",
                )
            )
        return ClusterTarget(text if "://" in text else f"tcp://{text}")
    return _target(cluster)


def _target(obj: Any) -> ClusterTarget:
    """A Client or a cluster object: its scheduler's address and credentials."""
    from distributed import Client

    client = obj if isinstance(obj, Client) else None
    if client is not None:
        address = getattr(client.scheduler, "address", None) if client.scheduler is not None else None
    else:
        address = getattr(obj, "scheduler_address", None)
    if not isinstance(address, str) or not address:
        raise SpecError(
            Issue(
                "cluster",
                f"expected a Dask scheduler's address, {LOCAL_GPUS!r}, a distributed.Client or a Dask cluster "
                f"object, got {type(obj).__name__}" + (" (is the client closed?)" if client is not None else ""),
            )
        )
    if address.startswith("inproc://"):
        raise SpecError(
            Issue(
                "cluster",
                "this Dask cluster runs inside this process (processes=False): the search's oracle runs in a process "
                "of its own and cannot reach it; make the cluster with processes=True (LocalCluster's default)",
            )
        )
    security = getattr(obj, "security", None)
    env: tuple[tuple[str, str], ...] = ()
    if security is not None and (getattr(security, "require_encryption", False) or not address.startswith("tcp")):
        import cloudpickle

        env = ((SECURITY_ENV, base64.b64encode(cloudpickle.dumps(security)).decode()),)
    return ClusterTarget(address, env, client)


# ---------------------------------------------------------------------- several GPUs on one machine
_gpu_cluster: Any = None
_gpu_lock = threading.Lock()


def visible_gpus() -> list[str]:
    """This machine's GPUs: ``CUDA_VISIBLE_DEVICES`` when set, else what ``nvidia-smi -L`` lists."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g.strip() for g in listed.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=False).stdout
        return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]
    return []


def local_gpus() -> Any:
    """A Dask cluster of one worker per GPU of this machine, started once per process (closed at its exit).

    Each worker process sees only its own GPU (``CUDA_VISIBLE_DEVICES``), takes one trial group at a time,
    declares ``GPU=1`` (so every task asks for one) and has JAX's preallocation off.
    """
    global _gpu_cluster
    with _gpu_lock:
        if _gpu_cluster is not None and str(getattr(_gpu_cluster, "status", "")).endswith("running"):
            return _gpu_cluster
        gpus = visible_gpus()
        if not gpus:
            raise SpecError(
                Issue(
                    "cluster",
                    f"{LOCAL_GPUS}: no GPU found on this machine (nvidia-smi lists none, and CUDA_VISIBLE_DEVICES is "
                    "not set); give a Dask scheduler's address instead",
                )
            )
        env = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError:
            from distributed import Nanny, Scheduler, SpecCluster

            workers = {
                f"gpu{gpu}": {
                    "cls": Nanny,
                    "options": {
                        "nthreads": 1,
                        "resources": {"GPU": 1},
                        "env": {**env, "CUDA_VISIBLE_DEVICES": gpu},
                        "name": f"gpu{gpu}",
                        "host": "127.0.0.1",
                        "preload": [PRELOAD],
                    },
                }
                for gpu in gpus
            }
            scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0", "host": "127.0.0.1"}}
            _gpu_cluster = SpecCluster(workers=workers, scheduler=scheduler, name=LOCAL_GPUS)
        else:  # its workers list their own GPU first; a task keeps only that one (tunewidgets' remote side)
            _gpu_cluster = LocalCUDACluster(
                CUDA_VISIBLE_DEVICES=",".join(gpus),
                threads_per_worker=1,
                resources={"GPU": 1},
                dashboard_address=":0",
                env=env,
                preload=[PRELOAD],
            )
        atexit.register(_gpu_cluster.close)
        return _gpu_cluster


def describe(target: ClusterTarget, timeout: float = 5.0) -> str:
    """Where the trials run, for people: the scheduler, its workers, threads and GPUs (asks the scheduler)."""
    from distributed import Client

    try:
        if target.client is not None:
            info = target.client.scheduler_info(n_workers=-1)
        else:
            security = None
            for name, value in target.env:
                if name == SECURITY_ENV:
                    import cloudpickle

                    security = cloudpickle.loads(base64.b64decode(value))
            with Client(target.address, security=security, timeout=timeout, set_as_default=False) as client:
                info = client.scheduler_info(n_workers=-1)
    except Exception as e:  # noqa: BLE001 - any failure to ask is told, not raised: it is a description
        return f"Dask scheduler at {target.address}: not reachable now ({type(e).__name__}: {e})"
    workers = list(info.get("workers", {}).values())
    if not workers:
        return f"Dask scheduler at {target.address}: no worker yet (start some with `dask worker {target.address}`)"
    threads = sum(int(w.get("nthreads", 1)) for w in workers)
    gpus = sum(int(w.get("resources", {}).get("GPU", 0)) for w in workers)
    hosts = len({w.get("host") for w in workers})
    return (
        f"Dask scheduler at {target.address}: {len(workers)} worker{'s' if len(workers) != 1 else ''} on "
        f"{hosts} machine{'s' if hosts != 1 else ''}, {threads} thread{'s' if threads != 1 else ''}, "
        + (f"{gpus} GPU{'s' if gpus != 1 else ''}" if gpus else "no GPU")
    )


__all__ = [
    "LOCAL_GPUS",
    "PRELOAD",
    "ClusterTarget",
    "cluster_target",
    "describe",
    "local_gpus",
    "visible_gpus",
    "where_trials_train",
]
