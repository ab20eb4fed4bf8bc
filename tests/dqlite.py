"""Real dqlite nodes for tests: free loopback ports, temporary data dirs, always stopped."""

import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.dqlite.engine import create_dqlite_engine, dqlite_url, wait_until_serving
from adapters.dqlite.node import DqliteNode
from adapters.dqlite.store import DqliteStore
from adapters.repositories import metadata


def free_address() -> str:
    """A 127.0.0.1 address no one listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture(scope="session")
def dqlite_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DqliteNode]:
    """One embedded node for the whole session; each test uses a database of its own on it."""
    node = DqliteNode(1, free_address(), tmp_path_factory.mktemp("dqlite") / "node1")
    node.start()
    try:
        yield node
    finally:
        node.stop()


@asynccontextmanager
async def fresh_database(node: DqliteNode) -> AsyncIterator[AsyncEngine]:
    """An engine on a new, empty database of `node`, with the current schema created."""
    engine = create_dqlite_engine(dqlite_url(node.address, f"test_{uuid.uuid4().hex}"))
    try:
        await wait_until_serving(engine, within_seconds=10)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        yield engine
    finally:
        await engine.dispose()


def node_in(tmp_path: Path, node_id: int = 1) -> DqliteNode:
    return DqliteNode(node_id, free_address(), tmp_path / f"node{node_id}")


@asynccontextmanager
async def store_on(node: DqliteNode, engine: AsyncEngine) -> AsyncIterator[DqliteStore]:
    """The store the app uses (its writers' queue, its read-only pool), started on `engine`'s
    database of `node`, with no node of its own; stopped afterwards."""
    store = DqliteStore(
        address=node.address,
        database=str(engine.url.database),
        peers=[],
        node=None,
        pool_size=4,
        statement_timeout=5.0,
        startup_timeout=10.0,
        migrate=False,
    )
    await store.start()
    try:
        yield store
    finally:
        await store.stop()


@contextmanager
def tmpfs(mount_point: Path, size_mb: int) -> Iterator[Path]:
    """A filesystem of `size_mb` of its own at `mount_point` (tmpfs), unmounted afterwards;
    the test is skipped where mounting is not allowed (it needs root)."""
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)
