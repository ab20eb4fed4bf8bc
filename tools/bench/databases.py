"""Writers on one database against the same writers split over two databases of one node.

dqlite has one writer per database: units of work on different databases (bounded contexts,
each with a database of its own) need not wait for each other. Two processes of writers, each
with the app's store (its writers' queue and group commit) and `create_todo`, run at once:
both on one database, then one on each of two. Two processes, not one, so that the Python
of the writers is not what limits both cases.
"""

import asyncio
import time
import uuid
from concurrent.futures import ProcessPoolExecutor

from adapters.dqlite.engine import dqlite_url
from adapters.dqlite.migrations import upgrade_to_head
from tools.bench.measure import Figure, from_latencies

WRITERS_PER_PROCESS = 16
CLIENTS = 2 * WRITERS_PER_PROCESS
START_AFTER_SECONDS = 5.0  # time for both processes to import, connect and migrate


def measure_databases(address: str, seconds: float) -> list[Figure]:
    run = uuid.uuid4().hex[:8]
    one, a, b = (f"bench_{name}_{run}" for name in ("one", "a", "b"))
    for database in (one, a, b):
        upgrade_to_head(dqlite_url(address, database, driver=""), None)
    clients = CLIENTS
    return [
        from_latencies(
            "store writes, one database",
            "node",
            clients,
            _at_once(address, [one, one], seconds),
            seconds,
            0,
        ),
        from_latencies(
            "store writes, two databases at once",
            "node",
            clients,
            _at_once(address, [a, b], seconds),
            seconds,
            0,
        ),
    ]


def _at_once(address: str, databases: list[str], seconds: float) -> list[float]:
    """Every write's latency (ms), from one process of writers per database given."""
    start_at = time.time() + START_AFTER_SECONDS
    with ProcessPoolExecutor(len(databases)) as pool:
        runs = [
            pool.submit(_timed_writes, address, database, start_at, seconds)
            for database in databases
        ]
        return [latency for done in runs for latency in done.result()]


def _timed_writes(address: str, database: str, start_at: float, seconds: float) -> list[float]:
    return asyncio.run(_writes(address, database, start_at, seconds))


async def _writes(address: str, database: str, start_at: float, seconds: float) -> list[float]:
    from adapters.dqlite.store import DqliteStore  # imported in the worker process
    from service.todos import create_todo

    store = DqliteStore(
        address=address,
        database=database,
        peers=[],
        node=None,
        pool_size=WRITERS_PER_PROCESS,
        statement_timeout=5.0,
        startup_timeout=30.0,
        migrate=False,  # done once, before
    )
    await store.start()
    latencies: list[float] = []
    tag = uuid.uuid4().hex[:8]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + seconds

    async def writer(n: int) -> None:
        while (started := time.monotonic()) < deadline:
            key = f"{tag}-{n}-{len(latencies)}"
            await create_todo(store.unit_of_work(), key, "benchmark")
            latencies.append((time.monotonic() - started) * 1000)

    try:
        await asyncio.gather(*(writer(n) for n in range(WRITERS_PER_PROCESS)))
    finally:
        await store.stop()
    return latencies
