"""`python -m serving`: run the inference server (see `--help` for every setting)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import uvicorn

from serving.app import create_app
from serving.config import ServerSettings


def main(argv: Sequence[str] | None = None) -> None:
    settings = ServerSettings.from_args(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        proxy_headers=False,  # no proxy in front to trust; saves a middleware per request
        access_log=settings.access_log,
        log_level=settings.log_level,
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
