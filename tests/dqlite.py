"""Real dqlite nodes for tests: free loopback ports, temporary data dirs, always stopped."""

import itertools
import os
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.contexts import CONTEXTS, Context
from adapters.dqlite.engine import create_dqlite_engine, dqlite_url, wait_until_serving
from adapters.dqlite.node import DqliteNode
from adapters.dqlite.store import DqliteStore

# Ports are handed out below the kernel's ephemeral range (32768 and up on Linux), a block of
# its own for each pytest-xdist worker: a port found free here is not taken meanwhile by
# another worker's pick or by the source port of some outgoing connection, as one the kernel
# picked (bind to port 0) could be.
# TESTS_PORTS_FROM moves the blocks, so that two pytest sessions on one machine do not race.
PORTS_FROM = int(os.environ.get("TESTS_PORTS_FROM", "20000"))
PORTS_PER_WORKER = 1_000


def _worker_index() -> int:
    """0 without pytest-xdist, 1 + n in its worker gw<n>."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker.removeprefix("gw")) + 1 if worker.startswith("gw") else 0


_first_port = PORTS_FROM + _worker_index() * PORTS_PER_WORKER
_ports = itertools.cycle(range(_first_port, _first_port + PORTS_PER_WORKER))


def worker_ports() -> range:
    """This worker's block of ports, for a process a test starts and waits for that picks its
    own ports (the bench: BENCH_PORTS_FROM): the worker runs nothing else meanwhile."""
    return range(_first_port, _first_port + PORTS_PER_WORKER)


def free_address() -> str:
    """A 127.0.0.1 address no one listens on right now, not handed out before by this worker
    (until its block of ports wraps around)."""
    for port in itertools.islice(_ports, PORTS_PER_WORKER):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return f"127.0.0.1:{port}"
    raise RuntimeError(f"no free port in {_first_port}-{_first_port + PORTS_PER_WORKER - 1}")


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
async def fresh_database(
    node: DqliteNode, metadata: MetaData | None = None
) -> AsyncIterator[AsyncEngine]:
    """An engine on a new database of `node`, with `metadata`'s tables created (none if not
    given: the tests' own, e.g. tests/ledger, are created by the caller)."""
    engine = create_dqlite_engine(dqlite_url(node.address, f"test_{uuid.uuid4().hex}"))
    try:
        await wait_until_serving(engine, within_seconds=10)
        if metadata is not None:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
        yield engine
    finally:
        await engine.dispose()


def node_in(tmp_path: Path, node_id: int = 1) -> DqliteNode:
    return DqliteNode(node_id, free_address(), tmp_path / f"node{node_id}")


@asynccontextmanager
async def fresh_store(
    node: DqliteNode, *, migrate: bool = False, contexts: Sequence[Context] = CONTEXTS
) -> AsyncIterator[DqliteStore]:
    """The store the app uses (a database per context, each with its writers' queue and its
    read-only pool), on new databases of `node` that no other test sees (a prefix of their
    own), with no node of its own; stopped afterwards.

    Each context's tables are created from its metadata, or, with `migrate`, by its Alembic
    history as the app does at start-up (slower: a sync connection per context)."""
    store = DqliteStore(
        address=node.address,
        peers=[],
        node=None,
        pool_size=4,
        statement_timeout=5.0,
        startup_timeout=10.0,
        migrate=migrate,
        contexts=contexts,
        database_prefix=f"test_{uuid.uuid4().hex}_",
    )
    await store.start()
    try:
        if not migrate:
            for database in store.databases.values():
                async with database.engine.begin() as connection:
                    await connection.run_sync(database.context.metadata.create_all)
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
