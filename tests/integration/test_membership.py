"""Joining: nodes that join at the same moment settle on three voters, the lowest ids; a
node the leader is still promoting after its start-up timeout waits for it, serving."""

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from dqlitewire.constants import NodeRole

from adapters.dqlite import membership
from tests.integration.cluster import Cluster
from tests.integration.process import AppProcess
from tests.integration.promotion import (
    NO_SNAPSHOTS,
    WAIT_SECONDS,
    joining_app,
    promotion_held,
    roles,
)


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


STARTUP_TIMEOUT_SECONDS = 3.0


@pytest.fixture
def two_voters(tmp_path: Path) -> Iterator[Cluster]:
    """Apps 1 and 2, voters, whose raft logs keep every entry."""
    cluster = Cluster(tmp_path, size=2)
    for app in cluster.apps.values():
        app.extra_env = NO_SNAPSHOTS
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def joiner(two_voters: Cluster) -> Iterator[AppProcess]:
    """App 3, joining the two, with a start-up timeout shorter than its promotion is held."""
    app = joining_app(two_voters, 3, STARTUP_TIMEOUT_SECONDS)
    try:
        yield app
    finally:
        if app.running:
            os.kill(app.pid, signal.SIGCONT)
            app.stop()


def test_a_node_promoted_for_longer_than_its_start_up_timeout_ends_a_voter_and_serving(
    two_voters: Cluster, joiner: AppProcess
) -> None:
    with promotion_held(two_voters, joiner, STARTUP_TIMEOUT_SECONDS):
        pass  # it resumes past its start-up timeout, with a promotion of it under way
    answers = readiness_until_ready(joiner)

    assert "not yet a voter after the start-up timeout" in joiner.output()
    assert joiner.running
    assert roles(two_voters.addresses) == {1: "voter", 2: "voter", 3: "voter"}
    for status, checks, voter_after in answers:
        assert status == 503 or voter_after, checks
        if not voter_after:  # still joining when it answered
            assert "joining for" in checks["membership"], checks
    account = post(joiner, "/ledger/accounts", {"owner": "after the join", "balance_cents": 0})
    assert account.status_code == 201, account.text


def test_a_node_stopped_while_it_is_promoted_stops_as_a_spare_leaving_two_live_voters(
    two_voters: Cluster, joiner: AppProcess
) -> None:
    with promotion_held(two_voters, joiner, STARTUP_TIMEOUT_SECONDS):
        os.kill(joiner.pid, signal.SIGTERM)  # delivered as it resumes
    joiner.wait(WAIT_SECONDS)

    assert "is stopping while it joins" in joiner.output()
    assert roles(two_voters.addresses) == {1: "voter", 2: "voter", 3: "spare"}
    account = post(two_voters.apps[1], "/ledger/accounts", {"owner": "after", "balance_cents": 0})
    assert account.status_code == 201, account.text


def readiness_until_ready(app: AppProcess) -> list[tuple[int, dict[str, str], bool]]:
    """Each /ready answer until a 200: its status, its checks, and whether the node was a
    voter right after (so it may have been one when it answered; if not, it was not)."""
    app.wait_serving(WAIT_SECONDS)
    answers: list[tuple[int, dict[str, str], bool]] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while not answers or answers[-1][0] != 200:
        assert time.monotonic() < deadline, f"not ready within {WAIT_SECONDS:.0f} s: {answers}"
        ready = httpx.get(app.base_url + "/ready", timeout=10, trust_env=False)
        voter = roles(app.peers).get(app.node_id) == "voter"
        answers.append((ready.status_code, ready.json()["checks"], voter))
        time.sleep(0.1)  # a polling interval: the loop waits on the answers themselves
    return answers


def post(app: AppProcess, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(app.base_url + path, json=body, timeout=15, trust_env=False)
