"""Operator commands (the CLI's), sent to whichever node leads."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from dqlitewire.constants import NodeRole
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.dqlite.backup import BackupFile, read_backup, restore, terminal_progress, write_backup
from adapters.dqlite.engine import create_dqlite_engine, dqlite_url
from adapters.dqlite.leader import ClusterView, LeaderTracker
from adapters.dqlite.migrations import upgrade_to_head
from adapters.dqlite.tls import DialFunc
from adapters.outbox import SqlAlchemyOutbox
from service.outbox import StoredEvent


class ClusterAdmin:
    def __init__(self, addresses: list[str], database: str, dial: DialFunc | None = None) -> None:
        self.tracker = LeaderTracker(addresses, dial)
        self._database = database

    async def status(self) -> ClusterView:
        return await self.tracker.view()

    async def add(self, node_id: int, address: str, role: str) -> None:
        await self.tracker.client.add_node(node_id, address, role=NodeRole[role.upper()])

    async def assign(self, node_id: int, role: str) -> None:
        await self.tracker.client.assign_role(node_id, NodeRole[role.upper()])

    async def remove(self, node_id: int) -> None:
        await self.tracker.client.remove_node(node_id)

    async def transfer_leadership(self, node_id: int) -> None:
        await self.tracker.client.transfer_leadership(node_id)

    async def leader(self) -> str:
        if await self.tracker.refresh() is None:
            raise RuntimeError(f"no leader among {self.tracker.addresses}")
        return self.tracker.leader

    async def migrate(self) -> str:
        """Bring the schema to head on the leader; return the leader's address."""
        leader = await self.leader()
        url = dqlite_url(leader, self._database, driver="")
        await asyncio.to_thread(upgrade_to_head, url, self.tracker.dial)
        return leader

    async def backup(self, path: Path) -> BackupFile:
        """An online, consistent copy of the database, taken from the leader, at `path`."""
        files = await self.tracker.client.dump(self._database)
        return await asyncio.to_thread(write_backup, files, self._database, path)

    async def restore(self, path: Path, *, replace: bool) -> BackupFile:
        """The backup at `path` into the cluster's database, then the schema at head."""
        backup = await asyncio.to_thread(read_backup, path)
        url = dqlite_url(await self.leader(), self._database, driver="")
        await asyncio.to_thread(
            restore,
            backup,
            url,
            replace=replace,
            dial=self.tracker.dial,
            progress=terminal_progress,
        )
        return backup

    async def parked_events(self) -> list[StoredEvent]:
        """Events the relay kept back after their handlers failed too often."""
        async with self._outbox() as outbox:
            return await outbox.parked()

    async def retry_event(self, event_id: int) -> bool:
        """Have the relay deliver a parked event again; False if no such event is parked."""
        async with self._outbox() as outbox:
            return await outbox.unpark(event_id)

    @asynccontextmanager
    async def _outbox(self) -> AsyncIterator[SqlAlchemyOutbox]:
        """The outbox in one transaction on the leader, committed on leaving."""
        await self.leader()
        url = dqlite_url(self.tracker.leader, self._database)
        engine = create_dqlite_engine(url, connect_args={"async_creator_fn": self.tracker.connect})
        try:
            async with AsyncSession(engine) as session, session.begin():
                yield SqlAlchemyOutbox(session)
        finally:
            await engine.dispose()
