"""`python -m serving`: run the inference server (see `--help` for every setting).

REST (uvicorn) and gRPC (our own HTTP/2 server, `serving.http2`) serve on one uvloop event
loop, over one data plane.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence

import uvicorn
import uvloop

from serving.app import create_servers
from serving.grpc_api import GrpcServer
from serving.http_protocol import protocol_with
from serving.rest import RestApi
from serving.settings import ServerSettings

GRACE_SECONDS = 3


def uvicorn_config(app: RestApi, settings: ServerSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="none",  # the loop is ours: uvloop, shared with the gRPC server
        http=protocol_with(settings.request_read_timeout),  # bounded heads, read deadline
        lifespan="on",
        proxy_headers=False,  # no proxy in front to trust; saves a middleware per request
        access_log=settings.access_log,
        log_level=settings.log_level,
        timeout_graceful_shutdown=GRACE_SECONDS,
    )


class InferenceServer(uvicorn.Server):
    """uvicorn's server, stopping the gRPC listener beside REST when a signal comes (uvicorn
    raises the signal again once it has shut down, which ends the process before code after
    `serve()` could run)."""

    def __init__(self, config: uvicorn.Config, grpc_server: GrpcServer | None) -> None:
        super().__init__(config)
        self.grpc_server = grpc_server

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        stopping = [super().shutdown(sockets)]
        if self.grpc_server is not None:
            stopping.append(self.grpc_server.stop(GRACE_SECONDS))
        await asyncio.gather(*stopping)


async def serve(settings: ServerSettings) -> None:
    """Start gRPC (if on), then serve REST until a signal; then stop both, each with grace."""
    rest, grpc_server = create_servers(settings)
    if grpc_server is not None:
        await grpc_server.start()
    await InferenceServer(uvicorn_config(rest, settings), grpc_server).serve()


def main(argv: Sequence[str] | None = None) -> None:
    settings = ServerSettings.from_args(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()
