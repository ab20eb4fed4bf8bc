"""`python -m entrypoints`: serve the API, with an embedded dqlite node unless told otherwise."""

import argparse
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import uvicorn
from dependency_injector import providers

if TYPE_CHECKING:
    import socket

    from fastapi import FastAPI

    from entrypoints.container import Container
    from entrypoints.settings import Settings

SETTINGS_HELP = """\
Everything else is set by environment variables with the prefix APP_, or a .env file in the
working directory: e.g. APP_API_HOST and APP_API_PORT (127.0.0.1, 8000), APP_STORAGE=memory
to keep everything in the process with no dqlite, APP_NODE_ADDRESS, APP_PEERS, APP_DATA_DIR,
APP_WORKERS=N to serve the port from N processes.
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


def _server_options(settings: "Settings") -> dict[str, Any]:
    """uvicorn's options beside where it listens."""
    from entrypoints.http_protocol import with_header_timeout

    return {
        "log_config": None,  # uvicorn's loggers go through configure_logging's handler
        "access_log": False,  # the app logs each request itself when APP_ACCESS_LOG is set
        # asyncio's own loop: the dqlite client passes options to create_connection() that
        # uvloop does not take. HTTP parsing is httptools' (a dependency), not pure-Python h11,
        # with a deadline for request headers added.
        "loop": "asyncio",
        "http": with_header_timeout(settings.header_timeout_seconds),
    }


def _with_arguments(settings: "Settings", args: argparse.Namespace) -> "Settings":
    """`settings` with what --host and --port say instead."""
    overrides = {
        name: value
        for name, value in (("api_host", args.host), ("api_port", args.port))
        if value is not None
    }
    return settings.model_copy(update=overrides) if overrides else settings


def main(
    argv: list[str] | None = None, app_factory: "Callable[[Container], FastAPI] | None" = None
) -> None:
    """Serve the app that `app_factory` (by default `create_app`) builds on the container."""
    args = _parser().parse_args(argv)  # --help and bad arguments exit here, before any setup
    # Imported only now, so that `--help` builds nothing and needs nothing beyond argparse.
    from entrypoints.logs import configure_logging
    from entrypoints.settings import Settings

    configure_logging()
    settings = _with_arguments(Settings(), args)
    if settings.workers > 1:
        # Imported once, here: the workers forked from this process share them.
        import entrypoints.app
        import entrypoints.container  # noqa: F401
        from entrypoints.workers import supervise

        serve_worker = functools.partial(_serve_worker, settings, app_factory)
        sys.exit(supervise(settings, serve_worker))
    app = _app(settings, app_factory)
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, **_server_options(settings))


def _app(settings: "Settings", app_factory: "Callable[[Container], FastAPI] | None") -> "FastAPI":
    from entrypoints.app import create_app
    from entrypoints.container import Container

    container = Container()
    container.settings.override(providers.Object(settings))
    return (app_factory or create_app)(container)


def _serve_worker(
    settings: "Settings",
    app_factory: "Callable[[Container], FastAPI] | None",
    index: int,
    listener: "socket.socket",
    ready_fd: int,
) -> None:
    """Worker `index` of the supervisor of APP_WORKERS > 1, in its own process."""
    from entrypoints.workers import serve_as_worker, worker_settings

    settings = worker_settings(settings, index)
    serve_as_worker(_app(settings, app_factory), listener, ready_fd, _server_options(settings))


if __name__ == "__main__":
    main()
