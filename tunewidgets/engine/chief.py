"""The chief's server: keras-tuner's gRPC oracle service, on a port of our choosing, stoppable.

With several workers the first one (the chief) keeps keras-tuner's oracle and serves it with
keras-tuner's own ``OracleServicer``; the others are keras-tuner ``OracleClient`` s. Its own
serving loop cannot be stopped or given a port, hence this wrapper.
"""

from __future__ import annotations

from typing import Any


class ChiefServer:
    """keras-tuner's gRPC oracle service on a port of our choosing, stoppable (its own loop is not)."""

    def __init__(self, oracle: Any, listen: str):
        from concurrent import futures

        import grpc
        from keras_tuner.src import protos
        from keras_tuner.src.distribute.oracle_chief import OracleServicer

        host, _, port = listen.rpartition(":")
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        protos.get_service_grpc().add_OracleServicer_to_server(OracleServicer(oracle), self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port or 0}")
        if self.port == 0:
            raise RuntimeError(f"cannot listen on {listen}")
        self.host = host
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=0.2).wait()


__all__ = ["ChiefServer"]
