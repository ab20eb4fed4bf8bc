"""Network partitions while clients move money and add to a set: nothing acknowledged is lost.

Each scenario starts three app processes, each in a network namespace of its own (netns.py),
and runs the bank workload and the set workload through every API node, so clients sit on
both sides of each cut. About two seconds in, the network is cut; later it heals. Then every
node must serve the same data, with the checks of the fault tests (money conserved, each
acknowledged transfer stored once, nothing refused stored), every acknowledged add in the set
once and nothing refused in it, and writes going on within 5 s of each cut.

While the leader is cut off, a probe measures stale reads: one client makes transfers through
the majority while another reads the same account through the old leader's API. A read that
misses a transfer acknowledged before the read was sent is stale; its window is how long
before the read that transfer had been acknowledged.
"""

import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.integration.bank_workload import (
    BankWorkload,
    converged_states,
    open_accounts,
    post_transfer,
    read_state,
)
from tests.integration.cluster import Cluster, running_cluster
from tests.integration.netns import Network, private_network
from tests.integration.set_workload import SetFigures, SetWorkload, read_set, set_figures
from tests.integration.test_cluster_faults import (
    CONVERGE_SECONDS,
    WORKLOAD_STOP_SECONDS,
    FaultRun,
    Injected,
    check_nothing_lost_or_applied_twice,
    lead_with,
    report,
    voters,
)
from tests.measurements import measured

BEFORE_CUT_SECONDS = 2.0
CUT_SECONDS = 6.0  # past the election timeout (~1.5-3 s at 10 ms network latency)
AFTER_HEALING_SECONDS = 4.0
FLAPPING_SECONDS = 30.0
FLAP_EVERY_SECONDS = (1.0, 3.0)
MAX_QUIET_SECONDS = 5.0  # writes go on within this of a cut (an election) or of the heal
READ_EVERY_SECONDS = 0.02


@dataclass
class StaleReads:
    """Reads of a probe account through the cut-off old leader, against acknowledged writes."""

    acknowledged_at: list[float] = field(default_factory=list)  # the n-th probe transfer's ack
    reads: list[tuple[float, int]] = field(default_factory=list)  # (sent at, version read)

    def stale(self) -> list[float]:
        """For each stale read, how long before it was sent the first write it missed had
        been acknowledged."""
        windows = []
        for sent_at, version in self.reads:
            acknowledged_before = sum(1 for at in self.acknowledged_at if at < sent_at)
            if version < acknowledged_before:
                windows.append(sent_at - self.acknowledged_at[version])
        return windows

    def line(self) -> str:
        windows = self.stale()
        longest = f"{max(windows):.2f}s" if windows else "none"
        return (
            f"stale reads: {len(windows)} of {len(self.reads)} reads through the old leader, "
            f"longest window {longest} ({len(self.acknowledged_at)} probe writes acknowledged)"
        )


@dataclass
class PartitionRun:
    bank: FaultRun
    set_figures: SetFigures
    quiet: float  # the longest stretch without an acknowledged write, from the cut on
    stale_reads: StaleReads | None = None


# --- Nemeses: each cuts the network, returns when it has healed -------------------------------


def isolate_leader(cluster: Cluster, network: Network, leader: int) -> None:
    network.split({leader}, set(cluster.apps) - {leader})
    time.sleep(CUT_SECONDS)
    network.heal()


def bridge(cluster: Cluster, network: Network, leader: int) -> None:
    """The leader and one follower cannot see each other; the third node sees both."""
    follower = min(set(cluster.apps) - {leader})
    network.cut(leader, follower)
    time.sleep(CUT_SECONDS)
    network.heal()


def flapping(cluster: Cluster, network: Network, leader: int) -> None:
    """A random node cut off from the others, or everything healed, every one to three seconds."""
    rng = random.Random(leader)
    deadline = time.monotonic() + FLAPPING_SECONDS
    while time.monotonic() < deadline:
        network.heal()
        if rng.random() < 0.7:
            lonely = rng.choice(list(cluster.apps))
            network.split({lonely}, set(cluster.apps) - {lonely})
        time.sleep(rng.uniform(*FLAP_EVERY_SECONDS))
    network.heal()


# --- Running a scenario -----------------------------------------------------------------------


def run_partition(
    workdir: Path,
    name: str,
    seed: int,
    nemesis: Callable[[Cluster, Network, int], None],
    probe_stale_reads: bool = False,
) -> PartitionRun:
    with private_network(3) as network, running_cluster(workdir, network=network) as cluster:
        nodes = [app.base_url for app in cluster.apps.values()]
        accounts = open_accounts(nodes[0])
        probe_accounts = open_accounts(nodes[0], count=2)
        bank = BankWorkload(nodes, accounts, seed=seed)
        adds = SetWorkload(nodes, seed=seed)
        bank.start()
        adds.start()
        try:
            time.sleep(BEFORE_CUT_SECONDS)
            leader = cluster.leader()
            cut_at = time.time()
            if probe_stale_reads:
                majority = [app.base_url for app in cluster.apps.values() if app is not leader]
                with stale_read_probe(majority, leader.base_url, probe_accounts) as stale:
                    nemesis(cluster, network, leader.node_id)
            else:
                stale = None
                nemesis(cluster, network, leader.node_id)
            healed_at = time.time()
            time.sleep(AFTER_HEALING_SECONDS)
        finally:
            bank.stop(timeout=WORKLOAD_STOP_SECONDS)
            adds.stop(timeout=WORKLOAD_STOP_SECONDS)

        read_errors: list[str] = []
        states = converged_states(
            nodes, accounts, read_errors, CONVERGE_SECONDS, also=lambda: len(voters(cluster)) == 3
        )
        run = FaultRun(
            f"partition: {name}",
            bank.snapshot(),
            Injected(cut_at),
            healed_at,
            bank.acknowledged_between(0.0, cut_at),
            states,
            voters(cluster),
            read_errors=read_errors,
        )
        run.faulty_node_led = lead_with(cluster, leader)
        if run.faulty_node_led:
            run.faulty_node_states = [read_state(node, accounts, read_errors) for node in nodes]
        sets = [read_set(node) for node in nodes]
    report(run)
    partition = PartitionRun(
        run, set_figures(adds.adds, sets), longest_quiet(run, cut_at, healed_at), stale
    )
    for line in filter(None, (partition.set_figures.line(), stale and stale.line())):
        print(f"  {line}")
        measured(f"partition {name}: {line}")
    measured(f"partition {name}: longest stretch without a write {partition.quiet:.2f}s")
    return partition


def longest_quiet(run: FaultRun, start: float, end: float) -> float:
    """The longest stretch, from `start` to a little past `end`, in which no transfer built by
    the server (its created_at) was acknowledged."""
    built = sorted(
        attempt.created_at
        for record in run.records
        for attempt in record.attempts
        if attempt.created_at is not None and start <= attempt.created_at
    )
    edges = [start, *built, max(end + AFTER_HEALING_SECONDS / 2, built[-1] if built else end)]
    return max(later - earlier for earlier, later in itertools.pairwise(edges))


class stale_read_probe:  # noqa: N801 (a context manager, named as a function would be)
    """Transfers between two probe accounts through `majority`, and reads of the first through
    `old_leader`, while the block runs."""

    def __init__(self, majority: list[str], old_leader: str, accounts: list[int]) -> None:
        self.majority, self.old_leader, self.accounts = majority, old_leader, accounts
        self.found = StaleReads()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write), threading.Thread(target=self._read)]

    def __enter__(self) -> StaleReads:
        for thread in self._threads:
            thread.start()
        return self.found

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _write(self) -> None:
        source, target = self.accounts
        body = {"from_account": source, "to_account": target, "amount_cents": 1}
        with httpx.Client(timeout=5, trust_env=False) as client:
            while not self._stop.is_set():
                key = f"probe-{uuid.uuid4().hex}"
                for node in self.majority * 3:  # the same key until acknowledged (bounded)
                    attempt = post_transfer(client, node, key, body)
                    if attempt.acknowledged:
                        self.found.acknowledged_at.append(attempt.answered_at)
                        break
                    if self._stop.is_set():
                        return
                    time.sleep(0.1)

    def _read(self) -> None:
        with httpx.Client(timeout=2, trust_env=False) as client:
            while not self._stop.is_set():
                sent_at = time.time()
                try:
                    answer = client.get(f"{self.old_leader}/ledger/accounts/{self.accounts[0]}")
                except httpx.TransportError:
                    continue
                if answer.status_code == 200:
                    self.found.reads.append((sent_at, int(answer.json()["version"])))
                time.sleep(READ_EVERY_SECONDS)


# --- The scenarios ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leader_isolated(tmp_path_factory: pytest.TempPathFactory) -> PartitionRun:
    workdir = tmp_path_factory.mktemp("partition-isolated")
    return run_partition(workdir, "leader isolated", 11, isolate_leader, probe_stale_reads=True)


@pytest.fixture(scope="module")
def bridged(tmp_path_factory: pytest.TempPathFactory) -> PartitionRun:
    return run_partition(tmp_path_factory.mktemp("partition-bridge"), "bridge", 12, bridge)


@pytest.fixture(scope="module")
def flapped(tmp_path_factory: pytest.TempPathFactory) -> PartitionRun:
    return run_partition(tmp_path_factory.mktemp("partition-flapping"), "flapping", 13, flapping)


SCENARIOS = ["leader_isolated", "bridged", "flapped"]


@pytest.fixture(params=SCENARIOS)
def partition(request: pytest.FixtureRequest) -> PartitionRun:
    run: PartitionRun = request.getfixturevalue(request.param)
    return run


def test_no_acknowledged_transfer_is_lost_or_applied_twice_and_money_is_conserved(
    partition: PartitionRun,
) -> None:
    check_nothing_lost_or_applied_twice(partition.bank)


def test_every_acknowledged_add_is_in_the_set_once_and_nothing_refused_is(
    partition: PartitionRun,
) -> None:
    found = partition.set_figures
    assert found.acknowledged > 0
    assert (found.lost, found.duplicated, found.present_though_refused) == ([], [], [])


def test_writes_go_on_within_5_s_of_each_cut_and_of_the_heal(partition: PartitionRun) -> None:
    assert partition.quiet <= MAX_QUIET_SECONDS


def test_stale_reads_through_an_isolated_leader_are_measured(leader_isolated: PartitionRun) -> None:
    stale = leader_isolated.stale_reads
    assert stale is not None
    assert stale.acknowledged_at, "no probe write was acknowledged through the majority"
    assert stale.reads, "no read was answered through the old leader"
