"""`python -m entrypoints`: serve the API, with an embedded dqlite node unless told otherwise."""

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

import uvicorn
from dependency_injector import providers

if TYPE_CHECKING:
    from fastapi import FastAPI

    from entrypoints.container import Container

SETTINGS_HELP = """\
Everything else is set by environment variables with the prefix APP_, or a .env file in the
working directory: e.g. APP_API_HOST and APP_API_PORT (127.0.0.1, 8000), APP_STORAGE=memory
to keep everything in the process with no dqlite, APP_NODE_ADDRESS, APP_PEERS, APP_DATA_DIR.
The README lists them all.
"""


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1-65535)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m entrypoints",
        description=__doc__,
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="where the API listens (overrides APP_API_HOST)")
    parser.add_argument(
        "--port", type=_port, help="the API's port (overrides APP_API_PORT)", metavar="PORT"
    )
    return parser


def main(
    argv: list[str] | None = None, app_factory: "Callable[[Container], FastAPI] | None" = None
) -> None:
    """Serve the app that `app_factory` (by default `create_app`) builds on the container."""
    args = _parser().parse_args(argv)  # --help and bad arguments exit here, before any setup
    # Imported only now, so that `--help` builds nothing and needs nothing beyond argparse.
    from entrypoints.app import create_app
    from entrypoints.container import Container
    from entrypoints.http_protocol import with_header_timeout
    from entrypoints.logs import configure_logging

    configure_logging()
    container = Container()
    settings = container.settings()
    overrides = {
        name: value
        for name, value in (("api_host", args.host), ("api_port", args.port))
        if value is not None
    }
    if overrides:
        settings = settings.model_copy(update=overrides)
        container.settings.override(providers.Object(settings))
    app = (app_factory or create_app)(container)
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,  # uvicorn's loggers go through configure_logging's handler
        access_log=False,  # the app logs each request itself when APP_ACCESS_LOG is set
        # asyncio's own loop: the dqlite client passes options to create_connection() that
        # uvloop does not take. HTTP parsing is httptools' (a dependency), not pure-Python h11,
        # with a deadline for request headers added.
        loop="asyncio",
        http=with_header_timeout(settings.header_timeout_seconds),
    )


if __name__ == "__main__":
    main()
