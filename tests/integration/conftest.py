"""Fixtures for the tests on real dqlite nodes (each module may define its own instead)."""

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy

from adapters.dqlite.node import DqliteNode
from tests.dqlite import dqlite_node

__all__ = ["dqlite_node", "engine", "url"]


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
