"""Joining: nodes that join at the same moment settle on three voters, the lowest ids."""

from dataclasses import dataclass

import pytest
from dqlitewire.constants import NodeRole

from adapters.dqlite import membership


@dataclass
class Node:
    node_id: int
    role: NodeRole


class FakeClient:
    """The cluster as the leader would describe it, recording role changes."""

    def __init__(self, roles: dict[int, NodeRole]) -> None:
        self.roles = roles
        self.assigned: list[tuple[int, NodeRole]] = []

    async def cluster_info(self) -> list[Node]:
        return [Node(node_id, role) for node_id, role in self.roles.items()]

    async def assign_role(self, node_id: int, role: NodeRole) -> None:
        self.assigned.append((node_id, role))
        self.roles[node_id] = role


@pytest.fixture(autouse=True)
def no_settling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(membership, "JOIN_SETTLE_SECONDS", 0)


VOTER, STANDBY = NodeRole.VOTER, NodeRole.STANDBY


async def test_a_voter_beyond_the_three_lowest_ids_steps_down_to_standby() -> None:
    client = FakeClient({1: VOTER, 2: VOTER, 3: VOTER, 4: VOTER})

    for node_id in (2, 4, 3):  # in any order: only node 4 is beyond the three lowest
        await membership._give_way_to_lower_voters(client, node_id)  # type: ignore[arg-type]

    assert client.assigned == [(4, STANDBY)]
    assert sorted(role.name for role in client.roles.values()) == ["STANDBY", *["VOTER"] * 3]


async def test_three_voters_stay_voters() -> None:
    client = FakeClient({1: VOTER, 2: VOTER, 3: VOTER, 4: STANDBY})

    for node_id in (1, 2, 3):
        await membership._give_way_to_lower_voters(client, node_id)  # type: ignore[arg-type]

    assert client.assigned == []
