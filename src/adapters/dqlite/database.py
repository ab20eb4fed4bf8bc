"""One bounded context's dqlite database: its engines, its writers' queue and group commit,
its migrations and its lines in /ready."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import QueuePool, text
from sqlalchemy.exc import DBAPIError

from adapters.contexts import Context
from adapters.dqlite.engine import create_dqlite_engine, create_dqlite_read_engine, dqlite_url
from adapters.dqlite.group_commit import GroupCommit, SharedTransaction
from adapters.dqlite.leader import LeaderTracker
from adapters.dqlite.migrations import head_revisions, upgrade_to_head
from adapters.dqlite.unit_of_work import SqlAlchemyUnitOfWork
from adapters.dqlite.writers import SiblingWriteLock, WriterQueue
from adapters.tracing import trace_statements
from service.errors import OutcomeUnknown, StoreFull, StoreUnavailable
from service.outbox import OutboxBell
from service.retry import RetryCounters, RetrySettings
from service.tracing import Tracing

logger = logging.getLogger(__name__)

# A read barrier in the group's transaction, and its outcome, while its COMMIT waits.
type PendingBarrier = tuple[SharedTransaction, asyncio.Future[None]]


class DqliteDatabase:
    """dqlite has one writer per database: each context's writers queue (and commit in groups)
    apart from the others'."""

    def __init__(
        self,
        context: Context,
        name: str,
        tracker: LeaderTracker,
        follow_leader: Callable[[], Awaitable[str | None]],
        *,
        engine_options: dict[str, Any],
        retry_settings: RetrySettings | None,
        retry_counters: RetryCounters,
        disk_shortage: Callable[[], str | None] = lambda: None,
        siblings: SiblingWriteLock | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.context = context
        self._tracing = tracing or Tracing()
        self.name = name
        self._tracker = tracker
        self._follow_leader = follow_leader
        self._retry_settings = retry_settings
        self._retry_counters = retry_counters
        self._disk_shortage = disk_shortage
        url = dqlite_url(tracker.addresses[0], name)
        self.engine = create_dqlite_engine(url, **engine_options)
        # Read-only units of work get connections that are read-only from the start (PRAGMA
        # query_only once, at connect): no switching back and forth on every request. They
        # send BEGIN themselves, unless one statement reads without a snapshot.
        read_connect_args = {**engine_options["connect_args"], "session_mode": "read_only"}
        self.read_engine = create_dqlite_read_engine(
            url, **{**engine_options, "connect_args": read_connect_args}
        )
        connections = engine_options.get("pool_size", 5) + engine_options.get("max_overflow", 10)
        self._read_slots = asyncio.Semaphore(connections)  # FIFO: see SqlAlchemyUnitOfWork
        self.writers = WriterQueue()
        self._group = GroupCommit(self.engine, self.writers, follow_leader, siblings, tracing)
        if self._tracing.provider is not None:
            trace_statements(self._tracing.provider, self.engine, self.read_engine)
        self._unit_of_work_class = context.implemented_by(SqlAlchemyUnitOfWork)
        self.outbox_bell = OutboxBell()
        self._pending_barrier: PendingBarrier | None = None

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        return self._unit_of_work_class(
            self.engine,
            self._retry_settings,
            self._retry_counters,
            self._follow_leader,
            registrations=self.context.registrations,
            writers=self.writers,
            group=self._group,
            read_engine=self.read_engine,
            read_slots=self._read_slots,
            disk_shortage=self._disk_shortage,
            outbox_bell=self.outbox_bell,
            confirm_leadership=self.confirm_leadership,
            tracing=self._tracing,
        )

    async def confirm_leadership(self) -> None:
        """Commit a read barrier: once it is committed, the leader it went to held a quorum
        then. A reader that comes while another's barrier waits in the group's transaction,
        its COMMIT not yet sent, shares that one (its quorum comes after this reader came
        too), whether it finds it at once or on joining the transaction: the readers of a
        batch add one barrier to it, not one each."""
        pending = self._pending_barrier
        if pending is None or not self._group.still_open(pending[0]):
            pending = await self._pass_a_barrier()
        if pending is not None:
            try:
                await asyncio.shield(pending[1])
            except StoreUnavailable as refused:  # each reader raises its own
                raise StoreUnavailable(*refused.args) from refused

    async def _pass_a_barrier(self) -> PendingBarrier | None:
        """Commit a barrier; or None when another's is in the transaction joined, whose
        COMMIT this one has waited for (leaving it with no change of its own)."""
        passed = asyncio.get_running_loop().create_future()
        passed.add_done_callback(_retrieved)  # nobody may be waiting for it
        try:
            uow = self.unit_of_work()
            async with uow:
                shared, pending = uow.shared_transaction, self._pending_barrier
                if shared is not None and pending is not None and pending[0] is shared:
                    return pending
                await uow.barrier.pass_through()
                if shared is not None:
                    self._pending_barrier = (shared, passed)
                await uow.commit()
        except BaseException as error:
            # For a read, a barrier whose outcome is unknown, or refused for want of disk
            # space, confirms nothing: the read is refused as the store being unavailable.
            if type(error) is StoreUnavailable:
                passed.set_exception(error)
                raise
            refusal = StoreUnavailable(f"no read barrier was confirmed: {error!r}")
            passed.set_exception(refusal)
            if isinstance(error, OutcomeUnknown | StoreFull):
                raise refusal from error
            raise
        else:
            passed.set_result(None)
        finally:
            if self._pending_barrier is not None and self._pending_barrier[1] is passed:
                self._pending_barrier = None
        return None

    async def migrate_to_head(self, within_seconds: float) -> None:
        """Upgrade on the leader, and again on the next one when leadership moves meanwhile.

        Trying again is safe: an upgrade is one transaction, and Alembic reads its version
        table first, so an upgrade whose COMMIT did land is not run twice.
        """
        deadline = time.monotonic() + within_seconds
        while True:
            leader = await self._follow_leader()
            try:
                if leader is None:
                    raise ConnectionError("no leader")
                url = dqlite_url(leader, self.name, driver="")
                await asyncio.to_thread(upgrade_to_head, url, self.context.name, self._tracker.dial)
                return
            except (DBAPIError, OSError) as error:
                if time.monotonic() >= deadline:
                    raise
                logger.warning("migrating %s again, on the leader then: %s", self.name, error)
                await asyncio.sleep(0.1)

    async def readiness(self) -> dict[str, str]:
        """A round trip to this database, and its schema at the head of its history."""
        checks = {}
        try:
            async with self.engine.connect() as connection:
                current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            checks[f"{self.context.name} database"] = "ok"
            heads = head_revisions(self.context.name)
            schema = "ok" if current in heads else f"at {current}, not head"
            checks[f"{self.context.name} schema"] = schema
        except (DBAPIError, OSError, TimeoutError) as error:
            checks[f"{self.context.name} database"] = (
                f"no round trip: {getattr(error, 'orig', error)}"
            )
        return checks

    def pool(self) -> tuple[int, int]:
        """The write pool's size, and its connections in use."""
        pool = self.engine.pool
        return (pool.size(), pool.checkedout()) if isinstance(pool, QueuePool) else (0, 0)

    async def forget_connections(self) -> None:
        """Drop the pooled connections (to a leader that is no longer one), without goodbyes
        to a node that may be frozen."""
        for engine in (self.engine, self.read_engine):
            await engine.dispose(close=False)

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()


def _retrieved(future: asyncio.Future[None]) -> None:
    """Mark a barrier's outcome seen, so that a failure nobody waited for is not reported."""
    if not future.cancelled():
        future.exception()
