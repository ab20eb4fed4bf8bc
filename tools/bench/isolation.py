"""Point reads by key while 16 clients repeat the costliest list request on the same node.

libdqlite 1.11 runs every statement of every connection of a node on one thread: a long
statement delays everyone's. The reads go over a raw `dqliteclient` connection (the driver
alone) and through the app (GET /todos/{key}, with wrk), both at once: first alone, then under
the load.

Each of them waits for the one before, so a stall holds back the reads that would have been
made meanwhile, and their quantiles leave it out (coordinated omission). The raw reads' p99 is
also given as HdrHistogram corrects it, for a client that wants a read every INTERVAL_MS: a
read that took L ms counts too the reads it held back, which waited L - INTERVAL_MS, L - 2 x
INTERVAL_MS, ... The target is judged on that one.
"""

import asyncio
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from dqliteclient import connect

from tools.bench.apps import App
from tools.bench.fill import todo_key
from tools.bench.measure import wrk

CLIENTS = 16
TARGET_P99_MS = 20.0
INTERVAL_MS = 1.0
READ = "SELECT value, done FROM todos WHERE owner = ? AND key = ?"


async def _raw_reads(
    address: str, database: str, owner: str, rows: int, seconds: float
) -> list[float]:
    connection = await connect(address, database=database)
    latencies: list[float] = []
    try:
        deadline = time.perf_counter() + seconds
        while (started := time.perf_counter()) < deadline:
            await connection.fetchone(READ, [owner, todo_key(random.randint(1, rows))])
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        await connection.close()
    return latencies


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _held_back(latencies: list[float]) -> list[float]:
    """The reads a client wanting one every INTERVAL_MS would have waited on as well."""
    held: list[float] = []
    for latency in latencies:
        held.extend(latency - k * INTERVAL_MS for k in range(1, int(latency / INTERVAL_MS)))
    return held


def _spread(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "reads": len(ordered),
        "p50_ms": statistics.median(ordered),
        "p99_ms": _p99(ordered),
        "max_ms": ordered[-1],
        "p99_corrected_ms": _p99(sorted(ordered + _held_back(ordered))),
    }


def _of_wrk(summary: dict[str, float]) -> dict[str, float]:
    return {
        "reads": summary["requests"],
        "p50_ms": summary["p50_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "max_ms": summary["max_us"] / 1000,
        "errors": summary["status_errors"] + summary["timeouts"],
    }


def _both(
    app: App, owner: tuple[str, str], rows: int, seconds: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Raw and app point reads of `owner`'s todos (subject, Authorization), at once."""
    subject, authorization = owner
    by_key = ["isolation", f"/todos/{todo_key(rows // 2)}"]
    database = app.env["APP_DATABASE_PREFIX"] + "todos"
    with ThreadPoolExecutor(1) as pool:
        through_app = pool.submit(wrk, app.url, "get_path.lua", 1, seconds, by_key, authorization)
        raw = asyncio.run(_raw_reads(app.env["APP_NODE_ADDRESS"], database, subject, rows, seconds))
        return _spread(raw), _of_wrk(through_app.result())


def measure_isolation(
    app: App, owner: tuple[str, str], rows: int, load: tuple[str, str, str], seconds: float
) -> dict[str, object]:
    """Point reads of `owner`'s todos (subject, Authorization) alone, then while CLIENTS
    clients repeat `load` (its name, path, and Authorization)."""
    name, path, load_authorization = load
    raw_alone, app_alone = _both(app, owner, rows, seconds)
    with ThreadPoolExecutor(1) as pool:
        arguments = ["load", path]
        loading = pool.submit(
            wrk, app.url, "get_path.lua", CLIENTS, seconds + 2, arguments, load_authorization
        )
        time.sleep(0.5)  # the load's clients connected and busy
        raw_loaded, app_loaded = _both(app, owner, rows, seconds)
        under = loading.result()
    return {
        "load": {"request": name, "clients": CLIENTS, **_of_wrk(under)},
        "seconds": seconds,
        "raw_alone": raw_alone,
        "raw_loaded": raw_loaded,
        "app_alone": app_alone,
        "app_loaded": app_loaded,
        "target_p99_ms": TARGET_P99_MS,
        "met": raw_loaded["p99_corrected_ms"] <= TARGET_P99_MS,
    }
