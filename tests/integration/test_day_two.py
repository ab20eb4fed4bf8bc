"""Day-2 operations on app processes, as docs/operations.md describes them: every node of a
cluster restarted in turn while clients write, a node whose machine is gone replaced, and a
parked event listed and sent again, by its context.

Runs on the tests' own ledger (tests/ledger) and on rows of the tests' own in the contexts'
outboxes, so a fork keeps it.
"""

import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dqlitedbapi
import httpx
import pytest

from adapters.contexts import CONTEXTS
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
from tests.integration.process import ROOT, AppProcess, http_client
from tests.integration.test_backup import PROBE_EVENT, add_event
from tests.measurements import measured

BETWEEN_RESTARTS_SECONDS = 1.0
READY_SECONDS = 30.0


def run_cli(cluster_addresses: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "entrypoints.cli", "--cluster", ",".join(cluster_addresses)]
    return subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def cli(cluster_addresses: list[str], *args: str) -> str:
    done = run_cli(cluster_addresses, *args)
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


def parked_rows(app: AppProcess, context: str) -> list[tuple[int, int]]:
    """(id, attempts) of each parked event in `context`'s outbox."""
    connection = dqlitedbapi.connect(app.node_address, database=context)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT id, attempts FROM outbox_events WHERE parked_at_ms IS NOT NULL")
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def parked_gauges(app: AppProcess) -> dict[str, float]:
    with http_client(app) as client:
        metrics = client.get("/metrics").text
    found = re.findall(r'^outbox_events_parked\{context="([^"]+)"\} (\S+)$', metrics, re.M)
    return {context: float(value) for context, value in found}


@pytest.mark.skipif(not CONTEXTS, reason="no context")
def test_a_parked_event_is_listed_with_its_context_and_sent_again_by_retry_event(
    tmp_path: Path,
) -> None:
    app = AppProcess(tmp_path / "app", module="entrypoints")  # the app as operators run it
    try:
        app.start()
        parked = {}  # context -> the id of its parked event (each database counts from 1)
        for context in CONTEXTS:
            connection = dqlitedbapi.connect(app.node_address, database=context.name)
            try:
                stream = f"parked-in-{context.name}"
                error = f"boom in {context.name}"
                parked[context.name] = add_event(
                    connection, stream, parked=True, attempts=5, error=error
                )
            finally:
                connection.close()
        chosen = CONTEXTS[-1].name
        gauges = parked_gauges(app)

        listed = cli([app.node_address], "parked-events")
        unknown_id = str(max(parked.values()) + 1)
        no_such_event = run_cli([app.node_address], "retry-event", chosen, unknown_id)
        no_such_context = run_cli([app.node_address], "retry-event", "nowhere", unknown_id)
        retried = cli([app.node_address], "retry-event", chosen, str(parked[chosen]))
        deadline = time.monotonic() + READY_SECONDS
        while f"{chosen} event {parked[chosen]} ({PROBE_EVENT}) failed" not in app.output():
            assert time.monotonic() < deadline, f"{chosen}'s relay did not take it up again"
            time.sleep(0.2)
        still_parked = {context.name: parked_rows(app, context.name) for context in CONTEXTS}
    finally:
        app.stop()

    assert gauges == {context.name: 1.0 for context in CONTEXTS}
    for name, event_id in parked.items():
        line = f"{name}  {event_id}  {PROBE_EVENT}  parked-in-{name}  after 5 tries: "
        assert f"{line}boom in {name}" in listed, listed
    assert no_such_event.returncode == 1
    assert f"no parked event {unknown_id} in {chosen}" in no_such_event.stderr
    assert no_such_context.returncode == 1
    assert "no context 'nowhere'" in no_such_context.stderr
    assert f"{chosen} event {parked[chosen]} will be delivered again" in retried
    for name, event_id in parked.items():  # the others are still parked, untouched
        if name != chosen:
            assert still_parked[name] == [(event_id, 5)], name
