"""A bank workload over HTTP, sent the way a careful client with idempotency keys sends it.

It runs on the tests' own ledger (tests/ledger, served by `python -m tests.ledger.serve`), so
the fault tests keep working in a fork without the example aggregates.

Worker threads move random small amounts between a few accounts through every API node they
are given, each transfer with a key of its own. When a node answers 503 or cannot be reached,
the worker sends the SAME key and body again to the next node, a bounded number of times, so a
transfer is applied at most once however often it is sent. Every attempt is recorded, and each
key ends with one outcome:

- acknowledged: a 2xx answer (the transfer is stored, exactly once);
- refused: 409 or 422 (nothing was moved);
- unavailable: every attempt was refused before reaching the database (503 with Retry-After, or
  a connection that could not even be opened): nothing was written;
- unknown: the client cannot know (a 503 whose outcome is unknown, a timeout or a broken
  connection after the request was sent, or an answer no client expects, on some attempt and no
  2xx, 409 or 422 after it).

The readers at the end read the whole state (every transfer, every balance) through one node.
"""

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

ACCOUNTS_PATH, TRANSFERS = "/ledger/accounts", "/ledger/transfers"
ACCOUNTS = 6
OPENING_BALANCE_CENTS = 100_000
TOTAL_CENTS = ACCOUNTS * OPENING_BALANCE_CENTS
WORKERS = 6
HTTP_TIMEOUT_SECONDS = 15.0
ATTEMPTS_PER_KEY = 8
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 1.0
KEY_DEADLINE_SECONDS = 30.0  # no new attempt for a key once it has been tried this long
MAX_KEYS_PER_WORKER = 5_000  # a bound on each worker's loop, far above what a scenario sends
SMALL_AMOUNT_CENTS = 500
LARGE_EVERY = 25  # about one transfer in 25 asks for more than any account can hold: a 409
READ_ATTEMPTS = 30
READ_BACKOFF_SECONDS = 0.5
MAX_PAGES = 100

ACKNOWLEDGED, REFUSED, UNKNOWN, UNAVAILABLE = "acknowledged", "refused", "unknown", "unavailable"
OUTCOMES = (ACKNOWLEDGED, REFUSED, UNKNOWN, UNAVAILABLE)


@dataclass(frozen=True)
class Attempt:
    """One POST /transfers as sent and as answered (status 0: no HTTP answer at all)."""

    node: str
    sent_at: float  # wall-clock time.time(), comparable to the server's created_at
    answered_at: float
    status: int
    answer: Any = None
    retry_after: str | None = None
    replayed: str | None = None
    error: str | None = None
    reached_server: bool = True  # False when the connection could not even be opened

    @property
    def acknowledged(self) -> bool:
        return 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        return self.status in (409, 422)

    @property
    def outcome_unknown(self) -> bool:
        return (
            self.status == 503
            and isinstance(self.answer, dict)
            and (self.answer.get("outcome") == "unknown")
        )

    @property
    def nothing_written(self) -> bool:
        """The server (or the network) says this attempt wrote nothing."""
        if self.status == 0:
            return not self.reached_server
        return self.status == 503 and self.retry_after is not None and not self.outcome_unknown

    @property
    def expected(self) -> bool:
        """An answer the API documents for a transfer between two open accounts."""
        return (
            self.acknowledged
            or self.status == 409
            or self.status == 0
            or (self.status == 503 and (self.outcome_unknown or self.retry_after is not None))
        )

    @property
    def created_at(self) -> float | None:
        """When the server built the acknowledged transfer (before committing it)."""
        if not self.acknowledged or not isinstance(self.answer, dict):
            return None
        return datetime.fromisoformat(self.answer["created_at"]).timestamp()

    def describe(self) -> str:
        what = self.error if self.error is not None else self.answer
        return f"{self.node} -> {self.status} (Retry-After {self.retry_after}): {what}"


@dataclass
class KeyRecord:
    """Everything one key went through, from its first attempt to its last."""

    worker: int
    key: str
    body: dict[str, int]
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        last = self.attempts[-1]
        if last.acknowledged:
            return ACKNOWLEDGED
        if last.refused:
            return REFUSED
        if all(attempt.nothing_written for attempt in self.attempts):
            return UNAVAILABLE
        return UNKNOWN

    @property
    def answer(self) -> Any:
        return self.attempts[-1].answer

    def describe(self) -> str:
        tried = "; ".join(attempt.describe() for attempt in self.attempts)
        return f"{self.key} {self.body} [{self.outcome}]: {tried}"


def is_transient(attempt: Attempt) -> bool:
    """A client may send the same key again after this: no final answer yet."""
    return attempt.status in (0, 503)


class BankWorkload:
    """Worker threads sending transfers until stopped; `records` holds every key sent."""

    def __init__(
        self,
        nodes: list[str],
        accounts: list[int],
        *,
        seed: int,
        answer_timeout: float = HTTP_TIMEOUT_SECONDS,
    ) -> None:
        """`answer_timeout`: how long a worker waits for an answer before it sends the key to
        the next node."""
        assert nodes, "no node to send to"
        assert len(accounts) >= 2, "a transfer needs two accounts"
        self.nodes = list(nodes)
        self.accounts = list(accounts)
        self.seed = seed
        self.answer_timeout = answer_timeout
        self.records: list[KeyRecord] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bank-worker")
        self._futures: list[Future[None]] = []

    def start(self) -> None:
        self._futures = [self._pool.submit(self._work, worker) for worker in range(WORKERS)]

    def stop(self, timeout: float) -> None:
        """Let each worker finish the key it is sending, then end; raise what a worker raised."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        try:
            for future in self._futures:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def snapshot(self) -> list[KeyRecord]:
        with self._lock:
            return list(self.records)

    def acknowledged_between(self, start: float, end: float) -> int:
        return sum(
            1
            for record in self.snapshot()
            for attempt in list(record.attempts)
            if attempt.acknowledged and start <= attempt.answered_at < end
        )

    def _work(self, worker: int) -> None:
        rng = random.Random(self.seed * 1_000 + worker)
        with httpx.Client(timeout=self.answer_timeout, trust_env=False) as client:
            for n in range(1, MAX_KEYS_PER_WORKER + 1):
                if self._stop.is_set():
                    return
                source, target = rng.sample(self.accounts, 2)
                amount = (
                    rng.randint(TOTAL_CENTS + 1, 2 * TOTAL_CENTS)  # more than anyone holds
                    if rng.randrange(LARGE_EVERY) == 0
                    else rng.randint(1, SMALL_AMOUNT_CENTS)
                )
                body = {"from_account": source, "to_account": target, "amount_cents": amount}
                record = KeyRecord(worker, f"w{worker}-{n}-{uuid.uuid4().hex[:12]}", body)
                with self._lock:
                    self.records.append(record)
                self._send(client, rng, record)

    def _send(self, client: httpx.Client, rng: random.Random, record: KeyRecord) -> None:
        """The same key and body, to one node after another, until a final answer (bounded)."""
        first = rng.randrange(len(self.nodes))
        started = time.monotonic()
        backoff = FIRST_BACKOFF_SECONDS
        for n in range(ATTEMPTS_PER_KEY):
            node = self.nodes[(first + n) % len(self.nodes)]
            attempt = post_transfer(client, node, record.key, record.body)
            record.attempts.append(attempt)
            if not is_transient(attempt):
                return
            if time.monotonic() - started > KEY_DEADLINE_SECONDS:
                return
            if not attempt.reached_server and (n + 1) % len(self.nodes) != 0:
                time.sleep(0.05)  # that node is down: try the next one soon
            else:
                time.sleep(backoff * rng.uniform(0.5, 1.0))
                backoff = min(2 * backoff, MAX_BACKOFF_SECONDS)


def post_transfer(client: httpx.Client, node: str, key: str, body: dict[str, int]) -> Attempt:
    sent_at = time.time()
    try:
        response = client.post(f"{node}{TRANSFERS}", json=body, headers={"Idempotency-Key": key})
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        return Attempt(node, sent_at, time.time(), 0, error=repr(error), reached_server=False)
    except httpx.TransportError as error:  # sent, but the answer was lost: the outcome is unknown
        return Attempt(node, sent_at, time.time(), 0, error=repr(error))
    answered_at = time.time()
    try:
        answer: Any = response.json()
    except ValueError:
        answer = response.text
    return Attempt(
        node,
        sent_at,
        answered_at,
        response.status_code,
        answer,
        response.headers.get("Retry-After"),
        response.headers.get("Idempotent-Replayed"),
    )


# --- Opening accounts and reading the state back -------------------------------------------


def open_accounts(node: str, count: int = ACCOUNTS) -> list[int]:
    accounts = []
    with httpx.Client(base_url=node, timeout=HTTP_TIMEOUT_SECONDS, trust_env=False) as client:
        for n in range(count):
            body = {"owner": f"owner-{n}", "balance_cents": OPENING_BALANCE_CENTS}
            response = client.post(ACCOUNTS_PATH, json=body)
            assert response.status_code == 201, response.text
            accounts.append(int(response.json()["id"]))
    return accounts


@dataclass(frozen=True)
class State:
    """Everything one node serves: the transfers in id order, and each account."""

    node: str
    transfers: tuple[tuple[tuple[str, Any], ...], ...]
    balances: dict[int, int]
    versions: dict[int, int]

    @property
    def transfer_dicts(self) -> list[dict[str, Any]]:
        return [dict(items) for items in self.transfers]

    def same_data_as(self, other: "State") -> bool:
        return (self.transfers, self.balances, self.versions) == (
            other.transfers,
            other.balances,
            other.versions,
        )


def get_json(
    client: httpx.Client, url: str, server_errors: list[str], params: dict[str, int] | None = None
) -> Any:
    """GET, retried (bounded) while the node is unreachable or the database unavailable.

    A 500 is retried too, and recorded in `server_errors`: a read has no side effect, and the
    state must still be read when the app fails one read (see the report of the tests)."""
    last = ""
    for _ in range(READ_ATTEMPTS):
        try:
            response = client.get(url, params=params)
        except httpx.TransportError as error:
            last = repr(error)
        else:
            if response.status_code == 200:
                return response.json()
            last = f"{response.status_code} {response.text}"
            if response.status_code == 500:
                server_errors.append(f"GET {client.base_url}{url} {params}: {last}")
                continue  # the app dropped the connection that failed: try again at once
            if response.status_code != 503:
                raise AssertionError(f"GET {client.base_url}{url} {params}: {last}")
        time.sleep(READ_BACKOFF_SECONDS)
    raise AssertionError(f"GET {client.base_url}{url} {params} kept failing: {last}")


def read_state(node: str, accounts: list[int], server_errors: list[str]) -> State:
    with httpx.Client(base_url=node, timeout=HTTP_TIMEOUT_SECONDS, trust_env=False) as client:
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = get_json(client, TRANSFERS, server_errors, {"limit": 1000, "offset": len(items)})
            items.extend(page["items"])
            if not page["items"] or len(items) >= page["total"]:
                break
        else:
            raise AssertionError(f"more than {MAX_PAGES} pages of transfers on {node}")
        balances, versions = {}, {}
        for account in accounts:
            body = get_json(client, f"{ACCOUNTS_PATH}/{account}", server_errors)
            balances[account] = body["balance_cents"]
            versions[account] = body["version"]
    # The bank is its accounts and the transfers between them (a test may make others).
    ours = [item for item in items if item["from_account"] in balances]
    transfers = tuple(tuple(sorted(item.items())) for item in ours)
    return State(node, transfers, balances, versions)


def converged_states(
    nodes: list[str],
    accounts: list[int],
    server_errors: list[str],
    within_seconds: float,
    also: Callable[[], bool],
) -> list[State]:
    """Every node's state, once all are the same twice in a row and `also()` holds (bounded);
    the last states read if that never happens."""
    deadline = time.monotonic() + within_seconds
    previous: list[State] = []
    while True:
        states = [read_state(node, accounts, server_errors) for node in nodes]
        settled = all(state.same_data_as(states[0]) for state in states) and (
            bool(previous) and states[0].same_data_as(previous[0])
        )
        if (settled and also()) or time.monotonic() >= deadline:
            return states
        previous = states
        time.sleep(0.5)


def count_outcomes(records: list[KeyRecord]) -> Counter[str]:
    counts = Counter(record.outcome for record in records)
    return Counter({outcome: counts[outcome] for outcome in OUTCOMES})
