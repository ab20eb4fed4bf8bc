"""The raw Python wire client on one connection: what the driver alone can do."""

import asyncio
import time
from collections.abc import Awaitable, Callable

from dqliteclient import connect

from tools.bench.measure import Figure, from_latencies


async def _timed(seconds: float, operation: Callable[[], Awaitable[None]]) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while (started := time.perf_counter()) < deadline:
        await operation()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def raw_client(address: str, seconds: float) -> list[Figure]:
    """INSERT transactions (BEGIN IMMEDIATE, INSERT, COMMIT), then point SELECTs."""
    connection = await connect(address, database="raw_bench")
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)")
        counter = iter(range(10**9))

        async def insert() -> None:
            await connection.execute("BEGIN IMMEDIATE")
            await connection.execute("INSERT INTO kv VALUES (?, ?)", [f"k{next(counter)}", "v"])
            await connection.execute("COMMIT")

        async def select() -> None:
            await connection.fetchone("SELECT v FROM kv WHERE k = ?", ["k1"])

        writes = await _timed(seconds, insert)
        reads = await _timed(seconds, select)
    finally:
        await connection.close()
    return [
        from_latencies("raw INSERT transaction", "node", 1, writes, seconds, 0),
        from_latencies("raw point SELECT", "node", 1, reads, seconds, 0),
    ]


def measure_raw_client(address: str, seconds: float) -> list[Figure]:
    return asyncio.run(raw_client(address, seconds))
