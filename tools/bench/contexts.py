"""Writers in one bounded context against the same writers split over two contexts.

dqlite has one writer per database, and each context has a database of its own: units of work
of different contexts need not wait for each other. Two processes of writers, each with the
app's store (its contexts, each with a writers' queue and group commit) and the app's
`create_todo`, run at once: first both in the todos context, then one in the todos context and
one in a second context. So that both cases carry the same load, the second context here holds
the same aggregate: `ErrandsUnitOfWork` is a context of the bench's own, with the todos'
repository on a database of its own. Two processes, not one, so that the Python of the writers
is not what limits both cases.
"""

import asyncio
import time
import uuid
from concurrent.futures import ProcessPoolExecutor

from adapters.contexts import CONTEXTS, Context, context_named
from adapters.dqlite.engine import dqlite_url
from adapters.dqlite.migrations import upgrade_to_head
from domain.principals import Principal
from service.contexts import TodosUnitOfWork
from tools.bench.measure import Figure, from_latencies

WRITERS_PER_PROCESS = 16
CLIENTS = 2 * WRITERS_PER_PROCESS
WRITER = Principal("bench")
START_AFTER_SECONDS = 5.0  # time for both processes to import, connect and migrate


class ErrandsUnitOfWork(TodosUnitOfWork):
    """A second context with the todos' repository: the same writes, another database."""


TODOS = context_named("todos", CONTEXTS)
ERRANDS = Context("errands", ErrandsUnitOfWork, TODOS.registrations)


def measure_contexts(address: str, seconds: float) -> list[Figure]:
    prefix = f"bench_{uuid.uuid4().hex[:8]}_"
    upgrade_to_head(dqlite_url(address, prefix + TODOS.name, driver=""), TODOS.name)
    _create_tables(address, prefix + ERRANDS.name)
    return [
        from_latencies(
            "store writes, one context",
            "node",
            CLIENTS,
            _at_once(address, prefix, [TODOS.name, TODOS.name], seconds),
            seconds,
            0,
        ),
        from_latencies(
            "store writes, two contexts at once",
            "node",
            CLIENTS,
            _at_once(address, prefix, [TODOS.name, ERRANDS.name], seconds),
            seconds,
            0,
        ),
    ]


def _create_tables(address: str, database: str) -> None:
    """The errands context has no migrations of its own: its tables are the todos'."""
    from sqlalchemy import create_engine

    engine = create_engine(dqlite_url(address, database, driver=""))
    try:
        ERRANDS.metadata.create_all(engine)
    finally:
        engine.dispose()


def _at_once(address: str, prefix: str, contexts: list[str], seconds: float) -> list[float]:
    """Every write's latency (ms), from one process of writers per context given."""
    start_at = time.time() + START_AFTER_SECONDS
    with ProcessPoolExecutor(len(contexts)) as pool:
        runs = [
            pool.submit(_timed_writes, address, prefix, context, start_at, seconds)
            for context in contexts
        ]
        return [latency for done in runs for latency in done.result()]


def _timed_writes(
    address: str, prefix: str, context: str, start_at: float, seconds: float
) -> list[float]:
    return asyncio.run(_writes(address, prefix, context, start_at, seconds))


async def _writes(
    address: str, prefix: str, context: str, start_at: float, seconds: float
) -> list[float]:
    from adapters.dqlite.store import DqliteStore  # imported in the worker process
    from service.todos import create_todo

    store = DqliteStore(
        address=address,
        peers=[],
        node=None,
        pool_size=WRITERS_PER_PROCESS,
        statement_timeout=5.0,
        startup_timeout=30.0,
        migrate=False,  # done once, before
        contexts=(TODOS, ERRANDS),
        database_prefix=prefix,
    )
    await store.start()
    unit_of_work = ErrandsUnitOfWork if context == ERRANDS.name else TodosUnitOfWork
    latencies: list[float] = []
    tag = uuid.uuid4().hex[:8]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + seconds

    async def writer(n: int) -> None:
        while (started := time.monotonic()) < deadline:
            key = f"{tag}-{n}-{len(latencies)}"
            await create_todo(store.unit_of_work(unit_of_work), WRITER, key, "benchmark")
            latencies.append((time.monotonic() - started) * 1000)

    try:
        await asyncio.gather(*(writer(n) for n in range(WRITERS_PER_PROCESS)))
    finally:
        await store.stop()
    return latencies
