"""The store on dqlite: the one face of this package that the app uses (start, stop, unit of
work, readiness, status), composing the node, its membership, the engine that follows the
leader, and the migrations."""

import asyncio
import logging
import time
from collections.abc import Sequence

from sqlalchemy import QueuePool, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker

from adapters.dqlite.engine import create_dqlite_engine, dqlite_url, wait_until_serving
from adapters.dqlite.group_commit import GroupCommit
from adapters.dqlite.leader import ClusterView, LeaderTracker
from adapters.dqlite.membership import Membership, cluster_already_running, hand_over, join
from adapters.dqlite.migrations import head_revisions, upgrade_to_head
from adapters.dqlite.node import DqliteNode, NodeError
from adapters.dqlite.tls import TlsFiles, tls_dialer
from adapters.dqlite.unit_of_work import SqlAlchemyUnitOfWork
from adapters.dqlite.writers import WriterQueue
from adapters.repositories import REPOSITORIES, Registration
from service.operations import Readiness, StoreStatus
from service.unit_of_work import AbstractUnitOfWork, RetryCounters, RetrySettings

logger = logging.getLogger(__name__)

# /ready and /metrics ask the cluster at most this often, however often they are called: each
# question opens connections to the nodes, and a flood of probes must not exhaust local ports.
PROBE_SECONDS = 1.0


class DqliteStore:
    """An embedded node (optional) in its cluster, the async engine that follows the leader
    among every known node, and the schema at head."""

    def __init__(
        self,
        *,
        address: str,
        database: str,
        peers: list[str],
        node: DqliteNode | None,
        pool_size: int,
        statement_timeout: float,
        startup_timeout: float,
        migrate: bool,
        retry_settings: RetrySettings | None = None,
        retry_counters: RetryCounters | None = None,
        registrations: Sequence[Registration] = REPOSITORIES,
        tls: TlsFiles | None = None,
    ) -> None:
        self._node = node
        self._registrations = tuple(registrations)
        self._database = database
        self._startup_timeout = startup_timeout
        self._migrate = migrate
        self._retry_settings = retry_settings
        self.retry_counters = retry_counters or RetryCounters()
        self._membership: Membership | None = None
        self.tracker = LeaderTracker([address, *peers], tls_dialer(tls) if tls else None)
        url = dqlite_url(address, database)
        # Each wire round trip gives up after statement_timeout, so a request stuck on a paused
        # or cut-off leader fails over instead of waiting out the driver's 10 s.
        connect_args = {"async_creator_fn": self.tracker.connect, "timeout": statement_timeout}
        pool = {"pool_size": pool_size, "max_overflow": pool_size}
        self.engine = create_dqlite_engine(url, **pool, connect_args=connect_args)
        # Read-only units of work get connections that are read-only from the start (PRAGMA
        # query_only once, at connect): no switching back and forth on every request.
        self.read_engine = create_dqlite_engine(
            url, **pool, connect_args={**connect_args, "session_mode": "read_only"}
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._writers = WriterQueue()
        self._group = GroupCommit(self.engine, self._writers, self._follow_leader)
        self._probed: tuple[float, str | None] | None = None  # when, and the leader then
        self._view: tuple[float, ClusterView] | None = None

    async def start(self) -> None:
        if self._node is not None:
            await self._start_node(self._node)
        await wait_until_serving(self.engine, self._startup_timeout, self._follow_leader)
        if self._migrate:
            await self._migrate_to_head()
        if self._membership is not None:
            await self._remember_peers(self._membership)

    async def stop(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()
        if self._node is None:
            return
        if self._membership is not None and len(self.tracker.addresses) > 1:
            try:
                await asyncio.wait_for(hand_over(self._membership, self.tracker), 10)
            except Exception as error:  # stopping matters more than handing over
                logger.warning("node %s stops without handing over: %s", self._node.node_id, error)
        await asyncio.to_thread(self._node.stop)
        logger.info("dqlite node %s stopped", self._node.node_id)

    def unit_of_work(self) -> AbstractUnitOfWork:
        return SqlAlchemyUnitOfWork(
            self._sessions,
            self._retry_settings,
            self.retry_counters,
            self._follow_leader,
            registrations=self._registrations,
            writers=self._writers,
            group=self._group,
            read_session_factory=self._read_sessions,
        )

    async def _follow_leader(self) -> str | None:
        """Look for the leader; on a new one, drop the pooled connections to the old.

        Every lookup goes through here, so whoever notices a new leader first (a failed
        unit of work, /ready, start-up) also retires the connections that lead to the old.
        """
        before = self.tracker.leader
        leader = await self.tracker.refresh()
        if leader not in (None, before):
            for engine in (self.engine, self.read_engine):
                await engine.dispose(close=False)  # no goodbyes to a node that may be frozen
        return leader

    async def readiness(self) -> Readiness:
        checks = {"node": "ok" if self._node is None or self._node.running else "not running"}
        if self._node is not None and self._node.running:
            checks["disk"] = self._node.disk_shortage() or "ok"
        checks["writes"] = (
            "refused lately for want of disk space on the leader's disk"
            if self._writers.disk_full
            else "ok"
        )
        leader = await self._probed_leader()
        checks["leader"] = "ok" if leader else "no leader known"
        try:
            async with self.engine.connect() as connection:
                current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            checks["database"] = "ok"
            checks["schema"] = "ok" if current in head_revisions() else f"at {current}, not head"
        except (DBAPIError, OSError, TimeoutError) as error:
            checks["database"] = f"no round trip: {getattr(error, 'orig', error)}"
        return Readiness(all(v == "ok" for v in checks.values()), checks)

    async def status(self) -> StoreStatus:
        pool = self.engine.pool
        size, in_use = (pool.size(), pool.checkedout()) if isinstance(pool, QueuePool) else (0, 0)
        try:
            view = await self._probed_view()
        except Exception:  # no leader right now: report what is known locally
            return StoreStatus(pool_size=size, connections_in_use=in_use)
        node_id = None if self._node is None else self._node.node_id
        roles = {n.node_id: n.role for n in view.nodes}
        return StoreStatus(node_id, roles.get(node_id or 0), view.leader_id, size, in_use, roles)

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
            await join(membership, self._startup_timeout, self.tracker.dial)
        membership.save(node.data_dir)
        self._membership = membership

    async def _migrate_to_head(self) -> None:
        await self._follow_leader()
        url = dqlite_url(self.tracker.leader, self._database, driver="")
        await asyncio.to_thread(upgrade_to_head, url, self.tracker.dial)

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
