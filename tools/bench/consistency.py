"""The price of a read that cannot be stale: an account read by its id at each consistency level
(`leader`, `linearizable`), 1 and 16 readers, through the app's store; and 16 writers alone
against the same writers beside 16 linearizable readers, whose read barriers take the writers'
turns too. In a process of its own, on the nodes of the backend's apps.
"""

import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor

from adapters.contexts import CONTEXTS, context_named
from adapters.dqlite.engine import dqlite_url
from adapters.dqlite.migrations import upgrade_to_head
from domain.principals import Principal
from service.contexts import BankUnitOfWork
from service.unit_of_work import Consistency
from tools.bench.measure import Figure, from_latencies

READERS = (1, 16)
WRITERS = 16
LEVELS: tuple[Consistency, ...] = ("leader", "linearizable")
BANK = context_named("bank", CONTEXTS)
OWNER = Principal("bench")


def read_target(level: str) -> str:
    return f"store read by id, {level}"


WRITES_ALONE = f"store writes, {WRITERS} writers alone"
WRITES_BESIDE = f"store writes, {WRITERS} writers beside {WRITERS} linearizable readers"


def measure_consistency(addresses: list[str], backend: str, seconds: float) -> list[Figure]:
    prefix = f"bench_{uuid.uuid4().hex[:8]}_"
    upgrade_to_head(dqlite_url(addresses[0], prefix + BANK.name, driver=""), BANK.name)
    with ProcessPoolExecutor(1) as pool:
        return pool.submit(_measure, addresses, backend, prefix, seconds).result()


def _measure(addresses: list[str], backend: str, prefix: str, seconds: float) -> list[Figure]:
    return asyncio.run(_measured(addresses, backend, prefix, seconds))


async def _measured(
    addresses: list[str], backend: str, prefix: str, seconds: float
) -> list[Figure]:
    from adapters.dqlite.store import DqliteStore  # imported in the worker process
    from service import accounts

    store = DqliteStore(
        address=addresses[0],
        peers=addresses[1:],
        node=None,
        pool_size=WRITERS + max(READERS),
        statement_timeout=5.0,
        startup_timeout=30.0,
        migrate=False,  # done once, before
        contexts=(BANK,),
        database_prefix=prefix,
    )
    await store.start()

    async def read(level: Consistency) -> None:
        uow = store.unit_of_work(BankUnitOfWork)
        async with uow.read_only(snapshot=False, consistency=level):
            await uow.accounts.get(1)

    async def write() -> None:
        await accounts.open_account(store.unit_of_work(BankUnitOfWork), OWNER, "bench", 0)

    figures = []
    try:
        await write()  # the account every read reads
        for level in LEVELS:
            for readers in READERS:
                latencies = await _for(seconds, [(functools.partial(read, level), readers)])
                figures.append(_figure(read_target(level), backend, readers, latencies, seconds))
        alone = await _for(seconds, [(write, WRITERS)])
        linearizable_reads = functools.partial(read, "linearizable")
        beside = await _for(seconds, [(write, WRITERS), (linearizable_reads, WRITERS)])
    finally:
        await store.stop()
    figures.append(_figure(WRITES_ALONE, backend, WRITERS, alone, seconds))
    figures.append(_figure(WRITES_BESIDE, backend, WRITERS, beside, seconds))
    return figures


async def _for(
    seconds: float, loads: list[tuple[Callable[[], Awaitable[None]], int]]
) -> list[float]:
    """Run each load's operation from its number of clients for `seconds`; the latencies (ms)
    of the first load's operations."""
    deadline = time.monotonic() + seconds
    timed: list[list[float]] = [[] for _ in loads]

    async def client(operation: Callable[[], Awaitable[None]], latencies: list[float]) -> None:
        while (started := time.monotonic()) < deadline:
            await operation()
            latencies.append((time.monotonic() - started) * 1000)

    await asyncio.gather(
        *(
            client(operation, latencies)
            for (operation, clients), latencies in zip(loads, timed, strict=True)
            for _ in range(clients)
        )
    )
    return timed[0]


def _figure(
    target: str, backend: str, clients: int, latencies: list[float], seconds: float
) -> Figure:
    return from_latencies(target, backend, clients, latencies, seconds, 0)
