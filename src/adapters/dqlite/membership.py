"""A node's place in its dqlite cluster: who it is, how it joins, how it leaves.

libdqlite 1.11 has no auto-join, roles manager or handover; like go-dqlite's `app` package,
this module does that work through the wire client.
"""

import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dqliteclient import ClusterClient
from dqlitewire.constants import NodeRole

from adapters.dqlite.dialing import DialFunc
from adapters.dqlite.leader import CLIENT_ERRORS, LeaderTracker, cluster_client

logger = logging.getLogger(__name__)

VOTERS_WANTED = 3
JOIN_SETTLE_SECONDS = 1.0  # longer than nodes started together take to join
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


async def join(membership: Membership, within_seconds: float, dial: DialFunc | None = None) -> None:
    """Make this node a member: a voter while the cluster has fewer than three, else a standby.

    Idempotent: a voter stays a voter; a standby or spare moves up to what is wanted.
    """
    others = [peer for peer in membership.peers if peer != membership.address]
    client = cluster_client(others, dial=dial)
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
            else:
                return
            if wanted == NodeRole.VOTER:
                await _give_way_to_lower_voters(client, membership.node_id)
            return
        except CLIENT_ERRORS as error:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"could not join the cluster at {others}: {error}") from error
            await asyncio.sleep(0.2)


async def _give_way_to_lower_voters(client: ClusterClient, node_id: int) -> None:
    """Nodes that join at once may each count fewer than three voters and all become voters.
    Once they have settled, a voter beyond the three lowest ids steps down to standby."""
    await asyncio.sleep(JOIN_SETTLE_SECONDS)
    nodes = await client.cluster_info()
    voters = sorted(n.node_id for n in nodes if n.role == NodeRole.VOTER)
    if node_id in voters[VOTERS_WANTED:]:
        await client.assign_role(node_id, NodeRole.STANDBY)
        logger.info("node %s stepped down to standby: %s voters joined at once", node_id, voters)


async def cluster_already_running(
    membership: Membership, dial: DialFunc | None = None
) -> str | None:
    """The leader of a cluster the other peers already form, if any."""
    others = [peer for peer in membership.peers if peer != membership.address]
    if not others:
        return None
    try:
        leader: str = await cluster_client(others, timeout=1.0, dial=dial).find_leader()
    except CLIENT_ERRORS:
        return None
    return leader


async def hand_over(membership: Membership, tracker: LeaderTracker) -> None:
    """Before this node stops: give its vote to a live standby or spare, and its leadership
    to another voter, so the cluster neither waits for an election nor loses a voter."""
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
