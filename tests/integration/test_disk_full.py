"""The disk under a serving node fills up: writes are refused, said so, and resume once freed;
an app stopped there starts again.

The node's data dir is a tmpfs of its own, and a file of zeros takes all but 16 MB: room for
dqlite, but under the 32 MB the app keeps in reserve (libraft 0.15 can crash the node when its
log cannot grow, so the app stops writing before it comes to that).
"""

import re
import shutil
import subprocess
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest

from adapters.dqlite.node import DISK_RESERVE_BYTES
from tests.dqlite import tmpfs
from tests.integration.bank_workload import open_accounts
from tests.integration.process import AppProcess, assert_problem, http_client

LEFT_FREE_MB = 16


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    workdir = tmp_path_factory.mktemp("disk-full")
    process = AppProcess(workdir)
    with tmpfs(process.data_dir, size_mb=96):
        try:
            process.start()
            yield process
        finally:
            process.stop()


def fill_disk(app: AppProcess, name: str = "filler") -> Path:
    """Leave 16 MB free under the node."""
    filler = app.data_dir / name
    megabytes = shutil.disk_usage(app.data_dir).free // 2**20 - LEFT_FREE_MB
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={filler}", "bs=1M", f"count={megabytes}"],
        check=True,
        capture_output=True,
    )
    assert 8 * 2**20 < shutil.disk_usage(app.data_dir).free < DISK_RESERVE_BYTES
    return filler


def counter(client: httpx.Client, name: str) -> float:
    found = re.search(rf"^{name}_total (\S+)$", client.get("/metrics").text, re.MULTILINE)
    assert found, f"{name} is not in /metrics"
    return float(found.group(1))


def transfer(client: httpx.Client, key: str, source: int, target: int) -> httpx.Response:
    body = {"from_account": source, "to_account": target, "amount_cents": 1}
    return client.post("/ledger/transfers", json=body, headers={"Idempotency-Key": key})


def test_a_full_disk_refuses_writes_with_507_and_says_so_until_space_is_freed(
    app: AppProcess,
) -> None:
    source, target = open_accounts(app.base_url, count=2)
    with http_client(app, email=None) as client:  # the ledger is open
        retries_before = counter(client, "use_case_retries")

        filler = fill_disk(app)
        refused = transfer(client, "on-a-full-disk", source, target)
        opening = client.post("/ledger/accounts", json={"owner": "x", "balance_cents": 1})
        ready = client.get("/ready")

        for response in (refused, opening):
            body = assert_problem(response, HTTPStatus.INSUFFICIENT_STORAGE, "nothing was changed")
            assert "outcome" not in body  # a refusal, not an unknown outcome
            assert int(response.headers["Retry-After"]) > 0
        # Refused at once: a full disk is not the brief unavailability that retrying outlasts.
        assert counter(client, "use_case_retries") == retries_before
        assert ready.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert "MB free on the node's disk" in ready.json()["checks"]["disk"]
        assert "no space" in app.output()  # the warning in the log
        assert client.get(f"/ledger/accounts/{source}").json()["version"] == 0  # nothing applied

        filler.unlink()
        accepted = transfer(client, "on-a-full-disk", source, target)

        assert accepted.status_code == HTTPStatus.CREATED, accepted.text
        assert client.get("/ready").status_code == HTTPStatus.OK
        assert client.get(f"/ledger/accounts/{source}").json()["balance_cents"] == 99_999


def test_an_app_stopped_at_the_disk_reserve_starts_again_serves_reads_and_writes_once_freed(
    app: AppProcess,
) -> None:
    source, _ = open_accounts(app.base_url, count=2)
    filled = fill_disk(app)
    app.stop()
    # The stopped node gave back the log segments it had preallocated: take that room too.
    topped_up = fill_disk(app, "filler-while-stopped")

    app.start()
    with http_client(app, email=None) as client:  # the ledger is open
        read = client.get(f"/ledger/accounts/{source}")
        ready = client.get("/ready")
        refused = client.post("/ledger/accounts", json={"owner": "y", "balance_cents": 1})

        assert read.status_code == HTTPStatus.OK, read.text
        assert ready.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert "MB free on the node's disk" in ready.json()["checks"]["disk"]
        assert_problem(refused, HTTPStatus.INSUFFICIENT_STORAGE, "nothing was changed")

        filled.unlink()
        topped_up.unlink()
        opened = client.post("/ledger/accounts", json={"owner": "y", "balance_cents": 1})

        assert opened.status_code == HTTPStatus.CREATED, opened.text
        assert client.get("/ready").status_code == HTTPStatus.OK
