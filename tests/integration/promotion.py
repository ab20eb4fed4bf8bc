"""A node joining while the leader still promotes it: a promotion held under way on purpose.

libraft makes a joining node a voter only once it has caught the node's log up with the
leader's. A slow catch-up for real takes a long log: here about 1,000 to 2,000 one-row entries
a second were caught up, at about 8 KB of raft log each, so the minutes measured with 10^6
rows would take hundreds of MB per node. Instead the joining app is paused (SIGSTOP) once it
has joined: a paused node acknowledges nothing, so a promotion of it under way cannot end
until it resumes (libraft gives up only once a catch-up round has lasted 50 s).
The entries written before it starts give the test seconds to pause it before it has caught
up; those written while it is paused keep it catching up for seconds after it resumes.
"""

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from dqliteclient import OperationalError
from dqlitewire.constants import NodeRole

from adapters.dqlite.leader import CLIENT_ERRORS, ROLE_NAMES, cluster_client
from adapters.dqlite.membership import CHANGE_UNDER_WAY
from tests.integration.cluster import Cluster
from tests.integration.process import AppProcess

# A raft log that keeps every entry: a node that joins is sent them one by one, not a snapshot.
NO_SNAPSHOTS = {"APP_SNAPSHOT_THRESHOLD": "1000000", "APP_SNAPSHOT_TRAILING": "1000000"}
# Seconds of catch-up here: for the test to pause the joiner before it has caught up, and,
# written while it is paused, after it resumes.
ENTRIES_BEFORE = 2_000
ENTRIES_WHILE_PAUSED = 1_000
POLL_SECONDS = 0.01
WAIT_SECONDS = 60.0


def fill(addresses: list[str], entries: int) -> None:
    """`entries` one-row transactions, each a raft entry, in a scratch database; through a new
    leader if the one written to steps down."""

    async def write() -> None:
        written = 0
        deadline = time.monotonic() + WAIT_SECONDS
        while written < entries:
            assert time.monotonic() < deadline, f"{written} of {entries} entries written"
            try:
                client = cluster_client(addresses, timeout=10)
                connection = await client.connect(database="filler")
                try:
                    await connection.execute("CREATE TABLE IF NOT EXISTS f (n INTEGER PRIMARY KEY)")
                    while written < entries:
                        await connection.execute("INSERT INTO f DEFAULT VALUES")
                        written += 1
                finally:
                    await connection.close()
            except CLIENT_ERRORS:
                continue  # on with the next leader

    asyncio.run(write())


def roles(addresses: list[str]) -> dict[int, str]:
    """Node id -> voter, standby or spare, as the leader says; {} if no leader answers."""

    async def ask() -> dict[int, str]:
        nodes = await cluster_client(addresses).cluster_info()
        return {n.node_id: ROLE_NAMES[n.role] for n in nodes}

    try:
        return asyncio.run(ask())
    except CLIENT_ERRORS:
        return {}


def change_under_way(leader: str, leader_id: int) -> bool:
    """Whether the leader refuses configuration changes: asked to make itself a voter, which
    it is, it says so (and changes nothing) unless a change is under way."""

    async def ask() -> bool:
        try:
            await cluster_client([leader]).assign_role(leader_id, NodeRole.VOTER)
        except OperationalError as error:
            return error.code == CHANGE_UNDER_WAY
        raise AssertionError("the leader was made a voter, which it was already")

    return asyncio.run(ask())


def promote(leader: str, node_id: int) -> None:
    """Ask for `node_id` to be made a voter, as an earlier attempt would have, and wait for the
    answer (libdqlite 1.11 writes it into a freed connection if this one is closed before)."""

    async def ask() -> None:
        client = cluster_client([leader], timeout=2 * WAIT_SECONDS)
        await client.assign_role(node_id, NodeRole.VOTER)

    asyncio.run(ask())


def wait_for(condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        time.sleep(POLL_SECONDS)


def said(app: AppProcess, text: str) -> bool:
    """Whether `app` has logged `text`; fails at once if it has exited."""
    assert app.exit_code is None, f"the app exited:\n{app.output()}"
    return text in app.output()


def joining_app(cluster: Cluster, node_id: int, startup_timeout: float) -> AppProcess:
    joiner = AppProcess(cluster.apps[1].workdir.parent / f"node{node_id}", node_id=node_id)
    joiner.peers = cluster.addresses
    joiner.extra_env = {**NO_SNAPSHOTS, "APP_STARTUP_TIMEOUT": str(startup_timeout)}
    return joiner


def hold_promotion(cluster: Cluster, joiner: AppProcess, asking: ThreadPoolExecutor) -> None:
    """See that the leader has a promotion of the paused `joiner` under way: its own request,
    or one made here (refused if its own came first; asked again of a new leader, which knows
    nothing of the old one's)."""
    leader = cluster.leader()
    if change_under_way(leader.node_address, leader.node_id):
        return
    asking.submit(promote, leader.node_address, joiner.node_id)
    wait_for(lambda: change_under_way(leader.node_address, leader.node_id), "a promotion under way")


@contextmanager
def promotion_held(cluster: Cluster, joiner: AppProcess, startup_timeout: float) -> Iterator[None]:
    """Launch `joiner` and pause it once it has joined, with a promotion of it under way and
    entries still to catch up; resume it once its start-up timeout has passed. The requests
    made here are answered (when the promotion ends, or its leader steps down) before this
    ends."""
    fill(cluster.addresses, ENTRIES_BEFORE)
    joiner.launch()
    with ThreadPoolExecutor(2) as asking:
        try:
            # Once it says so, it knows it is a member: paused earlier, it could resume past
            # its start-up timeout without having read the leader's answer, and give up.
            wait_for(lambda: said(joiner, "joined as a spare"), "the node added")
            os.kill(joiner.pid, signal.SIGSTOP)
            added_by = time.monotonic()  # the joiner's start-up clock began before this
            assert roles(cluster.addresses).get(joiner.node_id) != "voter", (
                "the catch-up ended before the joiner was paused: give it more entries"
            )
            fill(cluster.addresses, ENTRIES_WHILE_PAUSED)  # so that it is behind, whatever
            hold_promotion(cluster, joiner, asking)
            # The joiner's own timer: it must run out while the promotion is held.
            wait_for(lambda: time.monotonic() > added_by + startup_timeout, "its start-up timeout")
            hold_promotion(cluster, joiner, asking)
        finally:
            os.kill(joiner.pid, signal.SIGCONT)
        yield
