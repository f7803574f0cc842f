"""`python -m registry_local` / `registry-local`: migrate the database, then serve the API."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import uvicorn

from registry_local.app import create_app
from registry_local.database import make_engine, migrate
from registry_local.http_protocol import RegistryHttpProtocol
from registry_local.settings import build_settings


def main(argv: Sequence[str] | None = None) -> None:
    settings = build_settings(sys.argv[1:] if argv is None else argv, os.environ)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s: %(message)s")
    engine = make_engine(settings.database_url)
    migrate(engine)
    logging.getLogger("registry_local").info("database ready: %s", engine.url)
    uvicorn.run(
        create_app(settings, engine),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        server_header=False,
        http=RegistryHttpProtocol,  # unparsable requests get the one error shape too
        ws="none",  # no websockets: an upgrade request is a plain HTTP request here
        proxy_headers=False,  # nothing here reads client addresses; saves a middleware hop
    )


if __name__ == "__main__":
    main()
