"""The chief's server (keras-tuner's gRPC oracle service, on a port of our choosing, stoppable), and how a
client worker finds its chief and notices it is gone.

With several workers the first one (the chief) keeps keras-tuner's oracle and serves it with
keras-tuner's own ``OracleServicer``; the others are keras-tuner ``OracleClient`` s. Its own
serving loop cannot be stopped or given a port, hence this wrapper.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from ..folder.protocol import WorkerEnd, WorkerFiles


class ChiefServer:
    """keras-tuner's gRPC oracle service on a port of our choosing, stoppable (its own loop is not)."""

    def __init__(self, oracle: Any, listen: str):
        from concurrent import futures

        import grpc

        from .private import add_oracle_service

        host, _, port = listen.rpartition(":")
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        add_oracle_service(self.server, oracle)
        self.port = self.server.add_insecure_port(f"{host}:{port or 0}")
        if self.port == 0:
            raise RuntimeError(f"cannot listen on {listen}")
        self.host = host
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=0.2).wait()


def wait_for_chief(files: WorkerFiles, stopped: Callable[[], bool], *, remote: bool, timeout: float = 300.0) -> str:
    """The chief's address from ``workers/chief.json`` (its host name for a worker on another machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopped():
            raise SystemExit(0)
        address = files.chief_address(remote=remote)
        if address is not None:
            return address
        time.sleep(0.1)
    raise RuntimeError(
        f"no chief announced itself in {files.chief} within {timeout:.0f} s; is the search running with "
        "several workers or --listen? Pass --chief HOST:PORT to name it"
    )


def watch_chief(files: WorkerFiles, stopped: Callable[[], bool], address: str, seconds: float, worker_id: str) -> None:
    """A worker on another machine: gives up once its chief has not answered for ``seconds`` (keras-tuner's own
    client would wait an hour on each call), saying so in its end file and its output."""
    from ..folder.protocol import reachable

    def watch() -> None:
        silent_since: float | None = None
        while not stopped():
            if reachable(address):
                silent_since = None
            else:
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > seconds:
                    message = (
                        f"the chief at {address} has not answered for {seconds:.0f} s: the search ended or its "
                        "machine is out of reach; the trials that ended are kept in the chief's folder. Join again "
                        "once it runs (tunewidgets worker DIR)"
                    )
                    print(f"tunewidgets worker: {message}", flush=True)
                    files.write_end(worker_id, WorkerEnd.ERROR, message, os.getpid(), False)
                    os._exit(1)
            time.sleep(2.0)

    threading.Thread(target=watch, name="tunewidgets:watch-chief", daemon=True).start()


__all__ = ["ChiefServer", "wait_for_chief", "watch_chief"]
