"""A node's place in its dqlite cluster: who it is, how it joins, who leads, how it leaves.

libdqlite 1.11 has no auto-join, roles manager or handover; like go-dqlite's `app` package,
this module does that work through the wire client. (dqliteclient is imported where it is
used: the in-memory twin must import without the dqlite stack installed.)
"""

import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

VOTERS_WANTED = 3
MEMBERSHIP_FILE = "cluster.json"


@dataclass
class Membership:
    """What a node keeps in its data dir to rejoin after a restart without being told."""

    node_id: int
    address: str
    peers: list[str] = field(default_factory=list)  # every node address known, own included

    @classmethod
    def load(cls, data_dir: Path) -> "Membership | None":
        path = data_dir / MEMBERSHIP_FILE
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))

    def save(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        scratch = data_dir / f"{MEMBERSHIP_FILE}.new"
        scratch.write_text(json.dumps(asdict(self), indent=2))
        scratch.replace(data_dir / MEMBERSHIP_FILE)  # atomic: a crash leaves old or new


@dataclass(frozen=True)
class NodeView:
    node_id: int
    address: str
    role: str  # voter, standby or spare


@dataclass(frozen=True)
class ClusterView:
    leader_id: int | None
    leader_address: str | None
    nodes: tuple[NodeView, ...]


def _client(addresses: list[str], timeout: float = 2.0) -> Any:
    from dqliteclient import ClusterClient

    # A short probe per node: a paused node must not hold up the search for the leader.
    return ClusterClient.from_addresses(addresses, timeout=timeout, attempt_timeout=0.5)


def _client_errors() -> tuple[type[BaseException], ...]:
    from dqliteclient import DqliteError

    return (DqliteError, OSError, TimeoutError)


class LeaderTracker:
    """Every known node address, and the one that leads as far as we last heard.

    The engine opens each new connection to `leader`; after a failure the unit of work
    calls `refresh`, which asks all known nodes, so a dead node is never the only way in.
    """

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = list(dict.fromkeys(addresses))
        self.leader = self.addresses[0]
        self._client: Any = None

    def learn(self, addresses: list[str]) -> None:
        known = list(dict.fromkeys([*self.addresses, *addresses]))
        if known != self.addresses:
            self.addresses, self._client = known, None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client(self.addresses)
        return self._client

    async def refresh(self) -> str | None:
        try:
            self.leader = await self.client.find_leader()
        except _client_errors() as error:
            logger.info("no leader found among %s: %s", self.addresses, error)
            return None
        return self.leader

    async def view(self) -> ClusterView:
        info = await self.client.leader_info()
        nodes = await self.client.cluster_info()
        roles = {0: "voter", 1: "standby", 2: "spare"}
        return ClusterView(
            leader_id=None if info is None else info.node_id,
            leader_address=None if info is None else info.address,
            nodes=tuple(NodeView(n.node_id, n.address, roles[int(n.role)]) for n in nodes),
        )

    def connect(self, *args: Any, **params: Any) -> Any:
        """The engine's creator: a driver connection aimed at the current leader."""
        from dqlitedbapi.aio import AsyncConnection

        params.pop("address", None)
        return AsyncConnection(self.leader, *args, **params)


async def join(membership: Membership, within_seconds: float) -> None:
    """Make this node a member: a voter while the cluster has fewer than three, else a standby.

    Idempotent: a voter stays a voter; a standby or spare moves up to what is wanted.
    """
    from dqlitewire.constants import NodeRole

    others = [peer for peer in membership.peers if peer != membership.address]
    client = _client(others)
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            nodes = await client.cluster_info()
            voters = sum(1 for n in nodes if n.role == NodeRole.VOTER)
            me = next((n for n in nodes if n.node_id == membership.node_id), None)
            wanted = NodeRole.VOTER if voters < VOTERS_WANTED else NodeRole.STANDBY
            if me is None:
                await client.add_node(membership.node_id, membership.address, role=wanted)
                logger.info("node %s joined as %s", membership.node_id, wanted.name.lower())
            elif me.role not in (NodeRole.VOTER, wanted):  # e.g. a spare since it handed over
                await client.assign_role(membership.node_id, wanted)
                logger.info("node %s is now %s", membership.node_id, wanted.name.lower())
            return
        except _client_errors() as error:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"could not join the cluster at {others}: {error}") from error
            await asyncio.sleep(0.2)


async def cluster_already_running(membership: Membership) -> str | None:
    """The leader of a cluster the other peers already form, if any."""
    others = [peer for peer in membership.peers if peer != membership.address]
    if not others:
        return None
    try:
        leader: str = await _client(others, timeout=1.0).find_leader()
    except _client_errors():
        return None
    return leader


async def hand_over(membership: Membership, tracker: LeaderTracker) -> None:
    """Before this node stops: give its vote to a live standby or spare, and its leadership
    to another voter, so the cluster neither waits for an election nor loses a voter."""
    from dqlitewire.constants import NodeRole

    client = tracker.client
    view = await tracker.view()
    me = next((n for n in view.nodes if n.node_id == membership.node_id), None)
    if me is None:
        return
    live = [n for n in view.nodes if n.node_id != me.node_id and await _answers(n.address)]
    replacement = None
    if me.role == "voter":
        replacement = next((n for n in live if n.role != "voter"), None)
        if replacement is not None:
            await client.assign_role(replacement.node_id, NodeRole.VOTER)
            logger.info("node %s handed its vote to node %s", me.node_id, replacement.node_id)
    if view.leader_id == me.node_id:
        heir = next((n for n in live if n.role == "voter"), replacement)
        if heir is not None:
            await client.transfer_leadership(heir.node_id)
            logger.info("node %s handed leadership to node %s", me.node_id, heir.node_id)
    if replacement is not None:
        await client.assign_role(me.node_id, NodeRole.SPARE)


async def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 0.5)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


class ClusterAdmin:
    """Operator commands, sent to whichever node leads."""

    def __init__(self, addresses: list[str]) -> None:
        self.tracker = LeaderTracker(addresses)

    async def status(self) -> ClusterView:
        return await self.tracker.view()

    async def add(self, node_id: int, address: str, role: str) -> None:
        await self.tracker.client.add_node(node_id, address, role=_role(role))

    async def assign(self, node_id: int, role: str) -> None:
        await self.tracker.client.assign_role(node_id, _role(role))

    async def remove(self, node_id: int) -> None:
        await self.tracker.client.remove_node(node_id)

    async def transfer_leadership(self, node_id: int) -> None:
        await self.tracker.client.transfer_leadership(node_id)

    async def leader(self) -> str:
        if await self.tracker.refresh() is None:
            raise RuntimeError(f"no leader among {self.tracker.addresses}")
        return self.tracker.leader


def _role(name: str) -> Any:
    from dqlitewire.constants import NodeRole

    return NodeRole[name.upper()]
