"""A new node joins the bench's one-node cluster: how long until it has caught up.

The app's join adds the node, then asks for it to be a voter; libraft promotes a node only
once its log has caught up with the leader's, so the time until it votes is the catch-up.
How the leader sends what it holds depends on its log: the entries after its last snapshot go
one by one, the rest as the snapshot. So the join is timed twice: right after a fill, whose
big transactions are then still in the log, and once the node has taken a snapshot of them.
After each, the new node is made the leader and counts its own todos, to show they are there.
"""

import asyncio
import contextlib
import shutil
import time
from pathlib import Path

from dqliteclient import connect
from dqlitewire.constants import NodeRole

from adapters.dqlite.leader import CLIENT_ERRORS, cluster_client
from tools.bench.apps import PORT_ATTEMPTS, App, PortTaken, free_port, node_env
from tools.bench.operations import POLL_SECONDS, data_dir, exited, serving, size_mb

# How long the bench waits for the new node to vote and its app to be ready. The app itself
# waits as long as the leader is catching its node up: past APP_STARTUP_TIMEOUT it serves, its
# /ready saying why it is not ready, until the node votes.
JOIN_TIMEOUT_SECONDS = 900.0
SNAPSHOT_WAIT_SECONDS = 120.0


def join(app: App, workdir: Path, rows: int) -> dict[str, float]:
    """Node 2 joins, catches up, leads to count its todos, and is removed before it stops;
    on other ports if one found free was taken before it bound it."""
    for attempt in range(1, PORT_ATTEMPTS):
        with contextlib.suppress(PortTaken):
            return _join(app, workdir / f"attempt{attempt}", rows)
    return _join(app, workdir / f"attempt{PORT_ATTEMPTS}", rows)


def _join(app: App, workdir: Path, rows: int) -> dict[str, float]:
    leader = app.env["APP_NODE_ADDRESS"]
    address = f"127.0.0.1:{free_port()}"
    env = node_env(2, address, workdir / "node2" / "data", [leader])
    joiner = App(workdir / "node2", env)
    try:
        started = time.perf_counter()
        joiner.start()
        added, voting = asyncio.run(_until_voter(leader, joiner))
        figures = {
            "voter_s": voting - started,
            "catch_up_s": voting - added,
            "data_dir_mb": size_mb(data_dir(joiner)),
        }
        serving(joiner, JOIN_TIMEOUT_SECONDS)
        figures["ready_s"] = time.perf_counter() - started
        counted = asyncio.run(_count_there(leader, address, app.env["APP_DATABASE_PREFIX"]))
        if counted < rows:
            raise RuntimeError(f"the new node holds {counted} todos, not {rows} or more")
    finally:
        asyncio.run(_removed(leader, address))
        joiner.stop()
    shutil.rmtree(workdir)
    return figures


async def _until_voter(leader: str, joiner: App, node_id: int = 2) -> tuple[float, float]:
    """When the node was first seen in the cluster (added, as a spare), and when it voted."""
    client = cluster_client([leader])
    deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
    added = None
    while time.monotonic() < deadline:
        exited(joiner)
        try:
            roles = {n.node_id: n.role for n in await client.cluster_info()}
        except CLIENT_ERRORS:
            roles = {}
        if node_id in roles and added is None:
            added = time.perf_counter()
        if roles.get(node_id) == NodeRole.VOTER:
            return added or time.perf_counter(), time.perf_counter()
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError(f"node {node_id} did not become a voter")


async def _count_there(leader: str, address: str, prefix: str) -> int:
    """The todos node 2 holds, read on node 2 as the leader."""
    await cluster_client([leader, address]).transfer_leadership(2)
    for _ in range(100):  # until node 2 takes the requests of a leader
        try:
            connection = await connect(address, database=f"{prefix}todos", timeout=60)
            try:
                return int(await connection.fetchval("SELECT count(*) FROM todos"))
            finally:
                await connection.close()
        except CLIENT_ERRORS:
            await asyncio.sleep(0.1)
    raise RuntimeError("node 2 never answered as the leader")


async def _removed(leader: str, address: str) -> None:
    """Node 1 leads, and node 2 is out of the configuration: stopped while it was in it as
    a voter, it would leave node 1 alone as one voter of two, no majority."""
    client = cluster_client([leader, address])
    if await client.find_leader() != leader:
        await client.transfer_leadership(1)
    if any(node.node_id == 2 for node in await client.cluster_info()):
        await client.remove_node(2)


def _snapshots(app: App) -> set[str]:
    return {path.name for path in data_dir(app).glob("snapshot-*.meta")}


async def _writes(address: str, database: str, count: int) -> None:
    connection = await connect(address, database=database)
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS beats (n INTEGER PRIMARY KEY)")
        for _ in range(count):
            await connection.execute("INSERT INTO beats DEFAULT VALUES")
    finally:
        await connection.close()


def snapshot(app: App, threshold: int) -> None:
    """Have the node take a snapshot of what it holds now: more than `threshold` raft entries
    (one-row transactions in a scratch database of the bench's), then wait for its file."""
    before = _snapshots(app)
    database = app.env["APP_DATABASE_PREFIX"] + "scratch"
    asyncio.run(_writes(app.env["APP_NODE_ADDRESS"], database, threshold + 100))
    deadline = time.monotonic() + SNAPSHOT_WAIT_SECONDS
    while not _snapshots(app) - before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no new snapshot in {data_dir(app)}")
        time.sleep(POLL_SECONDS)
