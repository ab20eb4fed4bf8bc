"""Cluster membership as operators see it: forming, rejoining, handing over, administering."""

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.contexts import CONTEXTS
from tests.integration.cluster import Cluster, running_cluster
from tests.integration.process import AppProcess
from tests.ledger.storage import LEDGER


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


def post(app: AppProcess, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(app.base_url + path, json=body, timeout=15, trust_env=False)


def get(app: AppProcess, path: str) -> httpx.Response:
    return httpx.get(app.base_url + path, timeout=15, trust_env=False)


def open_account(app: AppProcess, owner: str) -> int:
    """Write through `app`: open a ledger account (the tests' own aggregate); its id."""
    response = post(app, "/ledger/accounts", {"owner": owner, "balance_cents": 0})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def owner_of(app: AppProcess, account: int) -> str:
    """Read through `app` the owner of an account."""
    response = get(app, f"/ledger/accounts/{account}")
    assert response.status_code == 200, response.text
    return str(response.json()["owner"])


def cli(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "entrypoints.cli", "--cluster", ",".join(cluster.addresses)]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=30)


def wait_for_leader_other_than(cluster: Cluster, node_id: int, seconds: float = 10) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            leader = cluster.view().leader_id
        except Exception:  # an election in progress
            leader = None
        if leader is not None and leader != node_id:
            return leader
        time.sleep(0.2)
    pytest.fail(f"no leader other than node {node_id} within {seconds}s")


def test_three_apps_form_a_cluster_of_three_voters(cluster: Cluster) -> None:
    view = cluster.view()

    assert sorted((n.node_id, n.role) for n in view.nodes) == [
        (1, "voter"),
        (2, "voter"),
        (3, "voter"),
    ]
    assert view.leader_id in cluster.apps


def test_every_node_serves_writes_and_reads_what_the_others_wrote(cluster: Cluster) -> None:
    written = {
        open_account(app, f"written-via-{n}"): f"written-via-{n}" for n, app in cluster.apps.items()
    }

    for app in cluster.apps.values():
        assert {account: owner_of(app, account) for account in written} == written


def relays_held(metrics: str) -> dict[str, float]:
    """Context -> 1.0 where this process holds that context's relay lease, 0.0 otherwise."""
    found = re.findall(r'^outbox_relay_holding\{context="([^"]+)"\} (\S+)$', metrics, re.M)
    return {context: float(value) for context, value in found}


def test_every_node_is_ready_and_reports_its_role_and_the_leader(cluster: Cluster) -> None:
    leader_id = cluster.view().leader_id
    contexts = [*(c.name for c in CONTEXTS), LEDGER.name]  # the ledger's served beside them
    for app in cluster.apps.values():
        ready = get(app, "/ready")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert list(checks) == ["node", "disk", "writes", "leader"] + [
            f"{context} {check}" for context in contexts for check in ("database", "schema")
        ]
        assert set(checks.values()) == {"ok"}
        metrics = get(app, "/metrics").text
        assert f"dqlite_leader_id {float(leader_id or 0)}" in metrics
        assert 'dqlite_node_role{role="voter"} 1.0' in metrics
        for context in contexts:
            assert f'outbox_events_pending{{context="{context}"}} 0.0' in metrics, context


def test_each_context_s_relay_lease_is_held_by_exactly_one_node(cluster: Cluster) -> None:
    contexts = {c.name for c in CONTEXTS} | {LEDGER.name}
    deadline = time.monotonic() + 15  # a lease is taken within a poll of the relay's start
    while True:
        held = [relays_held(get(app, "/metrics").text) for app in cluster.apps.values()]
        holders = {c: sum(each.get(c, 0.0) for each in held) for c in contexts}
        if set(holders.values()) == {1.0} or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    assert all(set(each) == contexts for each in held), held
    assert holders == dict.fromkeys(contexts, 1.0)


def test_the_command_line_shows_the_cluster_and_moves_leadership(cluster: Cluster) -> None:
    before = cluster.view().leader_id
    target = next(n for n in cluster.apps if n != before)

    status = cli(cluster, "status")
    moved = cli(cluster, "transfer", str(target))

    assert status.returncode == 0, status.stderr
    assert f"node {before}" in status.stdout
    assert "(leader)" in status.stdout
    assert status.stdout.count("voter") == 3
    assert moved.returncode == 0, moved.stderr
    assert cluster.view().leader_id == target


def test_the_command_line_brings_the_schema_to_head(cluster: Cluster) -> None:
    result = cli(cluster, "migrate")

    assert result.returncode == 0, result.stderr
    assert "schema at head" in result.stdout
    for app in cluster.apps.values():
        checks = get(app, "/ready").json()["checks"]
        assert {c.name: checks[f"{c.name} schema"] for c in CONTEXTS} == {
            c.name: "ok" for c in CONTEXTS
        }


def test_an_unknown_cluster_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "--cluster", "127.0.0.1:1", "status"],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr


def test_a_stopped_leader_hands_leadership_over_and_rejoins_on_restart(cluster: Cluster) -> None:
    leader = cluster.leader()

    assert leader.stop() in (0, -15), leader.output()
    assert f"node {leader.node_id} handed leadership to node" in leader.output()
    new_leader = cluster.view().leader_id  # already settled: no election was needed
    assert new_leader not in (None, leader.node_id)
    account = open_account(cluster.apps[new_leader], "while-one-is-down")

    leader.start(timeout=60)

    assert {n.node_id for n in cluster.view().nodes if n.role == "voter"} == {1, 2, 3}
    assert owner_of(leader, account) == "while-one-is-down"


def test_an_app_reaches_the_cluster_when_the_first_node_it_knows_is_down(
    cluster: Cluster, tmp_path: Path
) -> None:
    down = cluster.followers()[0]
    down.stop()
    client = AppProcess(tmp_path / "client", node_address=down.node_address)
    client.peers = [app.node_address for app in cluster.apps.values() if app is not down]
    client.extra_env = {"APP_EMBEDDED_NODE": "false"}
    try:
        client.start(timeout=60)
        open_account(client, "via-a-node-less-app")
    finally:
        client.stop()
        down.start(timeout=60)


def test_a_fresh_node_1_refuses_to_start_a_second_cluster(cluster: Cluster, tmp_path: Path) -> None:
    impostor = AppProcess(tmp_path / "impostor", node_id=1)
    impostor.peers = cluster.addresses
    impostor.launch()

    assert impostor.wait(timeout=60) != 0
    assert "would start a second one" in impostor.output()


def test_a_data_dir_is_refused_to_a_node_it_does_not_belong_to(
    cluster: Cluster, tmp_path: Path
) -> None:
    owner = cluster.apps[3]
    intruder = AppProcess(tmp_path / "intruder", node_id=4)
    intruder.data_dir = owner.data_dir
    intruder.peers = cluster.addresses

    intruder.launch()

    assert intruder.wait(timeout=60) != 0
    assert f"belongs to node 3 at {owner.node_address}" in intruder.output()


def test_a_fourth_node_joins_as_standby_and_takes_the_vote_of_a_voter_that_stops(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path, size=4) as four:
        roles = {n.node_id: n.role for n in four.view().nodes}
        assert sorted(roles.values()) == ["standby", "voter", "voter", "voter"]
        standby = next(node_id for node_id, role in roles.items() if role == "standby")

        leaving = next(app for app in four.followers() if roles[app.node_id] == "voter")
        leaving.stop()

        after = {n.node_id: n.role for n in four.view().nodes}
        assert after[standby] == "voter"
        assert after[leaving.node_id] == "spare"
        assert sum(role == "voter" for role in after.values()) == 3

        leaving.start(timeout=60)  # back as a standby, replicating, ready to be promoted

        assert {n.node_id: n.role for n in four.view().nodes}[leaving.node_id] == "standby"


def test_a_whole_cluster_stopped_and_started_again_comes_back_with_its_data(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path) as cluster:
        account = open_account(cluster.apps[2], "before-the-power-cut")
        cluster.stop()

        cluster.start()

        for app in cluster.apps.values():
            assert owner_of(app, account) == "before-the-power-cut"
        assert sorted(n.role for n in cluster.view().nodes) == ["voter"] * 3


def test_without_a_quorum_a_write_is_refused_with_503_and_retry_after(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    for app in cluster.apps.values():
        app.extra_env = {"APP_RETRY_BUDGET_SECONDS": "1"}
    try:
        cluster.start()
        survivor, *others = cluster.apps.values()
        for app in others:
            app.stop(signal.SIGKILL)
        deadline = time.monotonic() + 15
        while get(survivor, "/ready").status_code != 503:  # it notices it leads no quorum
            assert time.monotonic() < deadline, "the survivor still claims a leader"
            time.sleep(0.2)

        response = post(survivor, "/ledger/accounts", {"owner": "no-quorum", "balance_cents": 0})
        ready = get(survivor, "/ready")
    finally:
        cluster.stop()

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    assert "nothing was changed, try again" in response.json()["detail"]
    assert ready.json()["checks"]["leader"] == "no leader known"
