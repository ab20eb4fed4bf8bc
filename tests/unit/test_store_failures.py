"""What the API and the units of work do when the store cannot take a transaction."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from adapters.unit_of_work import InMemoryStore, InMemoryUnitOfWork, _raise_as_unit_of_work_error
from domain.todos import Todo, TodoKey
from service.unit_of_work import OutcomeUnknown, StoreUnavailable


class LockedError(Exception):
    code = 5  # SQLITE_BUSY, as dqlite-dbapi reports "database is locked"


class AmbiguousCommitError(Exception):
    """Named as dqlite-dbapi's: the unit of work classifies by class name, not by import."""


@pytest.mark.parametrize(
    ("driver_error", "expected"),
    [
        (LockedError("database is locked"), StoreUnavailable),
        (AmbiguousCommitError(), OutcomeUnknown),
    ],
)
def test_the_drivers_errors_become_the_service_layers(
    driver_error: Exception, expected: type[Exception]
) -> None:
    with pytest.raises(expected):
        _raise_as_unit_of_work_error(OperationalError("COMMIT", {}, driver_error))


def test_other_driver_errors_are_left_as_they_are() -> None:
    _raise_as_unit_of_work_error(OperationalError("SELECT", {}, ValueError("syntax error")))


class FailingUnitOfWork(InMemoryUnitOfWork):
    def __init__(self, error: Exception) -> None:
        super().__init__(InMemoryStore())
        self.error = error

    async def commit(self) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "retry_after", "says"),
    [
        (StoreUnavailable("database is locked"), "1", "could not take the request"),
        (OutcomeUnknown("leadership lost"), None, "may or may not have been applied"),
    ],
)
async def test_a_store_failure_is_a_503_problem_that_says_whether_to_retry(
    app: FastAPI,
    client: httpx.AsyncClient,
    error: Exception,
    retry_after: str | None,
    says: str,
) -> None:
    app.state.unit_of_work_factory = lambda: FailingUnitOfWork(error)

    response = await client.post("/todos", json={"key": "k"})

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get("retry-after") == retry_after
    assert says in response.json()["detail"]


async def test_in_memory_writers_take_turns_while_readers_do_not_wait(
    store: InMemoryStore,
) -> None:
    async with InMemoryUnitOfWork(store) as first:
        await first.todos.add(Todo.create("k", "v"))
        second_enters = asyncio.create_task(InMemoryUnitOfWork(store).__aenter__())
        await asyncio.sleep(0.01)
        assert not second_enters.done()  # the second writer waits for the first...
        async with InMemoryUnitOfWork(store).read_only() as reader:  # ...a reader does not,
            assert await reader.todos.get(TodoKey("k")) is None  # and sees what is committed
        await first.commit()
    second = await second_enters
    try:
        assert await second.todos.get(TodoKey("k")) == Todo.create("k", "v")
    finally:
        await second.__aexit__(None, None, None)


async def test_an_in_memory_writer_gives_up_as_unavailable_after_the_wait(
    store: InMemoryStore,
) -> None:
    async with InMemoryUnitOfWork(store):
        late = InMemoryUnitOfWork(store)
        late.lock_wait_seconds = 0.01
        with pytest.raises(StoreUnavailable, match="write lock"):
            await late.__aenter__()
