"""Many clients moving money at once through one real app process: no money is made or lost.

One `python -m entrypoints` with an embedded dqlite node serves 16 threads, each with an
HTTP client of its own, sending random transfers between 10 accounts: some too large for the
balance (409), some replays of a key already accepted (the first transfer again, no money
moved). Every response is recorded once; the tests then check it against what is stored.
"""

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.integration import process
from tests.integration.process import AppProcess
from tests.measurements import measured

ACCOUNTS = 10
OPENING_BALANCE_CENTS = 10_000
THREADS = 16
TRANSFERS_PER_THREAD = 25
REPLAYING_THREADS = frozenset(range(0, THREADS, 3))  # 6 of the 16 also replay keys
REPLAY_EVERY = 4  # a replaying thread replays after every 4th transfer it sends
SMALL_AMOUNT_CENTS = 4_000  # most transfers move up to this much
LARGE_AMOUNT_CENTS = (OPENING_BALANCE_CENTS + 1, 3 * OPENING_BALANCE_CENTS)  # often refused
LARGE_EVERY = 5  # about one transfer in 5 asks for a large amount
HTTP_TIMEOUT_SECONDS = 10.0
WORKLOAD_DEADLINE_SECONDS = 60.0
SEED = 20_240_601
RACERS = 8  # clients sending one key at the same moment
RACES = 5


@dataclass(frozen=True)
class Call:
    """One POST /transfers as sent and as answered (status 0: no HTTP answer at all)."""

    thread: int
    kind: str  # "transfer": a new key; "replay": a key already accepted; "race": a key sent at once
    key: str
    body: dict[str, int]
    status: int
    replayed_header: str | None
    answer: Any
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    def describe(self) -> str:
        what = self.error if self.error is not None else self.answer
        return f"{self.kind} {self.key} {self.body} -> {self.status}: {what}"


@dataclass
class Run:
    """What the concurrent workload sent, got back, and left stored."""

    accounts: list[int]
    opening: dict[int, int]
    calls: list[Call]
    elapsed_seconds: float
    balances: dict[int, int] = field(default_factory=dict)
    versions: dict[int, int] = field(default_factory=dict)
    stored: list[dict[str, Any]] = field(default_factory=list)
    stored_total: int = 0

    def of_kind(self, kind: str) -> list[Call]:
        return [call for call in self.calls if call.kind == kind]

    @property
    def accepted_keys(self) -> set[str]:
        return {call.key for call in self.calls if call.accepted}

    @property
    def first_accepted(self) -> dict[str, Call]:
        """The answer each key got when it was sent for the first time, if 2xx."""
        return {call.key: call for call in self.of_kind("transfer") if call.accepted}


# --- Fixtures: one app process, one workload, shared by the tests that check its results ----


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    process = AppProcess(tmp_path_factory.mktemp("bank-app"))
    try:
        process.start()
        yield process
    finally:
        process.stop()


def http_client(app: AppProcess) -> httpx.Client:
    return process.http_client(app, HTTP_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def run(app: AppProcess) -> Run:
    # The checks read every transfer, which only the admin role may list.
    app.grant_role("alice@example.org", "admin")
    with http_client(app) as client:
        accounts = [open_account(client, f"holder-{n}") for n in range(ACCOUNTS)]
    opening = {account: OPENING_BALANCE_CENTS for account in accounts}

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(send_transfers, app, thread, accounts) for thread in range(THREADS)]
        per_thread = [future.result(timeout=WORKLOAD_DEADLINE_SECONDS) for future in futures]
    elapsed = time.monotonic() - started

    result = Run(accounts, opening, [call for calls in per_thread for call in calls], elapsed)
    with http_client(app) as client:
        for account in accounts:
            body = get_json(client, f"/accounts/{account}")
            result.balances[account] = body["balance_cents"]
            result.versions[account] = body["version"]
        result.stored, result.stored_total = all_transfers(client)
    report(result)
    return result


def open_account(client: httpx.Client, holder: str) -> int:
    response = client.post(
        "/accounts", json={"holder": holder, "balance_cents": OPENING_BALANCE_CENTS}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["balance_cents"] == OPENING_BALANCE_CENTS
    account: int = body["id"]
    return account


def send_transfers(app: AppProcess, thread: int, accounts: list[int]) -> list[Call]:
    """One client's work: random transfers, each with a new key; some replays of accepted ones."""
    rng = random.Random(SEED + thread)
    calls: list[Call] = []
    with http_client(app) as client:
        for n in range(1, TRANSFERS_PER_THREAD + 1):
            source, target = rng.sample(accounts, 2)
            body = {
                "from_account": source,
                "to_account": target,
                "amount_cents": random_amount(rng),
            }
            key = f"t{thread}-{n}-{uuid.uuid4().hex[:8]}"
            calls.append(post_transfer(client, thread, "transfer", key, body))
            accepted = [call for call in calls if call.kind == "transfer" and call.accepted]
            if thread in REPLAYING_THREADS and n % REPLAY_EVERY == 0 and accepted:
                earlier = rng.choice(accepted)
                calls.append(post_transfer(client, thread, "replay", earlier.key, earlier.body))
    return calls


def random_amount(rng: random.Random) -> int:
    if rng.randrange(LARGE_EVERY) == 0:
        return rng.randint(*LARGE_AMOUNT_CENTS)
    return rng.randint(1, SMALL_AMOUNT_CENTS)


def post_transfer(
    client: httpx.Client, thread: int, kind: str, key: str, body: dict[str, int]
) -> Call:
    try:
        response = client.post("/transfers", json=body, headers={"Idempotency-Key": key})
    except httpx.HTTPError as error:
        return Call(thread, kind, key, body, 0, None, None, repr(error))
    try:
        answer: Any = response.json()
    except ValueError:
        answer = response.text
    replayed = response.headers.get("Idempotent-Replayed")
    return Call(thread, kind, key, body, response.status_code, replayed, answer)


def get_json(client: httpx.Client, url: str, **params: int | str | bool) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def all_transfers(client: httpx.Client, **params: int) -> tuple[list[dict[str, Any]], int]:
    """Every stored transfer (optionally of one account), 1000 a page, each page from the
    `next` of the one before; and the total, counted with the first."""
    first = get_json(client, "/transfers", limit=1000, total=True, **params)
    assert not first["total_capped"], first["total"]
    page, items = first, list(first["items"])
    while page["next"] is not None:
        page = get_json(client, "/transfers", limit=1000, after=page["next"], **params)
        items.extend(page["items"])
    return items, first["total"]


def report(run: Run) -> None:
    statuses = Counter(call.status for call in run.calls)
    replays = run.of_kind("replay")
    applied = len(run.first_accepted)
    measured(
        f"bank workload: {THREADS} threads, {len(run.calls)} requests "
        f"({len(run.of_kind('transfer'))} new keys, {len(replays)} replays) "
        f"in {run.elapsed_seconds:.2f}s = {len(run.calls) / run.elapsed_seconds:.0f} requests/s; "
        f"{applied} transfers applied = {applied / run.elapsed_seconds:.0f} transfers/s"
    )
    measured(
        f"bank workload statuses: {dict(sorted(statuses.items()))}; "
        f"201 new: {applied}, 409: {statuses[409]}, "
        f"replays answered 201 with Idempotent-Replayed true: "
        f"{sum(c.status == 201 and c.replayed_header == 'true' for c in replays)}/{len(replays)}; "
        f"stored transfers: {run.stored_total}"
    )


# --- The checks -----------------------------------------------------------------------------


def test_no_transfer_request_fails_with_a_server_error_or_goes_unanswered(run: Run) -> None:
    failed = [call.describe() for call in run.calls if call.status >= 500 or call.status == 0]
    assert failed == [], f"{len(failed)} of {len(run.calls)} requests failed:\n" + "\n".join(failed)


def test_the_app_logs_no_error_while_serving_the_workload(app: AppProcess, run: Run) -> None:
    logged = app.output()
    errors = [line for line in logged.splitlines() if " ERROR " in line or "CRITICAL" in line]
    assert errors == [], logged[-5000:]
    assert "Traceback" not in logged, logged[-5000:]


def test_every_answer_is_an_applied_transfer_or_an_insufficient_funds_refusal(run: Run) -> None:
    statuses = Counter(call.status for call in run.of_kind("transfer"))
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] > 0, "no transfer was applied"
    assert statuses[409] > 0, "no transfer was refused: the amounts never exceeded a balance"
    for call in run.of_kind("transfer"):
        if call.status == 409:
            assert "less than" in call.answer["detail"], call.describe()
        else:
            assert call.replayed_header == "false", call.describe()
            assert call.answer["idempotency_key"] == call.key
            assert {k: call.answer[k] for k in call.body} == call.body, call.describe()


def test_a_replayed_key_gets_the_first_transfer_back_and_marked_as_replayed(run: Run) -> None:
    replays = run.of_kind("replay")
    assert len(replays) >= len(REPLAYING_THREADS), "too few replays were sent"
    first = run.first_accepted
    for replay in replays:
        assert replay.status == 201, replay.describe()
        assert replay.replayed_header == "true", replay.describe()
        assert replay.answer == first[replay.key].answer, replay.describe()


def test_money_is_neither_created_nor_destroyed_and_no_balance_goes_negative(run: Run) -> None:
    assert sum(run.balances.values()) == sum(run.opening.values())
    assert all(balance >= 0 for balance in run.balances.values()), run.balances
    assert run.balances != run.opening, "no money moved at all"


def test_every_accepted_key_is_stored_exactly_once_and_nothing_else_is(run: Run) -> None:
    stored_keys = Counter(transfer["idempotency_key"] for transfer in run.stored)
    assert len(run.stored) == run.stored_total
    assert [key for key, times in stored_keys.items() if times > 1] == []
    assert set(stored_keys) == run.accepted_keys
    assert run.stored_total == len(run.accepted_keys)
    ids = [transfer["id"] for transfer in run.stored]
    assert ids == sorted(ids), "not ordered by id"
    assert len(set(ids)) == len(ids), "an id repeats"


def test_each_stored_transfer_is_the_one_its_client_was_answered_with(run: Run) -> None:
    first = run.first_accepted
    for transfer in run.stored:
        assert transfer == first[transfer["idempotency_key"]].answer


def test_each_balance_is_its_opening_balance_plus_credits_minus_debits(run: Run) -> None:
    expected = dict(run.opening)
    for transfer in run.stored:
        expected[transfer["from_account"]] -= transfer["amount_cents"]
        expected[transfer["to_account"]] += transfer["amount_cents"]
    assert run.balances == expected


def test_each_account_was_changed_once_per_transfer_that_touched_it(run: Run) -> None:
    touched = Counter(
        account
        for transfer in run.stored
        for account in (transfer["from_account"], transfer["to_account"])
    )
    assert run.versions == {account: 1 + touched[account] for account in run.accounts}


def test_the_transfers_of_one_account_are_exactly_those_from_or_to_it(
    app: AppProcess, run: Run
) -> None:
    with http_client(app) as client:
        for account in run.accounts:
            items, total = all_transfers(client, account=account)
            expected = [t for t in run.stored if account in (t["from_account"], t["to_account"])]
            assert items == expected
            assert total == len(expected)


def test_replaying_an_accepted_key_when_all_is_quiet_moves_no_money(
    app: AppProcess, run: Run
) -> None:
    key, first = next(iter(run.first_accepted.items()))
    with http_client(app) as client:
        before = [get_json(client, f"/accounts/{a}") for a in run.accounts]
        _, total_before = all_transfers(client)
        same = client.post("/transfers", json=first.body, headers={"Idempotency-Key": key})
        changed_body = {**first.body, "amount_cents": first.body["amount_cents"] + 1}
        different = client.post("/transfers", json=changed_body, headers={"Idempotency-Key": key})
        after = [get_json(client, f"/accounts/{a}") for a in run.accounts]
        _, total = all_transfers(client)

    assert same.status_code == 201, same.text
    assert same.headers["Idempotent-Replayed"] == "true"
    assert same.json() == first.answer
    assert different.status_code == 422, different.text
    assert different.headers["content-type"].startswith("application/problem+json")
    assert after == before
    assert total == total_before


def race_with(
    start: threading.Barrier, client: httpx.Client, n: int, key: str, body: dict[str, int]
) -> Call:
    start.wait(timeout=HTTP_TIMEOUT_SECONDS)
    return post_transfer(client, n, "race", key, body)


def test_one_key_sent_by_many_clients_at_once_is_applied_once_and_the_rest_replayed_or_409(
    app: AppProcess, run: Run
) -> None:
    with http_client(app) as client:
        source, target = open_account(client, "race-from"), open_account(client, "race-to")
    body = {"from_account": source, "to_account": target, "amount_cents": 100}
    clients = [http_client(app) for _ in range(RACERS)]
    start = threading.Barrier(RACERS)  # reusable: it releases all racers at once, every race
    try:
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            for race in range(RACES):
                key = f"race-{race}-{uuid.uuid4().hex[:8]}"
                futures = [
                    pool.submit(race_with, start, client, n, key, body)
                    for n, client in enumerate(clients)
                ]
                calls = [f.result(timeout=WORKLOAD_DEADLINE_SECONDS) for f in futures]

                # A request that arrives while the first is being answered is a 409 (still in
                # flight); one that arrives after it, the first answer again.
                described = "\n".join(call.describe() for call in calls)
                answered = [call for call in calls if call.status == 201]
                assert {call.status for call in calls} <= {201, 409}, described
                assert len({call.answer["id"] for call in answered}) == 1, described
                replayed = sorted(str(call.replayed_header) for call in answered)
                assert replayed == ["false"] + ["true"] * (len(answered) - 1), described
    finally:
        for racing_client in clients:
            racing_client.close()

    with http_client(app) as client:
        assert get_json(client, f"/accounts/{source}")["balance_cents"] == (
            OPENING_BALANCE_CENTS - 100 * RACES
        )
        assert get_json(client, f"/accounts/{target}")["balance_cents"] == (
            OPENING_BALANCE_CENTS + 100 * RACES
        )
        assert all_transfers(client, account=source)[1] == RACES
