"""Day-2 operations on a cluster of app processes, as docs/operations.md describes them: every
node restarted in turn while clients write, and a node whose machine is gone replaced.

Runs on the tests' own ledger (tests/ledger), so a fork keeps it.
"""

import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.integration.bank_workload import (
    ACKNOWLEDGED,
    TOTAL_CENTS,
    BankWorkload,
    KeyRecord,
    State,
    converged_states,
    open_accounts,
)
from tests.integration.cluster import running_cluster
from tests.integration.process import ROOT, AppProcess
from tests.measurements import measured

BETWEEN_RESTARTS_SECONDS = 1.0
READY_SECONDS = 30.0


def cli(cluster_addresses: list[str], *args: str) -> str:
    command = [sys.executable, "-m", "entrypoints.cli", "--cluster", ",".join(cluster_addresses)]
    done = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_ready(app: AppProcess) -> None:
    deadline = time.monotonic() + READY_SECONDS
    with httpx.Client(base_url=app.base_url, timeout=5, trust_env=False) as client:
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, f"node {app.node_id} not ready: {app.output()}"
            time.sleep(0.2)


@dataclass
class RollingRestart:
    records: list[KeyRecord]
    down: dict[str, tuple[float, float]] = field(default_factory=dict)  # API -> (from, until)

    def failed_on_live_nodes(self) -> list[str]:
        """Attempts a node answered with a 5xx, or did not answer, while it was not the one
        being restarted."""
        failed = []
        for record in self.records:
            for attempt in record.attempts:
                start, end = self.down[attempt.node]
                restarting = start <= attempt.sent_at <= end
                if (attempt.status == 0 or attempt.status >= 500) and not restarting:
                    failed.append(attempt.describe())
        return failed


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> tuple[RollingRestart, list[State]]:
    with running_cluster(tmp_path_factory.mktemp("rolling")) as cluster:
        nodes = [app.base_url for app in cluster.apps.values()]
        accounts = open_accounts(nodes[0])
        workload = BankWorkload(nodes, accounts, seed=31)
        run = RollingRestart(records=[])
        workload.start()
        try:
            time.sleep(BETWEEN_RESTARTS_SECONDS)
            for app in cluster.apps.values():
                stopping = time.time()
                app.stop(signal.SIGTERM)
                app.start()
                wait_ready(app)
                run.down[app.base_url] = (stopping, time.time())
                time.sleep(BETWEEN_RESTARTS_SECONDS)
        finally:
            workload.stop(timeout=60)
        run.records = workload.snapshot()
        states = converged_states(nodes, accounts, [], 20.0, also=lambda: True)
    acknowledged = sum(1 for r in run.records if r.outcome == ACKNOWLEDGED)
    line = (
        f"rolling restart of 3 nodes: {acknowledged} transfers acknowledged, "
        f"{len(run.failed_on_live_nodes())} failed requests on live nodes"
    )
    print(f"\n{line}")
    measured(line)
    return run, states


def test_a_rolling_restart_under_writes_fails_no_request_on_the_nodes_that_are_up(
    rolled: tuple[RollingRestart, list[State]],
) -> None:
    run, _ = rolled
    assert sum(1 for r in run.records if r.outcome == ACKNOWLEDGED) > 0
    assert run.failed_on_live_nodes() == []


def test_after_a_rolling_restart_the_nodes_agree_and_money_is_conserved(
    rolled: tuple[RollingRestart, list[State]],
) -> None:
    run, states = rolled
    first = states[0]
    for state in states[1:]:
        assert state.same_data_as(first)
    assert sum(first.balances.values()) == TOTAL_CENTS
    stored = [t["idempotency_key"] for t in first.transfer_dicts]
    acknowledged = {r.key for r in run.records if r.outcome == ACKNOWLEDGED}
    assert acknowledged <= set(stored)
    assert len(stored) == len(set(stored))


def test_a_node_whose_machine_is_gone_is_replaced_and_the_cluster_has_three_voters_again(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path / "cluster") as cluster:
        lost = cluster.apps[3]
        lost.stop(signal.SIGKILL)
        shutil.rmtree(lost.data_dir)  # the machine is gone, and its disk with it
        survivors = [cluster.apps[1], cluster.apps[2]]
        replacement = AppProcess(tmp_path / "node4", node_id=4)
        replacement.peers = [app.node_address for app in survivors]
        try:
            replacement.start()
            addresses = [*(app.node_address for app in survivors), replacement.node_address]
            cli(addresses, "remove", "3")
            cli(addresses, "assign", "4", "voter")
            status = cli(addresses, "status")
            [account] = open_accounts(replacement.base_url, count=1)
            read = httpx.get(f"{survivors[0].base_url}/ledger/accounts/{account}", trust_env=False)
        finally:
            replacement.stop()

    voters = sorted(line.split()[1] for line in status.splitlines() if " voter" in line)
    assert voters == ["1", "2", "4"], status
    assert "node 3" not in status
    assert read.status_code == 200, read.text
