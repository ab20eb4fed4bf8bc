"""The store on dqlite: the one face of this package that the app uses (start, stop, units
of work, readiness, status), composing the node, its membership, the leader tracker, and a
database per bounded context, each with its engines and migrations."""

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from adapters.contexts import CONTEXTS, Context
from adapters.dqlite.database import DqliteDatabase
from adapters.dqlite.engine import wait_until_serving
from adapters.dqlite.leader import PROBE_TIMEOUT_SECONDS, ClusterView, LeaderTracker
from adapters.dqlite.membership import (
    Membership,
    Promotion,
    cluster_already_running,
    hand_over,
    join,
)
from adapters.dqlite.node import DqliteNode, NodeError
from adapters.dqlite.tls import TlsFiles, tls_dialer
from adapters.dqlite.writers import SiblingWriteLock
from service.operations import Readiness, StoreStatus
from service.outbox import OutboxBell
from service.retry import RetryCounters, RetrySettings
from service.tracing import Tracing
from service.unit_of_work import AbstractUnitOfWork

logger = logging.getLogger(__name__)

# /ready and /metrics ask the cluster at most this often, however often they are called: each
# question opens connections to the nodes, and a flood of probes must not exhaust local ports.
PROBE_SECONDS = 1.0
# In a cluster, the store asks who leads this often. A leader cut off from the others is
# replaced within a few tenths of a second (libdqlite 1.11's election timeout is 15 times
# APP_NETWORK_LATENCY_MS), but a round trip in flight to it only fails once it times out
# (APP_DB_TIMEOUT_SECONDS, 2 s): writes stood still that long. Noticed here, the connections
# to an old leader that no longer answers are dropped, and their use cases retry on the new one.
LEADER_WATCH_SECONDS = 0.25


class DqliteStore:
    """An embedded node (optional) in its cluster, and a database per context (named
    `database_prefix` + the context's name) with engines that follow the leader among every
    known node, each database's schema at the head of its own history. Given
    `sibling_locks` (a directory the app's worker processes share), each database's writers
    take turns with the other workers' (`SiblingWriteLock`)."""

    def __init__(
        self,
        *,
        address: str,
        peers: list[str],
        node: DqliteNode | None,
        pool_size: int,
        statement_timeout: float,
        startup_timeout: float,
        migrate: bool,
        retry_settings: RetrySettings | None = None,
        retry_counters: RetryCounters | None = None,
        contexts: Sequence[Context] = CONTEXTS,
        database_prefix: str = "",
        tls: TlsFiles | None = None,
        sibling_locks: Path | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._node = node
        self._startup_timeout = startup_timeout
        self._migrate = migrate
        self.retry_counters = retry_counters or RetryCounters()
        self._membership: Membership | None = None
        self._promotion: Promotion | None = None  # a joining node's, which may outlast start()
        self.tracker = LeaderTracker([address, *peers], tls_dialer(tls) if tls else None)
        # Each wire round trip gives up after statement_timeout, so a request stuck on a paused
        # or cut-off leader fails over instead of waiting out the driver's 10 s; connecting
        # gives up sooner (it otherwise takes statement_timeout per attempt, three attempts).
        options = {
            "pool_size": pool_size,
            "max_overflow": pool_size,
            "connect_args": {
                "async_creator_fn": self.tracker.connect,
                "timeout": statement_timeout,
                "attempt_timeout": PROBE_TIMEOUT_SECONDS,
            },
        }
        self.databases = {
            context.unit_of_work: DqliteDatabase(
                context,
                database_prefix + context.name,
                self.tracker,
                self._follow_leader,
                engine_options=options,
                retry_settings=retry_settings,
                retry_counters=self.retry_counters,
                disk_shortage=self._disk_shortage,
                siblings=_sibling_lock(sibling_locks, database_prefix + context.name),
                tracing=tracing,
            )
            for context in contexts
        }
        self._probed: tuple[float, str | None] | None = None  # when, and the leader then
        self._view: tuple[float, ClusterView] | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._node is not None:
            await self._start_node(self._node)
        try:
            await self._open_databases()
        except Exception:
            if self._promotion is not None:  # the app exits: see that its node does not vote
                await self._promotion.stop()
            raise
        if self._membership is not None:
            await self._remember_peers(self._membership)
        self._watch = asyncio.create_task(self._watch_leader())

    async def _open_databases(self) -> None:
        for database in self.databases.values():
            await wait_until_serving(database.engine, self._startup_timeout, self._follow_leader)
            if self._migrate:
                await database.migrate_to_head(self._startup_timeout)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        for database in self.databases.values():
            await database.dispose()
        if self._node is None:
            return
        if self._promotion is not None:
            await self._promotion.stop()
        if self._membership is not None and len(self.tracker.addresses) > 1:
            try:
                await asyncio.wait_for(hand_over(self._membership, self.tracker), 10)
            except Exception as error:  # stopping matters more than handing over
                logger.warning("node %s stops without handing over: %s", self._node.node_id, error)
        await asyncio.to_thread(self._node.stop)
        logger.info("dqlite node %s stopped", self._node.node_id)

    def _disk_shortage(self) -> str | None:
        """Short of room on the embedded node's disk (another node's disk is not seen here)."""
        return self._node.disk_shortage() if self._node is not None else None

    def unit_of_work[U: AbstractUnitOfWork](self, context: type[U], /) -> U:
        uow = self.databases[context].unit_of_work()
        assert isinstance(uow, context)
        return uow

    def outbox_bell(self, context: type[AbstractUnitOfWork], /) -> OutboxBell:
        return self.databases[context].outbox_bell

    async def _follow_leader(self) -> str | None:
        """Look for the leader; on a new one, drop the pooled connections to the old.

        Every lookup goes through here, so whoever notices a new leader first (a failed
        unit of work, /ready, start-up) also retires the connections that lead to the old.
        """
        before = self.tracker.leader
        leader = await self.tracker.refresh()
        if leader not in (None, before):
            for database in self.databases.values():
                await database.forget_connections()
            # A leader that handed over still answers, and finishes what it was doing; one
            # cut off or frozen does not, and what waits on it is dropped.
            if not await self.tracker.answers(before):
                dropped = self.tracker.abandon(before)
                logger.info(
                    "dropped %d connections to %s, which no longer answers", dropped, before
                )
        return leader

    async def _watch_leader(self) -> None:
        """Follow the leader of a cluster every LEADER_WATCH_SECONDS."""
        while True:
            await asyncio.sleep(LEADER_WATCH_SECONDS)
            if len(self.tracker.addresses) > 1:
                try:
                    await self._follow_leader()
                except Exception as error:  # the next look may fare better
                    logger.debug("looking for the leader failed: %s", error)

    async def readiness(self) -> Readiness:
        checks = {"node": "ok" if self._node is None or self._node.running else "not running"}
        if self._node is not None and self._node.running:
            checks["disk"] = self._node.disk_shortage() or "ok"
        disk_full = any(database.writers.disk_full for database in self.databases.values())
        checks["writes"] = (
            "refused lately for want of disk space on the leader's disk" if disk_full else "ok"
        )
        leader = await self._probed_leader()
        checks["leader"] = "ok" if leader else "no leader known"
        if self._promotion is not None and (joining := self._promotion.progress) != "ok":
            checks["membership"] = joining
        for database in self.databases.values():
            checks |= await database.readiness()
        return Readiness(all(v == "ok" for v in checks.values()), checks)

    async def status(self) -> StoreStatus:
        pools = [database.pool() for database in self.databases.values()]
        size, in_use = sum(p[0] for p in pools), sum(p[1] for p in pools)
        trips = self.tracker.round_trips.count
        try:
            view = await self._probed_view()
        except Exception:  # no leader right now: report what is known locally
            return StoreStatus(pool_size=size, connections_in_use=in_use, round_trips=trips)
        node_id = None if self._node is None else self._node.node_id
        roles = {n.node_id: n.role for n in view.nodes}
        return StoreStatus(
            node_id, roles.get(node_id or 0), view.leader_id, size, in_use, roles, trips
        )

    async def _probed_leader(self) -> str | None:
        """The leader, asked of the cluster at most once per PROBE_SECONDS (failures that
        need a new leader at once go through _follow_leader directly)."""
        if self._probed is not None and time.monotonic() - self._probed[0] < PROBE_SECONDS:
            return self._probed[1]
        leader = await self._follow_leader()
        self._probed = (time.monotonic(), leader)
        return leader

    async def _probed_view(self) -> ClusterView:
        if self._view is not None and time.monotonic() - self._view[0] < PROBE_SECONDS:
            return self._view[1]
        view = await self.tracker.view()
        self._view = (time.monotonic(), view)
        return view

    async def _start_node(self, node: DqliteNode) -> None:
        membership = Membership.load(node.data_dir)
        if membership is None:
            membership = Membership(node.node_id, node.address, self.tracker.addresses)
            dial = self.tracker.dial
            if node.node_id == 1 and (leader := await cluster_already_running(membership, dial)):
                raise NodeError(
                    f"a cluster led by {leader} already runs: a new node 1 would start a second "
                    "one. Give this node another id and data dir to join it."
                )
        elif (membership.node_id, membership.address) != (node.node_id, node.address):
            raise NodeError(
                f"{node.data_dir} belongs to node {membership.node_id} at {membership.address}, "
                f"not node {node.node_id} at {node.address}"
            )
        self.tracker.learn(membership.peers)
        await asyncio.to_thread(node.start)
        logger.info("dqlite node %s serving %s", node.node_id, node.address)
        if node.node_id != 1:  # node 1 bootstraps the cluster; the others are added to it
            self._promotion = await join(membership, self._startup_timeout, self.tracker.dial)
        membership.save(node.data_dir)
        self._membership = membership

    async def _remember_peers(self, membership: Membership) -> None:
        try:
            view = await self.tracker.view()
        except Exception as error:
            logger.warning("could not read the cluster's members: %s", error)
            return
        membership.peers = sorted({*membership.peers, *(n.address for n in view.nodes)})
        self.tracker.learn(membership.peers)
        if self._node is not None:
            membership.save(self._node.data_dir)


def _sibling_lock(directory: Path | None, database: str) -> SiblingWriteLock | None:
    return None if directory is None else SiblingWriteLock(directory / f"{database}.lock")
