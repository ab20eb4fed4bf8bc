"""A client that vanishes in the middle of a write transaction, with no FIN or RST crossing
the network (a cut link, a machine gone), must not keep the database's one write lock.

The client runs in a network namespace of its own (netns.py); the node in the test process,
on the bridge. Cutting the client off stops its packets, including its answers to the node's
keepalive probes.
"""

import asyncio
import select
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from dqliteclient import connect

from adapters.dqlite.node import DqliteNode
from tests.integration.netns import Network, private_network

DATABASE = "vanished"
WRITER_GIVES_UP_SECONDS = 20.0
LOCK_RELEASED_WITHIN_SECONDS = 8.0  # keepalive drops the client after ~3 s; then a retry

HOLDS_THE_WRITE_LOCK = textwrap.dedent(
    """
    import asyncio, sys
    from dqliteclient import connect

    async def main():
        connection = await connect(sys.argv[1], database=sys.argv[2])
        await connection.execute("BEGIN IMMEDIATE")
        await connection.execute("INSERT INTO kv VALUES ('vanished')")
        print("holding the write lock", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def test_a_client_cut_off_mid_transaction_loses_the_write_lock_within_seconds(
    tmp_path: Path,
) -> None:
    with private_network(1) as network:
        node = DqliteNode(1, free_bridge_address(network), tmp_path / "node", private_network=True)
        node.start()
        try:
            asyncio.run(execute(node.address, "CREATE TABLE kv (v TEXT PRIMARY KEY)"))
            command = [sys.executable, "-c", HOLDS_THE_WRITE_LOCK, node.address, DATABASE]
            client = subprocess.Popen(
                [*network.inside(1), *command], stdout=subprocess.PIPE, text=True
            )
            try:
                wait_for_line(client, "holding the write lock", within=15)
                network.cut_from_tests(1)
                cut_at = time.monotonic()
                asyncio.run(write_when_possible(node.address, "after"))
                waited = time.monotonic() - cut_at
            finally:
                client.kill()
                client.wait()
            stored = asyncio.run(values(node.address))
        finally:
            node.stop()

    print(f"\n  a write got through {waited:.2f}s after the lock holder was cut off")
    assert waited <= LOCK_RELEASED_WITHIN_SECONDS
    assert stored == ["after"]


def free_bridge_address(network: Network) -> str:
    with socket.socket() as probe:
        probe.bind((network.bridge_host, 0))
        return f"{network.bridge_host}:{probe.getsockname()[1]}"


def wait_for_line(process: subprocess.Popen[str], line: str, within: float) -> None:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], within)
    assert ready, f"the client did not say {line!r} within {within}s"
    assert process.stdout.readline().strip() == line


async def execute(address: str, sql: str) -> None:
    connection = await connect(address, database=DATABASE)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def write_when_possible(address: str, value: str) -> None:
    """Insert `value`, trying again while the write lock is held, for a bounded time."""
    deadline = time.monotonic() + WRITER_GIVES_UP_SECONDS
    while True:
        try:
            await execute(address, f"INSERT INTO kv VALUES ('{value}')")
            return
        except Exception:  # busy: the lock is still held
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def values(address: str) -> list[str]:
    connection = await connect(address, database=DATABASE)
    try:
        return [row[0] for row in await connection.fetchall("SELECT v FROM kv ORDER BY v")]
    finally:
        await connection.close()
