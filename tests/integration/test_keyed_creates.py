"""Creates sent with an Idempotency-Key on a 3-node cluster whose leader is killed (kill -9):
8 writers, each resending every create with its key after a 503 or a lost connection until it
gets an answer that settles it. Every acknowledged create is stored once, none twice, and no
writer is left with an outcome it does not know. On the tests' ledger, so a fork keeps it."""

import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.integration.cluster import running_cluster
from tests.integration.set_workload import read_set
from tests.measurements import measured

WRITERS = 8
BEFORE_FAULT_SECONDS = 2.0
KILLED_FOR_SECONDS = 2.0
AFTER_RESTART_SECONDS = 2.0
RESEND_FOR_SECONDS = 30.0  # a writer gives one create this long to be settled
HTTP_TIMEOUT_SECONDS = 3.0
RESEND_PAUSE_SECONDS = 0.05


class Writer:
    """Sends creates of `set-<n>-<i>` through one node, each under its own key, resent after
    anything that leaves its outcome open (a 503, a 409 while the first is in flight, no
    answer at all) until a 201 settles it."""

    def __init__(self, n: int, node: str, stop: threading.Event) -> None:
        self.n, self.node, self.stop = n, node, stop
        self.acknowledged: list[str] = []
        self.replayed = 0
        self.resent = 0
        self.unsettled: list[str] = []  # gave up on: its outcome unknown to this writer

    def run(self) -> None:
        with httpx.Client(
            base_url=self.node, timeout=HTTP_TIMEOUT_SECONDS, trust_env=False
        ) as client:
            i = 0
            while not self.stop.is_set():
                self._create(client, f"set-{self.n}-{i}")
                i += 1

    def _create(self, client: httpx.Client, element: str) -> None:
        give_up_at = time.monotonic() + RESEND_FOR_SECONDS
        headers = {"Idempotency-Key": f"key-{element}"}
        body = {"owner": element, "balance_cents": 0}
        while time.monotonic() < give_up_at:
            try:
                response = client.post("/ledger/accounts", json=body, headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 201:
                self.acknowledged.append(element)
                self.replayed += response.headers.get("Idempotent-Replayed") == "true"
                return
            if response is not None and response.status_code not in (409, 503):
                raise AssertionError(f"{element}: {response.status_code} {response.text}")
            self.resent += 1
            time.sleep(RESEND_PAUSE_SECONDS)
        self.unsettled.append(element)


def test_keyed_creates_resent_through_a_leader_kill_are_each_stored_once_and_none_unknown(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path) as cluster:
        nodes = [app.base_url for app in cluster.apps.values()]
        stop = threading.Event()
        writers = [Writer(n, nodes[n % len(nodes)], stop) for n in range(WRITERS)]
        with ThreadPoolExecutor(WRITERS) as pool:
            running = [pool.submit(writer.run) for writer in writers]
            try:
                time.sleep(BEFORE_FAULT_SECONDS)
                target = cluster.leader()
                target.stop(signal.SIGKILL)
                time.sleep(KILLED_FOR_SECONDS)
                target.start()
                time.sleep(AFTER_RESTART_SECONDS)
            finally:
                stop.set()
            for future in running:
                future.result(timeout=RESEND_FOR_SECONDS + 2 * HTTP_TIMEOUT_SECONDS)
        stored = [read_set(node) for node in nodes]

    acknowledged = [element for writer in writers for element in writer.acknowledged]
    replayed = sum(writer.replayed for writer in writers)
    resent = sum(writer.resent for writer in writers)
    measured(
        f"keyed creates, leader killed: {len(acknowledged)} acknowledged, {replayed} of them "
        f"replayed answers, {resent} resends"
    )
    assert [element for writer in writers for element in writer.unsettled] == []
    for on_node in stored:
        assert [e for e in acknowledged if on_node[e] != 1] == []
        assert [e for e, times in on_node.items() if times > 1] == []
        assert set(on_node) == set(acknowledged)  # nothing stored that no one was told of
    assert len(acknowledged) > 0
    assert Counter(acknowledged).most_common(1)[0][1] == 1
