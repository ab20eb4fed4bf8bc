"""Faults injected while clients move money: nothing acknowledged is lost or applied twice.

Each scenario starts a fresh cluster of three app processes (or, for the last one, a single
app), opens a few accounts, and runs the bank workload of `bank_workload.py` through every API
node: worker threads sending transfers with idempotency keys, sending the same key again to
another node after a 503 or a lost connection. About two seconds in, one fault hits the node
that leads (kill -9 then restart, SIGSTOP past an election then SIGCONT, SIGTERM then restart);
the workload goes on for a few seconds after the node is back. Then every node must serve the
same data (read again while the faulty node leads, so its own copy is read), in which money is
conserved, each acknowledged transfer is stored exactly once and nothing refused is stored;
writes must have gone on within 5 s of the fault, and every answer must be one the API
documents.

Each scenario runs once (a module fixture) and records one line of figures, which every run
prints at its end (tests/measurements.py).
"""

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from adapters.contexts import CONTEXTS
from adapters.dqlite.admin import ClusterAdmin
from tests.integration.bank_workload import (
    ACKNOWLEDGED,
    HTTP_TIMEOUT_SECONDS,
    REFUSED,
    TOTAL_CENTS,
    TRANSFERS,
    UNAVAILABLE,
    UNKNOWN,
    BankWorkload,
    KeyRecord,
    State,
    converged_states,
    count_outcomes,
    open_accounts,
    read_state,
)
from tests.integration.cluster import Cluster, running_cluster
from tests.integration.process import AppProcess
from tests.measurements import measured

BEFORE_FAULT_SECONDS = 2.0  # the workload runs this long before the fault
AFTER_HEALING_SECONDS = 3.0  # and this long after the faulty node is back
KILLED_FOR_SECONDS = 2.0  # a killed leader stays down this long before it restarts
STOPPED_FOR_SECONDS = 1.0  # a leader stopped by SIGTERM stays down this long
PAUSED_FOR_SECONDS = 5.5  # far past the election timeout (0.15-0.3 s at 10 ms network latency)
# A frozen node's kernel still accepts connections and requests, which get no answer until it
# thaws: a client waiting 15 s for one cannot send through the other nodes meanwhile. When the
# frozen node answers slowest (it led, on a loaded machine), every worker of the workload was
# found waiting on it, in 3 of 9 runs side by side, and no write could be seen resuming.
# Workers that give up after this long send the key on to the next node, as a client should.
FROZEN_NODE_ANSWER_SECONDS = 2.0
RESTART_TIMEOUT_SECONDS = 30.0
WORKLOAD_STOP_SECONDS = 60.0  # each worker finishes the key it is sending (bounded)
CONVERGE_SECONDS = 20.0  # a restarted follower catches up within this
LEADERSHIP_SECONDS = 15.0
MAX_WRITE_GAP_SECONDS = 5.0  # the acceptance criterion for a cluster losing its leader
HANDOVER_LOGGED = "handed leadership to node"
# Each app serves from two processes (one holds the node): the faults hit an app as a whole.
WORKERS = 2

SUMMARY: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    yield
    if SUMMARY:
        print("\n\nfault-tolerance summary:\n" + "\n".join(SUMMARY))


@dataclass(frozen=True)
class Injected:
    """When the fault hit, and what the faulty process said if it ended by itself."""

    at: float  # wall-clock time.time(), comparable with the server's created_at
    exit_code: int | None = None
    log: str = ""


@dataclass
class FaultRun:
    """What a scenario sent and got back, and what every node served after healing."""

    fault: str
    records: list[KeyRecord]
    injected: Injected
    healed_at: float  # when the faulty node was back
    acknowledged_before_fault: int
    states: list[State]  # one per API node, read after healing
    voters: dict[int, str] = field(default_factory=dict)  # node id -> role, after healing
    faulty_node_led: bool = False
    faulty_node_states: list[State] | None = None  # read again while the faulty node led
    read_errors: list[str] = field(default_factory=list)  # 500s to those reads (retried)

    @property
    def cluster(self) -> bool:
        return len(self.states) > 1

    @property
    def write_gap(self) -> float | None:
        """Seconds from the fault to the first acknowledgement of a transfer the server built
        after the fault (its created_at): an answer to a commit from before cannot count."""
        answered = [
            attempt.answered_at
            for record in self.records
            for attempt in record.attempts
            if attempt.created_at is not None and attempt.created_at > self.injected.at
        ]
        return min(answered) - self.injected.at if answered else None


# --- The faults -------------------------------------------------------------------------------


def kill_and_restart(target: AppProcess, down_for: float = KILLED_FOR_SECONDS) -> Injected:
    at = time.time()
    target.stop(signal.SIGKILL)
    time.sleep(down_for)
    target.start(timeout=RESTART_TIMEOUT_SECONDS)
    return Injected(at)


def pause_and_resume(target: AppProcess) -> Injected:
    at = time.time()
    target.pause()
    try:
        time.sleep(PAUSED_FOR_SECONDS)
    finally:
        target.resume()  # never leave a paused process behind
    return Injected(at)


def terminate_and_restart(target: AppProcess) -> Injected:
    at = time.time()
    code = target.stop(signal.SIGTERM)
    log = target.output()  # read now: the restart writes to a new log
    time.sleep(STOPPED_FOR_SECONDS)
    target.start(timeout=RESTART_TIMEOUT_SECONDS)
    return Injected(at, code, log)


# --- Running a scenario -----------------------------------------------------------------------


def run_cluster_fault(
    workdir: Path,
    fault: str,
    seed: int,
    inject: Callable[[AppProcess], Injected],
    answer_timeout: float = HTTP_TIMEOUT_SECONDS,
) -> FaultRun:
    with running_cluster(workdir, workers=WORKERS) as cluster:
        nodes = [app.base_url for app in cluster.apps.values()]
        accounts = open_accounts(nodes[0])
        workload = BankWorkload(nodes, accounts, seed=seed, answer_timeout=answer_timeout)
        workload.start()
        try:
            time.sleep(BEFORE_FAULT_SECONDS)
            target = cluster.leader()
            injected = inject(target)
            healed_at = time.time()
            time.sleep(AFTER_HEALING_SECONDS)
        finally:
            workload.stop(timeout=WORKLOAD_STOP_SECONDS)

        read_errors: list[str] = []
        states = converged_states(
            nodes, accounts, read_errors, CONVERGE_SECONDS, also=lambda: len(voters(cluster)) == 3
        )
        run = FaultRun(
            fault,
            workload.snapshot(),
            injected,
            healed_at,
            workload.acknowledged_between(0.0, injected.at),
            states,
            voters(cluster),
            read_errors=read_errors,
        )
        # Reads go to the leader, whichever node serves the API: to read the faulty node's own
        # copy, make it lead, then read through every node again.
        run.faulty_node_led = lead_with(cluster, target)
        if run.faulty_node_led:
            run.faulty_node_states = [read_state(node, accounts, read_errors) for node in nodes]
    report(run)
    return run


def run_single_node_fault(workdir: Path, fault: str, seed: int) -> FaultRun:
    app = AppProcess(workdir / "single", workers=WORKERS)
    try:
        app.start()
        accounts = open_accounts(app.base_url)
        workload = BankWorkload([app.base_url], accounts, seed=seed)
        workload.start()
        try:
            time.sleep(BEFORE_FAULT_SECONDS)
            injected = kill_and_restart(app, down_for=0.0)
            healed_at = time.time()
            time.sleep(AFTER_HEALING_SECONDS)
        finally:
            workload.stop(timeout=WORKLOAD_STOP_SECONDS)
        read_errors: list[str] = []
        states = converged_states(
            [app.base_url], accounts, read_errors, CONVERGE_SECONDS, also=lambda: True
        )
    finally:
        app.stop()
    run = FaultRun(
        fault,
        workload.snapshot(),
        injected,
        healed_at,
        workload.acknowledged_between(0.0, injected.at),
        states,
        read_errors=read_errors,
    )
    report(run)
    return run


def voters(cluster: Cluster) -> dict[int, str]:
    """The voters the cluster reports (empty when no node can tell right now)."""
    try:
        view = cluster.view()
    except Exception:  # no leader known at this instant
        return {}
    return {node.node_id: node.role for node in view.nodes if node.role == "voter"}


def lead_with(cluster: Cluster, target: AppProcess) -> bool:
    """Transfer leadership to `target` (bounded); True once the cluster says it leads."""
    admin = ClusterAdmin(cluster.addresses, CONTEXTS)
    deadline = time.monotonic() + LEADERSHIP_SECONDS
    while time.monotonic() < deadline:
        try:
            if cluster.view().leader_id == target.node_id:
                return True
            asyncio.run(admin.transfer_leadership(target.node_id))
        except Exception as error:  # no leader right now, or the transfer was refused
            print(f"transferring leadership to node {target.node_id}: {error!r}")
        time.sleep(0.5)
    return False


# --- Figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    outcomes: Counter[str]
    acknowledged: set[str]
    stored: Counter[str]  # as the first node lists them
    lost: list[str]  # acknowledged, yet missing on some node
    duplicated: list[str]  # stored more than once on some node
    unknown: list[str]


def figures(run: FaultRun) -> Figures:
    acknowledged = {r.key for r in run.records if r.outcome == ACKNOWLEDGED}
    listings = [key_counts(state) for state in run.states + (run.faulty_node_states or [])]
    return Figures(
        count_outcomes(run.records),
        acknowledged,
        listings[0],
        sorted(key for key in acknowledged if any(keys[key] == 0 for keys in listings)),
        sorted({key for keys in listings for key, times in keys.items() if times > 1}),
        sorted(r.key for r in run.records if r.outcome == UNKNOWN),
    )


def key_counts(state: State) -> Counter[str]:
    return Counter(transfer["idempotency_key"] for transfer in state.transfer_dicts)


def report(run: FaultRun) -> None:
    found = figures(run)
    gap = run.write_gap
    unknown_stored = [key for key in found.unknown if key in found.stored]
    undocumented = sum(not a.expected for r in run.records for a in r.attempts)
    line = (
        f"{run.fault}: acknowledged={found.outcomes[ACKNOWLEDGED]} "
        f"refused={found.outcomes[REFUSED]} unknown={found.outcomes[UNKNOWN]} "
        f"(stored {len(unknown_stored)}) unavailable={found.outcomes[UNAVAILABLE]} "
        f"lost={len(found.lost)} duplicated={len(found.duplicated)} "
        f"write_gap={'none' if gap is None else f'{gap:.2f}s'} "
        f"[{len(run.records)} keys, {sum(len(r.attempts) for r in run.records)} attempts, "
        f"{undocumented} undocumented answers, {sum(found.stored.values())} stored, "
        f"{len(run.read_errors)} reads answered 500]"
    )
    print(f"\n{line}")
    by_key = {record.key: record for record in run.records}
    for key in found.unknown:
        print(f"  unknown, {'stored' if key in found.stored else 'not stored'}: ", end="")
        print(by_key[key].describe())
    SUMMARY.append(line)
    measured(f"fault: {line}")


# --- The checks -------------------------------------------------------------------------------


def check_nothing_lost_or_applied_twice(run: FaultRun) -> None:
    found = figures(run)
    by_key = {record.key: record for record in run.records}
    assert len(by_key) == len(run.records), "the workload sent a key twice as a new transfer"
    assert run.acknowledged_before_fault > 0, "no transfer was acknowledged before the fault"

    # Every node serves the same data; in a cluster, also when the faulty node leads.
    first = run.states[0]
    for state in run.states[1:]:
        assert state.same_data_as(first), f"{state.node} differs from {first.node}"
    if run.cluster:
        assert run.voters.keys() == {1, 2, 3}, f"voters after healing: {run.voters}"
        assert run.faulty_node_led, "the faulty node could not take the lead after healing"
        assert run.faulty_node_states is not None
        for state in run.faulty_node_states:
            assert state.same_data_as(first), f"{state.node} differs with the faulty node leading"

    # Nothing acknowledged is lost, nothing is stored twice, nothing stored was not sent.
    assert found.lost == [], f"{len(found.lost)} acknowledged transfers missing: {found.lost}"
    assert found.duplicated == [], f"keys stored more than once: {found.duplicated}"
    assert sorted(found.stored.keys() - by_key.keys()) == [], "stored transfers no client sent"
    never_applied = {r.key for r in run.records if r.outcome in (REFUSED, UNAVAILABLE)}
    stored_anyway = "\n".join(
        by_key[k].describe() for k in sorted(never_applied & found.stored.keys())
    )
    assert stored_anyway == "", f"refused or unavailable, yet stored:\n{stored_anyway}"
    stored_as = {transfer["idempotency_key"]: transfer for transfer in first.transfer_dicts}
    for key in sorted(found.acknowledged):
        assert by_key[key].answer == stored_as[key], by_key[key].describe()

    # Money is conserved, and each balance is what the stored transfers made of it.
    for state in run.states:
        assert sum(state.balances.values()) == TOTAL_CENTS, state.balances
        assert all(balance >= 0 for balance in state.balances.values()), state.balances
    expected = {account: TOTAL_CENTS // len(first.balances) for account in first.balances}
    touched: Counter[int] = Counter()
    for transfer in first.transfer_dicts:
        expected[transfer["from_account"]] -= transfer["amount_cents"]
        expected[transfer["to_account"]] += transfer["amount_cents"]
        touched.update((transfer["from_account"], transfer["to_account"]))
    assert first.balances == expected
    assert first.versions == {account: touched[account] for account in first.balances}

    # Writes went on after the fault, and transfers sent after healing were acknowledged.
    assert run.write_gap is not None, "no transfer was acknowledged after the fault"
    after_healing = [
        a for r in run.records for a in r.attempts if a.acknowledged and a.sent_at > run.healed_at
    ]
    assert after_healing, "no transfer sent after healing was acknowledged"


def check_every_answer_is_documented(run: FaultRun) -> None:
    """201, 409, or 503 with Retry-After or an unknown outcome; never a 500."""
    unexpected = [
        f"{record.key}: {attempt.describe()}"
        for record in run.records
        for attempt in record.attempts
        if not attempt.expected
    ]
    assert unexpected == [], "answers the API does not document:\n" + "\n".join(unexpected)


def check_writes_resumed_within_the_bound(run: FaultRun) -> None:
    gap = run.write_gap
    assert gap is not None, "no transfer was acknowledged after the fault"
    assert gap < MAX_WRITE_GAP_SECONDS, f"no write was acknowledged for {gap:.2f}s after the fault"


# --- Each fault, run once -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def killed_leader(tmp_path_factory: pytest.TempPathFactory) -> FaultRun:
    workdir = tmp_path_factory.mktemp("killed-leader")
    return run_cluster_fault(workdir, "kill -9 leader, restart", 1, kill_and_restart)


@pytest.fixture(scope="module")
def paused_leader(tmp_path_factory: pytest.TempPathFactory) -> FaultRun:
    workdir = tmp_path_factory.mktemp("paused-leader")
    fault = f"SIGSTOP leader {PAUSED_FOR_SECONDS:g} s, SIGCONT"
    return run_cluster_fault(
        workdir, fault, 2, pause_and_resume, answer_timeout=FROZEN_NODE_ANSWER_SECONDS
    )


@pytest.fixture(scope="module")
def terminated_leader(tmp_path_factory: pytest.TempPathFactory) -> FaultRun:
    workdir = tmp_path_factory.mktemp("terminated-leader")
    return run_cluster_fault(workdir, "SIGTERM leader, restart", 3, terminate_and_restart)


@pytest.fixture(scope="module")
def killed_single_node(tmp_path_factory: pytest.TempPathFactory) -> FaultRun:
    workdir = tmp_path_factory.mktemp("killed-single-node")
    return run_single_node_fault(workdir, "kill -9 single node, restart", 4)


# --- The tests ----------------------------------------------------------------------------------


def test_no_acknowledged_transfer_is_lost_or_applied_twice_when_the_leader_is_killed(
    killed_leader: FaultRun,
) -> None:
    check_nothing_lost_or_applied_twice(killed_leader)


def test_writes_resume_within_5_s_when_the_leader_is_killed(killed_leader: FaultRun) -> None:
    check_writes_resumed_within_the_bound(killed_leader)


def test_every_transfer_request_gets_a_documented_answer_when_the_leader_is_killed(
    killed_leader: FaultRun,
) -> None:
    check_every_answer_is_documented(killed_leader)


def test_no_acknowledged_transfer_is_lost_or_applied_twice_when_the_leader_pauses_past_an_election(
    paused_leader: FaultRun,
) -> None:
    check_nothing_lost_or_applied_twice(paused_leader)


def test_writes_resume_within_5_s_through_the_other_nodes_while_the_leader_is_paused(
    paused_leader: FaultRun,
) -> None:
    check_writes_resumed_within_the_bound(paused_leader)


def test_every_transfer_request_gets_a_documented_answer_when_the_leader_pauses(
    paused_leader: FaultRun,
) -> None:
    check_every_answer_is_documented(paused_leader)


def test_no_acknowledged_transfer_is_lost_or_applied_twice_when_the_leader_gets_sigterm(
    terminated_leader: FaultRun,
) -> None:
    check_nothing_lost_or_applied_twice(terminated_leader)


def test_a_leader_given_sigterm_hands_over_and_writes_go_on_within_5_s(
    terminated_leader: FaultRun,
) -> None:
    injected = terminated_leader.injected
    log = injected.log[-5000:]
    # uvicorn ends by raising the signal it caught again, once it has shut down cleanly
    assert injected.exit_code in (0, -signal.SIGTERM), f"exit {injected.exit_code}:\n{log}"
    assert HANDOVER_LOGGED in injected.log, f"the leader stopped without handing over:\n{log}"
    check_writes_resumed_within_the_bound(terminated_leader)


def test_every_transfer_request_gets_a_documented_answer_when_the_leader_gets_sigterm(
    terminated_leader: FaultRun,
) -> None:
    check_every_answer_is_documented(terminated_leader)


def test_a_single_node_killed_in_the_middle_of_writes_restarts_with_every_acknowledged_transfer(
    killed_single_node: FaultRun,
) -> None:
    check_nothing_lost_or_applied_twice(killed_single_node)


def test_every_transfer_request_gets_a_documented_answer_when_a_single_node_is_killed(
    killed_single_node: FaultRun,
) -> None:
    check_every_answer_is_documented(killed_single_node)


def test_reads_answer_no_server_error_right_after_leadership_moves(tmp_path: Path) -> None:
    with running_cluster(tmp_path, workers=WORKERS) as cluster:
        nodes = [app.base_url for app in cluster.apps.values()]
        with httpx.Client(timeout=15, trust_env=False) as client:
            for node in nodes:  # each app now holds a pooled connection to the leader
                assert client.get(f"{node}{TRANSFERS}").status_code == 200
        leader = cluster.leader()
        heir = next(app for app in cluster.apps.values() if app is not leader)
        assert lead_with(cluster, heir), "leadership did not move"
        statuses = []
        for node in nodes:
            with httpx.Client(timeout=15, trust_env=False) as client:
                statuses.append(client.get(f"{node}{TRANSFERS}").status_code)
    assert statuses == [200, 200, 200]
