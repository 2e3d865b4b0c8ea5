"""The chief's server (keras-tuner's gRPC oracle service on this machine's loopback, stoppable), and how a
client worker of the same machine finds it.

With several local workers the first one (the chief) keeps keras-tuner's oracle and serves it with
keras-tuner's own ``OracleServicer``; the others are keras-tuner ``OracleClient`` s. Its own serving loop
cannot be stopped or given a port, hence this wrapper. It listens on 127.0.0.1 only: workers on other
machines take trials through a Dask cluster (:mod:`tunewidgets.engine.worker.driver`), never through this
port, which has no authentication.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..folder.protocol import WorkerFiles

#: Where the chief serves: this machine only, a free port.
LOOPBACK = "127.0.0.1"


class ChiefServer:
    """keras-tuner's gRPC oracle service on a free loopback port, stoppable (its own loop is not)."""

    def __init__(self, oracle: Any):
        from concurrent import futures

        import grpc

        from .private import add_oracle_service

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        add_oracle_service(self.server, oracle)
        self.host = LOOPBACK
        self.port = self.server.add_insecure_port(f"{LOOPBACK}:0")
        if self.port == 0:
            raise RuntimeError(f"cannot listen on {LOOPBACK}")
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=0.2).wait()


def wait_for_chief(files: WorkerFiles, stopped: Callable[[], bool], timeout: float = 300.0) -> str:
    """The chief's address from ``workers/chief.json``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopped():
            raise SystemExit(0)
        address = files.chief_address()
        if address is not None:
            return address
        time.sleep(0.1)
    raise RuntimeError(f"no chief announced itself in {files.chief} within {timeout:.0f} s")


__all__ = ["LOOPBACK", "ChiefServer", "wait_for_chief"]
