"""Fixtures for the tests on real dqlite nodes (each module may define its own instead)."""

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.dqlite.node import DqliteNode
from tests.dqlite import dqlite_node, fresh_database
from tests.ledger.storage import create_tables

__all__ = ["dqlite_node", "engine", "ledger_engine", "url"]


@pytest.fixture
def url(dqlite_node: DqliteNode) -> str:
    """The sync URL of a new, empty database on the session's node."""
    return f"dqlite://{dqlite_node.address}/db_{uuid.uuid4().hex}"


@pytest.fixture
def engine(url: str) -> Iterator[sqlalchemy.Engine]:
    """A sync engine on `url`'s database."""
    engine = sqlalchemy.create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
async def ledger_engine(dqlite_node: DqliteNode) -> AsyncIterator[AsyncEngine]:
    """An async engine on a new database with the tests' own ledger tables (tests/ledger)."""
    async with fresh_database(dqlite_node) as engine:
        async with engine.begin() as connection:
            await create_tables(connection)
        yield engine
