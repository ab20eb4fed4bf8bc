"""Operator commands (the CLI's), sent to whichever node leads."""

import asyncio
import json
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from dqlitewire.constants import NodeRole

from adapters.contexts import Context, context_named
from adapters.dqlite.backup import (
    BackupError,
    BackupFile,
    Progress,
    filled_tables,
    read_backup,
    restore,
    write_backup,
)
from adapters.dqlite.dialing import DialFunc
from adapters.dqlite.engine import create_dqlite_engine, dqlite_url
from adapters.dqlite.leader import ClusterView, LeaderTracker
from adapters.dqlite.migrations import upgrade_to_head
from adapters.outbox import SqlAlchemyOutbox
from service.outbox import StoredEvent, now_ms

MANIFEST = "backup.json"
# Delivery times are the apps' clocks, the backup's start this host's: events delivered up to
# a minute before it began are delivered again too, in case the clocks disagree.
CLOCK_SKEW_MS = 60_000
# An operator's command waits longer for each node than a request does (leader.py's 0.5 s):
# on a busy machine a node that answers in 0.6 s is up, and nothing here is in a hurry. The
# nodes are still asked at once, so one that is down or paused delays nothing.
OPERATOR_PROBE_TIMEOUT_SECONDS = 2.0


class ClusterAdmin:
    """Cluster-wide commands, and per-database ones run on every bounded context's database
    (`<prefix><context>`)."""

    def __init__(
        self,
        addresses: list[str],
        contexts: Sequence[Context],
        database_prefix: str = "",
        dial: DialFunc | None = None,
    ) -> None:
        self.tracker = LeaderTracker(addresses, dial, OPERATOR_PROBE_TIMEOUT_SECONDS)
        self._contexts = tuple(contexts)
        self._prefix = database_prefix

    def _database(self, context: str) -> str:
        return self._prefix + context_named(context, self._contexts).name

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
        """Bring every context's schema to head on the leader; return the leader's address."""
        leader = await self.leader()
        for context in self._contexts:
            url = dqlite_url(leader, self._database(context.name), driver="")
            await asyncio.to_thread(upgrade_to_head, url, context.name, self.tracker.dial)
        return leader

    async def backup(self, directory: Path) -> list[BackupFile]:
        """An online, consistent copy of each context's database, taken from the leader, at
        `directory`/<context>.sqlite, and when it began (`directory`/backup.json).

        The databases are copied one after another, not at one instant: an event delivered
        between two copies may have its effect missing from a database copied earlier. So a
        restore delivers again the events delivered since the backup began (see restore)."""
        started_ms = now_ms()
        taken = []
        for context in self._contexts:
            database = self._database(context.name)
            files = await self.tracker.client.dump(database)
            path = directory / f"{context.name}.sqlite"
            taken.append(await asyncio.to_thread(write_backup, files, database, context, path))
            del files  # a database's copy may be large: not held while the next one's comes
        manifest = {"started_at_ms": started_ms, "contexts": [c.name for c in self._contexts]}
        await asyncio.to_thread(_write_atomically, directory / MANIFEST, json.dumps(manifest))
        return taken

    async def restore(
        self, directory: Path, *, replace: bool, progress: Progress | None = None
    ) -> list[BackupFile]:
        """Every context's backup in `directory` into its database, then the schemas at head.
        Each file, and without `replace` each target's emptiness, is checked before any
        database is touched. Events delivered from a little before the backup began are
        delivered again (handlers are idempotent)."""
        started_ms = await asyncio.to_thread(_backup_started_ms, directory)
        backups = [
            await asyncio.to_thread(read_backup, directory / f"{c.name}.sqlite", c)
            for c in self._contexts
        ]
        leader = await self.leader()
        if not replace:
            for context in self._contexts:
                url = dqlite_url(leader, self._database(context.name), driver="")
                if filled := await asyncio.to_thread(filled_tables, url, self.tracker.dial):
                    listed = ", ".join(f"{t} ({n} rows)" for t, n in filled.items())
                    raise BackupError(
                        f"the {context.name} database is not empty: {listed}; pass --replace"
                    )
        for context, backup in zip(self._contexts, backups, strict=True):
            url = dqlite_url(leader, self._database(context.name), driver="")
            await asyncio.to_thread(
                restore,
                backup,
                url,
                context,
                replace=replace,
                dial=self.tracker.dial,
                progress=progress,
                redeliver_from_ms=started_ms - CLOCK_SKEW_MS,
            )
        return backups

    async def parked_events(self) -> list[tuple[str, StoredEvent]]:
        """Events the relays kept back after their handlers failed too often, by context."""
        parked = []
        for context in self._contexts:
            async with self._outbox(context.name) as outbox:
                parked += [(context.name, event) for event in await outbox.parked()]
        return parked

    async def retry_event(self, context: str, event_id: int) -> bool:
        """Have the relay deliver a parked event of `context` again; False if no such event is
        parked."""
        async with self._outbox(context) as outbox:
            return await outbox.unpark(event_id)

    @asynccontextmanager
    async def _outbox(self, context: str) -> AsyncIterator[SqlAlchemyOutbox]:
        """A context's outbox in one transaction on the leader, committed on leaving."""
        database = self._database(context)
        await self.leader()
        url = dqlite_url(self.tracker.leader, database)
        engine = create_dqlite_engine(url, connect_args={"async_creator_fn": self.tracker.connect})
        try:
            async with engine.begin() as connection:
                yield SqlAlchemyOutbox(connection)
        finally:
            await engine.dispose()


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.tmp")
    with scratch.open("w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    scratch.replace(path)


def _backup_started_ms(directory: Path) -> int:
    try:
        return int(json.loads((directory / MANIFEST).read_text())["started_at_ms"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{directory / MANIFEST} is missing or unreadable: {error}") from error
