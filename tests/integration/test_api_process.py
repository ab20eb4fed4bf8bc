"""The app as an operator runs it: a real process with an embedded dqlite node, real HTTP.

Writes go through the tests' own ledger (tests/ledger), so these tests keep working in a fork
that has removed the example aggregates.
"""

import json
import os
import select
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.bank_workload import State, open_accounts, read_state
from tests.integration.process import AppProcess, assert_problem, http_client


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """One app process shared by the tests that do not stop or restart it."""
    process = AppProcess(tmp_path_factory.mktemp("shared-app"))
    process.extra_env = {"APP_BODY_TIMEOUT_SECONDS": "1", "APP_HEADER_TIMEOUT_SECONDS": "1"}
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture
def client(app: AppProcess) -> Iterator[httpx.Client]:
    with http_client(app) as client:
        yield client


def transfer(client: httpx.Client, key: str, body: dict[str, Any]) -> httpx.Response:
    return client.post("/ledger/transfers", json=body, headers={"Idempotency-Key": key})


def state(app: AppProcess, accounts: list[int]) -> State:
    return read_state(app.base_url, accounts, server_errors=[])


# --- Answers over real HTTP -----------------------------------------------------------------


def test_a_write_over_http_is_acknowledged_and_read_back(
    app: AppProcess, client: httpx.Client
) -> None:
    source, target = open_accounts(app.base_url, count=2)

    response = transfer(
        client, "read-back", {"from_account": source, "to_account": target, "amount_cents": 250}
    )

    assert response.status_code == 201, response.text
    after = state(app, [source, target])
    assert after.transfer_dicts == [response.json()]
    assert (after.balances[source], after.balances[target]) == (99_750, 100_250)


def test_a_create_sent_again_with_its_key_on_dqlite_is_answered_the_same_and_stored_once(
    app: AppProcess, client: httpx.Client
) -> None:
    owner = "sent-again"
    body, headers = {"owner": owner, "balance_cents": 5}, {"Idempotency-Key": "open-1"}

    first = client.post("/ledger/accounts", json=body, headers=headers)
    again = client.post("/ledger/accounts", json=body, headers=headers)
    other = client.post("/ledger/accounts", json={**body, "balance_cents": 6}, headers=headers)

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/ledger/accounts", params={"limit": 1000}).json()["items"]
    assert [account for account in listed if account["owner"] == owner] == [first.json()]


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        pytest.param({"from_account": 1, "to_account": 2}, 422, ["amount_cents"], id="missing"),
        pytest.param(
            {"from_account": 1, "to_account": 2, "amount_cents": "5"},
            422,
            ["amount_cents"],
            id="wrong-type",
        ),
        pytest.param(
            {"from_account": 1, "to_account": 999_999, "amount_cents": 5},
            404,
            ["999999"],
            id="unknown-account",
        ),
    ],
)
def test_a_write_that_cannot_be_made_gets_a_problem_and_changes_nothing_stored(
    app: AppProcess,
    client: httpx.Client,
    body: dict[str, Any],
    status: HTTPStatus,
    named: list[str],
) -> None:
    accounts = open_accounts(app.base_url, count=2)
    before = state(app, accounts)

    response = transfer(client, f"refused-{status}-{len(body)}", body)

    assert_problem(response, HTTPStatus(status), *named)
    assert state(app, accounts) == before


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(
    client: httpx.Client,
) -> None:
    body = {"from_account": 1, "to_account": 2, "amount_cents": 5, "pad": "x" * 2_000_000}

    response = transfer(client, "too-large", body)

    assert_problem(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "1048576 bytes")


def test_a_client_that_stops_sending_its_body_gets_a_408_and_is_disconnected(
    app: AppProcess,
) -> None:
    head = (
        "POST /ledger/accounts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", app.api_port), timeout=10) as connection:
        connection.sendall(head.encode() + b'{"owner": "slow')  # and nothing more
        answer = b""
        while chunk := connection.recv(65536):  # until the server closes the connection
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"application/problem+json" in answer


def read_until_closed(connection: socket.socket, trickle: bytes = b"") -> bytes:
    """What the server sends until it closes the connection, sending `trickle` a byte at a
    time meanwhile; the 10 s socket timeout fails the test if the server never closes it."""
    answer = b""
    connection.setblocking(False)
    for byte in [trickle[i : i + 1] for i in range(len(trickle))] + [b""] * 100:
        if byte:
            connection.send(byte)
        ready, _, _ = select.select([connection], [], [], 0.1)
        if ready:
            chunk = connection.recv(65536)
            if not chunk:
                return answer
            answer += chunk
    connection.settimeout(10)
    while chunk := connection.recv(65536):
        answer += chunk
    return answer


def test_a_client_that_trickles_its_headers_gets_a_408_and_is_disconnected(
    app: AppProcess,
) -> None:
    endless_header = b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 600

    with socket.create_connection(("127.0.0.1", app.api_port), timeout=10) as connection:
        answer = read_until_closed(connection, trickle=endless_header)  # 60 s at this pace

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"application/problem+json" in answer


def send_while_reading(connection: socket.socket, payload: bytes, chunk: int = 65536) -> bytes:
    """Send `payload` a chunk at a time while reading what the server answers meanwhile, then
    read until the server closes; a reset, rather than the answer, fails the test."""
    answer, sent = b"", 0
    connection.setblocking(False)
    while True:
        writing = [connection] if sent < len(payload) else []
        readable, writable, _ = select.select([connection], writing, [], 10)
        assert readable or writable, "the server neither answered nor took more in 10 s"
        if readable:
            received = connection.recv(65536)
            if not received:
                return answer
            answer += received
        if writable:
            sent += connection.send(payload[sent : sent + chunk])


TEN_MB = 10 * 2**20


@pytest.mark.parametrize(
    "framing",
    [f"Content-Length: {TEN_MB}", "Transfer-Encoding: chunked"],
    ids=["content-length", "chunked"],
)
def test_a_client_still_sending_a_10_mb_body_reads_its_413(app: AppProcess, framing: str) -> None:
    head = (
        f"POST /ledger/accounts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n"
    ).encode()
    body = b"x" * TEN_MB
    if framing.startswith("Transfer-Encoding"):
        body = b"".join(
            b"%x\r\n%b\r\n" % (65536, body[i : i + 65536]) for i in range(0, TEN_MB, 65536)
        )

    with socket.create_connection(("127.0.0.1", app.api_port), timeout=10) as connection:
        answer = send_while_reading(connection, head + body)

    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    head, _, problem = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head
    assert json.loads(problem)["detail"] == "the request body is larger than 1048576 bytes"


def test_a_client_still_sending_after_a_malformed_request_line_reads_its_400(
    app: AppProcess,
) -> None:
    with socket.create_connection(("127.0.0.1", app.api_port), timeout=10) as connection:
        answer = send_while_reading(connection, b"GET /\x00 HTTP/9\r\n" + b"x" * TEN_MB)

    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert answer.endswith(b"Invalid HTTP request received.")


def test_a_connection_that_never_sends_a_request_is_closed(app: AppProcess) -> None:
    with socket.create_connection(("127.0.0.1", app.api_port), timeout=10) as connection:
        answer = read_until_closed(connection)

    assert answer == b""  # closed: there was no request to answer


# --- Two processes on one dqlite address ----------------------------------------------------


def test_a_second_process_on_a_taken_dqlite_address_exits_non_zero_saying_so(
    app: AppProcess, client: httpx.Client, tmp_path: Path
) -> None:
    accounts = open_accounts(app.base_url, count=2)
    before = state(app, accounts)
    intruder = AppProcess(tmp_path, node_address=app.node_address)
    try:
        intruder.launch()
        exit_code = intruder.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the second process kept running:\n{intruder.output()}")
    finally:
        intruder.stop()

    output = intruder.output()
    assert exit_code != 0, output
    assert "AddressInUse" in output
    assert f"dqlite address {app.node_address} is already in use" in output
    assert "APP_NODE_ADDRESS" in output
    assert client.get("/health").status_code == 200
    assert state(app, accounts) == before


def test_a_launcher_whose_free_port_was_taken_meanwhile_starts_the_app_on_another(
    tmp_path: Path,
) -> None:
    app = AppProcess(tmp_path / "raced")
    taken = app.api_port
    with socket.create_server(("127.0.0.1", taken)):
        try:
            app.start()
            assert app.api_port != taken
            assert http_client(app, email=None).get("/health").status_code == HTTPStatus.OK
        finally:
            app.stop()


# --- Stopping and restarting ----------------------------------------------------------------


@dataclass(frozen=True)
class Shutdown:
    signal: signal.Signals
    exit_code: int
    output: str


@pytest.fixture(scope="module", params=[signal.SIGTERM, signal.SIGINT], ids=lambda s: str(s.name))
def shutdown(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Shutdown:
    """An app that served a write, then got a stop signal: how it ended."""
    signum: signal.Signals = request.param
    process = AppProcess(tmp_path_factory.mktemp(f"stopped-by-{signum.name}"))
    try:
        process.start()
        open_accounts(process.base_url, count=1)
        os.kill(process.pid, signum)
        try:
            exit_code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 10s after {signum.name}:\n{process.output()}")
        return Shutdown(signum, exit_code, process.output())
    finally:
        process.stop()


def test_a_stop_signal_stops_the_dqlite_node_and_ends_the_process(
    shutdown: Shutdown,
) -> None:
    assert "dqlite node 1 stopped" in shutdown.output
    assert "Application shutdown complete" in shutdown.output
    assert "Traceback" not in shutdown.output


def test_a_stop_signal_ends_the_process_as_a_clean_stop(shutdown: Shutdown) -> None:
    # uvicorn re-raises SIGTERM once its graceful shutdown is done, so a supervisor sees the
    # conventional "terminated by SIGTERM", which systemd counts as a clean stop.
    expected = {signal.SIGINT: 0, signal.SIGTERM: -signal.SIGTERM}[shutdown.signal]
    assert shutdown.exit_code == expected, shutdown.output


def test_what_was_written_over_http_is_served_as_left_after_a_restart(tmp_path: Path) -> None:
    app = AppProcess(tmp_path)
    try:
        app.start()
        accounts = open_accounts(app.base_url, count=3)
        with http_client(app) as client:
            for n, (source, target) in enumerate([(0, 1), (1, 2), (2, 0), (0, 2)]):
                body = {
                    "from_account": accounts[source],
                    "to_account": accounts[target],
                    "amount_cents": 100 * (n + 1),
                }
                assert transfer(client, f"before-restart-{n}", body).status_code == 201
        before = state(app, accounts)
        app.stop()
        assert "dqlite node 1 stopped" in app.output()

        app.start()  # same data dir, same addresses

        assert state(app, accounts) == before
        assert len(before.transfers) == 4
        assert "Running upgrade" not in app.output(), "the schema was created again"
    finally:
        app.stop()
