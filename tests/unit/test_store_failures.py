"""What the API and the units of work do when the store cannot take a transaction."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.dqlite.errors import classify
from adapters.memory.store import InMemoryStore, InMemoryUnitOfWork
from entrypoints.request_ids import RequestIdFilter
from service.errors import OutcomeUnknown, StoreFull, StoreUnavailable
from service.retry import RetryCounters, RetrySettings
from tests.unit.probe_routes import PROBE, ProbeUnitOfWork, new_unit_of_work


class LockedError(Exception):
    code = 5  # SQLITE_BUSY, as dqlite-dbapi reports "database is locked"


class DriverError(Exception):
    """Stands for dqlite-dbapi's errors, which carry the SQLite extended code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"code {code}")
        self.code = code


class AmbiguousCommitError(Exception):
    """Named as dqlite-dbapi's: the unit of work classifies by class name, not by import."""


def lost_connection(statement: str) -> OperationalError:
    return OperationalError(statement, {}, ConnectionResetError(), connection_invalidated=True)


@pytest.mark.parametrize(
    ("error", "during_commit", "expected"),
    [
        (
            OperationalError("INSERT", {}, LockedError("database is locked")),
            False,
            StoreUnavailable,
        ),
        (OperationalError("COMMIT", {}, LockedError("database is locked")), True, StoreUnavailable),
        (OperationalError("COMMIT", {}, AmbiguousCommitError()), True, OutcomeUnknown),
        (lost_connection("SELECT 1"), False, StoreUnavailable),
        (lost_connection("COMMIT"), True, OutcomeUnknown),
        (DriverError(10250), False, StoreUnavailable),  # not leader, raised unwrapped
        (OperationalError("INSERT", {}, DriverError(7)), False, StoreUnavailable),
        (OperationalError("COMMIT", {}, DriverError(7)), True, OutcomeUnknown),
        (IntegrityError("COMMIT", {}, DriverError(787)), True, type(None)),
        (OperationalError("COMMIT", {}, DriverError(778)), True, StoreFull),  # IOERR_WRITE
        (OperationalError("COMMIT", {}, DriverError(13)), True, StoreFull),  # SQLITE_FULL
        (OperationalError("INSERT", {}, DriverError(13)), False, StoreFull),
        (OperationalError("SELECT", {}, ValueError("syntax error")), False, type(None)),
    ],
    ids=[
        "busy",
        "busy-at-commit",
        "ambiguous",
        "lost-before-commit",
        "lost-at-commit",
        "not-leader-unwrapped",
        "nomem-while-leadership-moves",
        "nomem-at-commit",
        "constraint-at-commit",
        "log-write-failed-at-commit",
        "full-at-commit",
        "full-before-commit",
        "other",
    ],
)
def test_a_driver_error_is_unavailable_before_commit_and_of_unknown_outcome_during_it(
    error: Exception, during_commit: bool, expected: type
) -> None:
    assert type(classify(error, during_commit=during_commit)) is expected


class FailingUnitOfWork(InMemoryUnitOfWork, ProbeUnitOfWork):
    def __init__(self, error: Exception, counters: RetryCounters) -> None:
        settings = RetrySettings(budget_seconds=0.2, first_delay=0.01)
        store = InMemoryStore(settings, counters, contexts=(PROBE,))
        super().__init__(store, store.databases[ProbeUnitOfWork])
        self.error = error

    async def commit(self, result: object = None) -> None:
        raise self.error


def probes_fail_with(app: FastAPI, error: Exception, counters: RetryCounters) -> None:
    """Every request to the probe's write gets a unit of work whose commit raises `error`."""

    async def failing() -> ProbeUnitOfWork:
        return FailingUnitOfWork(error, counters)

    app.dependency_overrides[new_unit_of_work] = failing


@pytest.mark.parametrize(
    ("error", "status", "retry_after", "says", "retried"),
    [
        (StoreUnavailable("locked"), 503, "1", "nothing was changed, try again", True),
        (OutcomeUnknown("leadership lost"), 503, None, "may or may not have been applied", False),
        (StoreFull("disk I/O error"), 507, "30", "no disk space left", False),
    ],
)
async def test_a_store_failure_is_a_problem_that_says_whether_and_when_to_retry(
    app: FastAPI,
    client: httpx.AsyncClient,
    error: Exception,
    status: int,
    retry_after: str | None,
    says: str,
    retried: bool,
) -> None:
    counters = RetryCounters()
    probes_fail_with(app, error, counters)

    response = await client.post("/probe")

    assert (counters.retries > 0) is retried  # the probe's write is not idempotent
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get("retry-after") == retry_after
    assert says in response.json()["detail"]


async def test_a_503_keeps_the_drivers_words_and_addresses_in_the_log_under_the_request_id(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())  # as `python -m entrypoints` sets up logging
    driver_says = "database is locked to 127.0.0.1:9301"
    probes_fail_with(app, StoreUnavailable(driver_says), RetryCounters())

    response = await client.post("/probe", headers={"X-Request-ID": "req-42"})

    assert response.status_code == 503
    assert "127.0.0.1" not in response.text
    assert "locked" not in response.text
    assert response.json()["request_id"] == "req-42" == response.headers["x-request-id"]
    logged = [r for r in caplog.records if driver_says in r.getMessage()]
    assert [getattr(r, "request_id", None) for r in logged] == ["req-42"]


@pytest.fixture
def probe_store() -> InMemoryStore:
    return InMemoryStore(contexts=(PROBE,))


def probe_unit_of_work(store: InMemoryStore) -> InMemoryUnitOfWork:
    uow = store.unit_of_work(ProbeUnitOfWork)
    assert isinstance(uow, InMemoryUnitOfWork)
    return uow


async def test_in_memory_writers_take_turns_while_readers_do_not_wait(
    probe_store: InMemoryStore,
) -> None:
    # What each sees meanwhile is the contract suite's (test_unit_of_work.py), per aggregate;
    # that writers of different contexts do not wait for each other, test_registration.py's.
    async with probe_unit_of_work(probe_store) as first:
        second_enters = asyncio.create_task(probe_unit_of_work(probe_store).__aenter__())
        await asyncio.sleep(0.01)
        assert not second_enters.done()  # the second writer waits for the first...
        async with asyncio.timeout(1), probe_unit_of_work(probe_store).read_only():
            pass  # ...a reader does not
        await first.commit()
    second = await asyncio.wait_for(second_enters, 1)
    await second.__aexit__(None, None, None)


async def test_an_in_memory_writer_gives_up_as_unavailable_after_the_wait(
    probe_store: InMemoryStore,
) -> None:
    async with probe_unit_of_work(probe_store):
        late = probe_unit_of_work(probe_store)
        late.lock_wait_seconds = 0.01
        with pytest.raises(StoreUnavailable, match="write lock"):
            await late.__aenter__()
