"""Use cases run again while the store refuses them cleanly, within a time budget."""

import pytest

from adapters.memory.store import InMemoryStore
from service.errors import OutcomeUnknown, StoreFull, StoreUnavailable
from service.retry import RetryCounters, RetrySettings, retried
from service.unit_of_work import AbstractUnitOfWork
from tests.unit.probe_routes import PROBE, ProbeUnitOfWork


class Script:
    """A use case that fails with the given errors, in order, then returns 'done'."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.runs = 0

    async def __call__(self, uow: AbstractUnitOfWork) -> str:
        self.runs += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def uow_with(counters: RetryCounters, budget_seconds: float = 5.0) -> ProbeUnitOfWork:
    settings = RetrySettings(budget_seconds=budget_seconds, first_delay=0.001, max_delay=0.01)
    return InMemoryStore(settings, counters, contexts=(PROBE,)).unit_of_work(ProbeUnitOfWork)


async def test_a_use_case_refused_cleanly_runs_again_until_it_succeeds() -> None:
    counters, script = (
        RetryCounters(),
        Script(StoreUnavailable("no leader"), StoreUnavailable("busy")),
    )

    assert await retried(idempotent=False)(script)(uow_with(counters)) == "done"
    assert (script.runs, counters.retries, counters.gave_up) == (3, 2, 0)


async def test_an_unknown_outcome_is_reported_at_once_when_running_again_could_apply_twice() -> (
    None
):
    counters, script = RetryCounters(), Script(OutcomeUnknown("leadership lost during COMMIT"))

    with pytest.raises(OutcomeUnknown):
        await retried(idempotent=False)(script)(uow_with(counters))
    assert (script.runs, counters.retries, counters.unknown_outcomes) == (1, 0, 1)


async def test_an_unknown_outcome_is_retried_when_the_use_case_is_idempotent() -> None:
    counters, script = RetryCounters(), Script(OutcomeUnknown("leadership lost during COMMIT"))

    assert await retried(idempotent=True)(script)(uow_with(counters)) == "done"
    assert (script.runs, counters.unknown_outcomes) == (2, 1)


async def test_a_store_that_stays_unavailable_past_the_budget_is_given_up_on() -> None:
    counters = RetryCounters()
    script = Script(*[StoreUnavailable("no leader")] * 1000)

    with pytest.raises(StoreUnavailable):
        await retried(idempotent=True)(script)(uow_with(counters, budget_seconds=0.05))
    assert counters.gave_up == 1
    assert 1 < script.runs < 1000


async def test_other_errors_are_not_retried() -> None:
    counters, script = RetryCounters(), Script(ValueError("a bug"))

    with pytest.raises(ValueError, match="a bug"):
        await retried(idempotent=True)(script)(uow_with(counters))
    assert (script.runs, counters.retries) == (1, 0)


async def test_running_out_of_budget_after_an_unknown_outcome_still_reports_it_unknown() -> None:
    counters = RetryCounters()
    script = Script(OutcomeUnknown("lost COMMIT"), *[StoreUnavailable("no leader")] * 1000)

    with pytest.raises(OutcomeUnknown, match="lost COMMIT"):
        await retried(idempotent=True)(script)(uow_with(counters, budget_seconds=0.05))
    assert counters.gave_up == 1


async def test_a_store_out_of_disk_space_is_reported_at_once_not_retried() -> None:
    counters, script = RetryCounters(), Script(StoreFull("disk I/O error"))

    with pytest.raises(StoreFull):
        await retried(idempotent=True)(script)(uow_with(counters))
    assert (script.runs, counters.retries, counters.gave_up) == (1, 0, 1)


async def test_a_full_disk_after_an_unknown_outcome_still_reports_it_unknown() -> None:
    counters = RetryCounters()
    script = Script(OutcomeUnknown("lost COMMIT"), StoreFull("disk I/O error"))

    with pytest.raises(OutcomeUnknown, match="lost COMMIT"):
        await retried(idempotent=True)(script)(uow_with(counters))
