"""APP_WORKERS=2: one API port served by two processes of the app, one of them holding the node.

The app runs as an operator runs it (`AppProcess`); its pid is then the supervisor's, and its
workers are its children, each named `app worker K`. The writes are the tests' own ledger's
(tests/ledger), so these tests keep working in a fork without the examples.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.process import AppProcess, gone, http_client

WRITERS = 32
WRITES_EACH = 4
PROBE_EVERY_SECONDS = 0.02
RESTART_SECONDS = 20.0
CONNECTIONS_AT_MOST = 64


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """One app of two workers, shared by the tests that do not stop it."""
    process = AppProcess(tmp_path_factory.mktemp("workers"), workers=2)
    try:
        process.start()
        yield process
    finally:
        process.stop()


def wait_for_workers(app: AppProcess, count: int = 2) -> dict[int, int]:
    """The workers' pids by index, once `count` of them run and the last one says it serves."""
    deadline = time.monotonic() + RESTART_SECONDS
    while time.monotonic() < deadline:
        pids = app.worker_pids()
        if len(pids) == count and f"worker {count - 1} serving (pid {pids[count - 1]})" in (
            app.output()
        ):
            return pids
        time.sleep(0.05)
    pytest.fail(f"{count} workers did not serve within {RESTART_SECONDS:.0f}s:\n{app.output()}")


def accepted_connections(pid: int, port: int) -> int:
    """How many established connections to `port` the process `pid` holds."""
    established = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and int(local.rpartition(":")[2], 16) == port:
                established.add(f"socket:[{inode}]")
    held = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    return len(established & held)


def asked_for_health(app: AppProcess) -> socket.socket:
    """A new connection that has had its GET /health answered, and stays open."""
    connection = socket.create_connection((app.host, app.api_port), timeout=10)
    connection.sendall(b"GET /health HTTP/1.1\r\nHost: workers\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    return connection


def test_new_connections_are_served_by_both_workers(app: AppProcess) -> None:
    pids = wait_for_workers(app)
    connections: list[socket.socket] = []
    try:
        served = dict.fromkeys(pids, 0)
        while min(served.values()) == 0 and len(connections) < CONNECTIONS_AT_MOST:
            connections += [asked_for_health(app) for _ in range(8)]
            served = {i: accepted_connections(pid, app.api_port) for i, pid in pids.items()}
    finally:
        for connection in connections:
            connection.close()

    assert min(served.values()) > 0, f"connections held by worker: {served}"


def test_32_concurrent_writers_over_both_workers_all_succeed_and_store_each_row_once(
    app: AppProcess,
) -> None:
    wait_for_workers(app)
    app.signed_in()  # once, before the writers start
    owners = [f"writer{w}-{n}" for w in range(WRITERS) for n in range(WRITES_EACH)]

    def write(writer: int) -> list[tuple[int, str]]:
        # A client each: connections of their own, so the two workers share the writers.
        with http_client(app, timeout=30) as client:
            answers = [
                client.post("/ledger/accounts", json={"owner": owner, "balance_cents": 1})
                for owner in owners[writer * WRITES_EACH : (writer + 1) * WRITES_EACH]
            ]
        return [(answer.status_code, answer.json().get("owner", "")) for answer in answers]

    with ThreadPoolExecutor(WRITERS) as pool:
        answers = [answer for writer in pool.map(write, range(WRITERS)) for answer in writer]

    assert Counter(status for status, _ in answers) == {201: len(owners)}
    with http_client(app) as client:
        page = client.get("/ledger/accounts", params={"limit": 1000}).json()
    stored = Counter(a["owner"] for a in page["items"] if a["owner"].startswith("writer"))
    assert stored == Counter(owners)


class Probe:
    """GET a ledger account on a new connection every PROBE_EVERY_SECONDS, in a thread: each
    answer's start and end, and whether it was a 200."""

    def __init__(self, app: AppProcess, account_id: int) -> None:
        self.url = f"{app.base_url}/ledger/accounts/{account_id}"
        self.headers = app.signed_in()
        self.answers: list[tuple[float, float, bool]] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> "Probe":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(PROBE_EVERY_SECONDS):
            started = time.monotonic()
            try:
                answer = httpx.get(self.url, headers=self.headers, timeout=10, trust_env=False)
                ok = answer.is_success
            except httpx.TransportError:
                ok = False
            self.answers.append((started, time.monotonic(), ok))


def test_a_killed_worker_is_started_again_while_the_other_keeps_serving(app: AppProcess) -> None:
    killed = wait_for_workers(app)[1]
    with http_client(app) as client:
        opened = client.post("/ledger/accounts", json={"owner": "probed", "balance_cents": 1})
    assert opened.status_code == 201

    with Probe(app, opened.json()["id"]) as probe:
        time.sleep(0.5)
        os.kill(killed, signal.SIGKILL)
        while not gone(killed):
            time.sleep(0.01)
        dead_at = time.monotonic()
        restarted = wait_for_workers(app)[1]
        time.sleep(0.5)

    assert restarted != killed
    # A request that the killed worker had accepted is lost with it; no other may be.
    failed = [started for started, _, ok in probe.answers if not ok]
    assert all(started < dead_at for started in failed), f"failed after the kill: {failed}"
    assert len([1 for started, _, ok in probe.answers if ok and started > dead_at]) > 10


def test_sigterm_stops_every_worker_node_holder_last_and_exits_0(tmp_path: Path) -> None:
    app = AppProcess(tmp_path, workers=2)
    app.start()
    pids = wait_for_workers(app)

    code = app.stop(signal.SIGTERM)

    output = app.output()
    assert code == 0, output
    assert all(gone(pid) for pid in pids.values())
    finished = [output.index(f"Finished server process [{pids[i]}]") for i in (1, 0)]
    assert finished == sorted(finished), "worker 0, which holds the node, stopped first"
    with socket.socket() as probe:  # as a server binds it: the port is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((app.host, app.api_port))


def test_two_workers_on_the_in_memory_store_are_refused_at_start(tmp_path: Path) -> None:
    environment = {**AppProcess(tmp_path).env(), "APP_STORAGE": "memory", "APP_WORKERS": "2"}

    done = subprocess.run(
        [sys.executable, "-m", "entrypoints"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode != 0
    assert "APP_WORKERS > 1 needs APP_STORAGE=dqlite" in done.stderr
