"""Operator commands (the CLI's), sent to whichever node leads."""

import asyncio

from dqlitewire.constants import NodeRole

from adapters.dqlite.engine import dqlite_url
from adapters.dqlite.leader import ClusterView, LeaderTracker
from adapters.dqlite.migrations import upgrade_to_head
from adapters.dqlite.tls import DialFunc


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
