"""What operators ask of the running store: is it ready, and how is it doing."""

from dataclasses import dataclass, field
from typing import Protocol


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


class OperatedStore(Protocol):
    async def readiness(self) -> Readiness: ...

    async def status(self) -> StoreStatus: ...
