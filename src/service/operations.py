"""The store the use cases run on, as the entrypoints see it: started and stopped with the
app, a unit of work per request, and what operators ask of it (ready? how is it doing?)."""

from dataclasses import dataclass, field
from typing import Protocol

from service.outbox import OutboxBell
from service.unit_of_work import AbstractUnitOfWork


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, str]  # check name -> "ok" or what is wrong


@dataclass(frozen=True)
class StoreStatus:
    node_id: int | None = None
    role: str | None = None  # voter, standby or spare; None without a cluster
    leader_id: int | None = None
    pool_size: int = 0
    connections_in_use: int = 0
    nodes: dict[int, str] = field(default_factory=dict)  # node id -> role
    round_trips: int = 0  # requests sent to the store's nodes by this process's connections


class Store(Protocol):
    """Where the aggregates live: a dqlite cluster, or this process's memory."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def unit_of_work[U: AbstractUnitOfWork](self, context: type[U], /) -> U:
        """A new unit of work of a bounded context (e.g. BillingUnitOfWork): build one per
        request, never share it."""
        ...

    def outbox_bell(self, context: type[AbstractUnitOfWork], /) -> OutboxBell:
        """Rung by this process's commits of events to `context`'s outbox."""
        ...

    async def readiness(self) -> Readiness: ...

    async def status(self) -> StoreStatus: ...
