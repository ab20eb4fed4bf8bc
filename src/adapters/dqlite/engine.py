"""Engines on dqlite: they refuse statements the engine would misread and keep each
transaction's changes in memory until COMMIT; and waiting for a leader to serve."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import registry
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemydqlite.aio import DqliteDialect_aio

from adapters.dqlite.dialing import plain_dial

MAX_BOUND_PARAMETERS = 255


class TooManyParameters(RuntimeError):
    """A statement binds more parameters than libdqlite 1.11 reads correctly."""


def _refuse_too_many_parameters(
    connection: object,
    cursor: object,
    statement: str,
    parameters: Any,
    context: object,
    executemany: bool,
) -> None:
    # libdqlite 1.11.1 misreads the parameter count of a statement with more than 255: the
    # statement then matches nothing, or fails with "not an error". Refuse it loudly instead.
    for row in parameters if executemany else [parameters]:
        if row is not None and len(row) > MAX_BOUND_PARAMETERS:
            raise TooManyParameters(
                f"{len(row)} bound parameters; dqlite reads at most {MAX_BOUND_PARAMETERS} "
                "correctly (pass long lists as one JSON parameter, with json_each)"
            )


def _keep_changes_until_commit(dbapi_connection: Any, connection_record: object) -> None:
    # A transaction that changes more pages than SQLite's page cache holds (2 MB) spills some
    # to the WAL before COMMIT; libdqlite 1.11.1 fails such a transaction with "disk I/O
    # error" (measured: a 50,000-row INSERT into a 300,000-row table, CREATE INDEX on 10^6
    # rows, an FTS5 merge). Kept in memory instead, each of those committed.
    # The leading ";" is for the driver, which sends a statement starting with PRAGMA as a
    # query; libdqlite 1.11 answers a query that sets a pragma with "not an error".
    cursor = dbapi_connection.cursor()
    cursor.execute("; PRAGMA cache_spill = OFF")
    cursor.close()


def create_dqlite_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine on dqlite that refuses statements the engine would misread."""
    engine = create_async_engine(url, **_dialling_plainly(options))
    _configure(engine.sync_engine)
    return engine


class DqliteDialectBeginningOnRequest(DqliteDialect_aio):
    """`dqlite+aio_reads://`: SQLAlchemy's transaction begins no transaction on the node.

    Statements autocommit until one sends BEGIN; the driver sends no ROLLBACK when no
    transaction is open. So a read of one statement is one round trip instead of three.
    """

    supports_statement_cache = True  # SQLAlchemy asks each subclass to say so again

    def do_begin(self, dbapi_connection: Any) -> None:
        return None


registry.register("dqlite.aio_reads", __name__, DqliteDialectBeginningOnRequest.__name__)


def create_dqlite_read_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine on dqlite whose sessions open a transaction only by sending BEGIN."""
    return create_dqlite_engine(url.replace("dqlite+aio://", "dqlite+aio_reads://"), **options)


def create_dqlite_sync_engine(url: str, **options: Any) -> Engine:
    """The same, blocking: for migrations, backup and restore."""
    engine = create_engine(url, **_dialling_plainly(options))
    _configure(engine)
    return engine


def _dialling_plainly(options: dict[str, Any]) -> dict[str, Any]:
    """`options` with the app's plain-TCP dial (quick ACKs) unless they say how to connect."""
    connect_args = options.get("connect_args", {})
    if "dial_func" in connect_args or "async_creator_fn" in connect_args:
        return options
    return {**options, "connect_args": {**connect_args, "dial_func": plain_dial}}


def _configure(engine: Engine) -> None:
    event.listen(engine, "before_cursor_execute", _refuse_too_many_parameters)
    event.listen(engine, "connect", _keep_changes_until_commit)


def dqlite_url(address: str, database: str, *, driver: str = "aio") -> str:
    scheme = f"dqlite+{driver}" if driver else "dqlite"
    return f"{scheme}://{address}/{database}"


async def wait_until_serving(
    engine: AsyncEngine,
    within_seconds: float,
    between_attempts: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Return once a statement runs on the cluster's leader, or raise TimeoutError."""
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except (DBAPIError, OSError) as error:
            if time.monotonic() >= deadline:
                message = f"dqlite was not serving after {within_seconds:.1f}s: {error}"
                raise TimeoutError(message) from error
            await asyncio.sleep(0.1)
            if between_attempts is not None:
                await between_attempts()
