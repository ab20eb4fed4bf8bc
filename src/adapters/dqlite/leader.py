"""Finding the leader among every known node, and what the cluster looks like from there."""

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from dqliteclient import ClusterClient, DqliteError, NodeStore
from dqlitedbapi.aio import AsyncConnection
from dqlitewire.constants import NodeRole

from adapters.dqlite import backup
from adapters.dqlite.dialing import DialFunc, RoundTrips, plain_dial

logger = logging.getLogger(__name__)

CLIENT_ERRORS: tuple[type[BaseException], ...] = (DqliteError, OSError, TimeoutError)
ROLE_NAMES = {NodeRole.VOTER: "voter", NodeRole.STANDBY: "standby", NodeRole.SPARE: "spare"}


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


# How long a node may take to accept a connection and answer who leads. A paused node (or
# one cut off) accepts nothing in time, and must not hold up the search for the leader, nor a
# new connection: the driver tries one three times, each with this long to connect.
PROBE_TIMEOUT_SECONDS = 0.5


def cluster_client(
    addresses: list[str],
    timeout: float = 2.0,
    dial: DialFunc | None = None,
    probe_timeout: float = PROBE_TIMEOUT_SECONDS,
) -> ClusterClient:
    return _ClusterClient.from_addresses(
        addresses, timeout=timeout, attempt_timeout=probe_timeout, dial_func=dial
    )


class _ClusterClient(ClusterClient):
    """dqliteclient's, but for DUMP (a backup), which backup.dump reads: dqliteclient's own
    refuses any database file over 64 MiB, whatever its max_message_size says (dqlite-wire
    0.8 caps each file of the answer there), and a 10^6-row database is bigger."""

    def __init__(
        self, node_store: NodeStore, *, dial_func: DialFunc | None = None, **options: Any
    ) -> None:
        super().__init__(node_store, dial_func=dial_func, **options)
        self._dial = dial_func or plain_dial

    async def dump(self, database: str) -> dict[str, bytes]:
        """The files of `database` on the leader; backup.DumpTooLarge if they are over
        backup.DUMP_MAX_BYTES."""
        return await backup.dump(await self.find_leader(), database, self._dial)


class LeaderTracker:
    """Every known node address, and the one that leads as far as we last heard.

    The engine opens each new connection to `leader`; after a failure the unit of work
    calls `refresh`, which asks all known nodes, so a dead node is never the only way in.
    """

    def __init__(
        self,
        addresses: list[str],
        dial: DialFunc | None = None,
        probe_timeout: float = PROBE_TIMEOUT_SECONDS,
    ) -> None:
        self.addresses = list(dict.fromkeys(addresses))
        self.dial = dial or plain_dial  # how to reach a node: over TLS, when given
        self.probe_timeout = probe_timeout
        self.round_trips = RoundTrips()  # of the engines' connections, not the probes'
        self._dial_counted = self.round_trips.counting(self.dial)
        self.leader = self.addresses[0]
        self._client: ClusterClient | None = None
        # Every driver connection made, with the node it was aimed at, while it lives.
        self._aimed_at: weakref.WeakKeyDictionary[AsyncConnection, str] = (
            weakref.WeakKeyDictionary()
        )

    def learn(self, addresses: list[str]) -> None:
        known = list(dict.fromkeys([*self.addresses, *addresses]))
        if known != self.addresses:
            self.addresses, self._client = known, None

    @property
    def client(self) -> ClusterClient:
        if self._client is None:
            self._client = cluster_client(
                self.addresses, dial=self.dial, probe_timeout=self.probe_timeout
            )
        return self._client

    async def refresh(self) -> str | None:
        try:
            self.leader = await self.client.find_leader()
        except CLIENT_ERRORS as error:
            logger.info("no leader found among %s: %s", self.addresses, error)
            return None
        return self.leader

    async def view(self) -> ClusterView:
        info = await self.client.leader_info()
        nodes = await self.client.cluster_info()
        return ClusterView(
            leader_id=None if info is None else info.node_id,
            leader_address=None if info is None else info.address,
            nodes=tuple(NodeView(n.node_id, n.address, ROLE_NAMES[n.role]) for n in nodes),
        )

    def connect(self, *args: Any, **params: Any) -> AsyncConnection:
        """The engine's creator: a driver connection aimed at the current leader."""
        params.pop("address", None)
        connection = AsyncConnection(self.leader, *args, dial_func=self._dial_counted, **params)
        self._aimed_at[connection] = self.leader
        return connection

    async def answers(self, address: str, within: float = PROBE_TIMEOUT_SECONDS / 2) -> bool:
        """Whether the node at `address` says who leads within `within` seconds."""
        probe = ClusterClient.from_addresses(
            [address], timeout=within, attempt_timeout=within, dial_func=self.dial
        )
        try:
            await asyncio.wait_for(probe.find_leader(), within * 2)
        except CLIENT_ERRORS:
            return False
        return True

    def abandon(self, address: str) -> int:
        """Drop every connection aimed at `address`, pooled or in use, without waiting for
        it: what it is doing fails at once, as it would once its round trip timed out. How
        many were dropped."""
        doomed = [c for c, aimed_at in list(self._aimed_at.items()) if aimed_at == address]
        for connection in doomed:
            connection.force_close_transport()
        return len(doomed)
