"""Round trips to dqlite per request, read from the app's `dqlite_round_trips_total` counter."""

import time
import urllib.request
from collections.abc import Callable
from functools import partial

from tools.bench.client import get, post

METRIC = "dqlite_round_trips_total"
WARM_UP, REQUESTS, REPEATS = 5, 50, 3


def counter(url: str) -> float | None:
    """The counter's total over its labels, or None if the app exports no such counter."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as answer:
        lines = answer.read().decode().splitlines()
    samples = [
        float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith(METRIC) and line[len(METRIC) : len(METRIC) + 1] in (" ", "{")
    ]
    return sum(samples) if samples else None


def _counted(url: str, during: Callable[[], object]) -> float:
    before = counter(url) or 0.0
    during()
    return (counter(url) or 0.0) - before


def per_request(url: str, send: Callable[[int], object]) -> float | None:
    """Round trips per request: REQUESTS sequential ones after WARM_UP, less what as long a
    wait with no request counts (each read of /metrics, the app's own loops). The app's
    outbox relays make round trips in bursts, which only add: the least of REPEATS such
    readings is taken, of the requests and of the waits."""
    for n in range(WARM_UP):
        send(n)
    if counter(url) is None:
        return None
    sent = iter(range(WARM_UP, WARM_UP + REPEATS * REQUESTS))
    loaded, idle = [], []
    for _ in range(REPEATS):
        started = time.monotonic()
        loaded.append(_counted(url, lambda: [send(next(sent)) for _ in range(REQUESTS)]))
        elapsed = time.monotonic() - started
        idle.append(_counted(url, partial(time.sleep, elapsed)))
    return round((min(loaded) - min(idle)) / REQUESTS, 2)


def measure_round_trips(url: str, authorization: str, accounts: int) -> dict[str, float | None]:
    """A point read, a one-row insert and a transfer, against the app at `url`."""

    def read(n: int) -> object:
        return get(f"{url}/todos/seed-1", authorization)

    def insert(n: int) -> object:
        return post(f"{url}/todos", {"key": f"round-trips-{n}", "value": "v"}, authorization)

    def transfer(n: int) -> object:
        body: dict[str, object] = {
            "from_account": 1,
            "to_account": 1 % accounts + 1,
            "amount_cents": 1,
        }
        headers = {"Idempotency-Key": f"round-trips-{n}"}
        return post(f"{url}/transfers", body, authorization, headers)

    sends = {"GET /todos/{key}": read, "POST /todos": insert, "POST /transfers": transfer}
    found = {target: per_request(url, send) for target, send in sends.items()}
    for target, count in found.items():
        shown = "not exported by the app" if count is None else f"{count:.2f}"
        print(f"  round trips per request, {target:<18}: {shown}", flush=True)
    return found
