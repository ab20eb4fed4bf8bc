"""Retrying a whole use case while the database is briefly unavailable (e.g. an election)."""

import asyncio
import functools
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Protocol

from service.errors import OutcomeUnknown, StoreFull, StoreUnavailable

if TYPE_CHECKING:  # the unit of work holds its retry settings: it imports this module
    from opentelemetry.trace import Span

    from service.unit_of_work import AbstractUnitOfWork


@dataclass(frozen=True)
class RetrySettings:
    """How long use cases keep trying while the store is unavailable."""

    budget_seconds: float = 8.0
    first_delay: float = 0.05
    max_delay: float = 1.0


@dataclass
class RetryCounters:
    """What retrying did so far, shared by every unit of work of a store (/metrics reads it)."""

    retries: int = 0
    unknown_outcomes: int = 0
    gave_up: int = 0


class Backoff:
    def __init__(self, settings: RetrySettings, counters: RetryCounters) -> None:
        self._settings = settings
        self._counters = counters
        self._deadline = time.monotonic() + settings.budget_seconds
        self._delay = settings.first_delay

    def exhausted(self) -> bool:
        return time.monotonic() + self._delay > self._deadline

    async def wait(self) -> None:
        self._counters.retries += 1
        await asyncio.sleep(self._delay * random.uniform(0.5, 1.0))  # jitter spreads retries
        self._delay = min(self._delay * 2, self._settings.max_delay)


class UseCaseDecorator(Protocol):
    def __call__[U: AbstractUnitOfWork, **P, T](
        self, use_case: Callable[Concatenate[U, P], Coroutine[Any, Any, T]], /
    ) -> Callable[Concatenate[U, P], Coroutine[Any, Any, T]]: ...


def _retry_attributes(attempt: int, refusal: Exception) -> dict[str, str | int]:
    """What a use case's span notes of an attempt the store refused, before the next."""
    return {"attempt": attempt, "error.type": type(refusal).__name__, "error.message": str(refusal)}


def retried(*, idempotent: bool) -> UseCaseDecorator:
    """Run the use case again, with backoff, while the store refuses it cleanly.

    A commit whose outcome is unknown is retried only for an `idempotent` use case (one
    that cannot apply twice), or one whose unit of work stores its answer under the request's
    idempotency key (a retry then finds that answer if the commit landed); otherwise it is
    reported. When tracing, the use case is a span, and each attempt refused an event on it.
    """

    def decorate[U: AbstractUnitOfWork, **P, T](
        use_case: Callable[Concatenate[U, P], Coroutine[Any, Any, T]], /
    ) -> Callable[Concatenate[U, P], Coroutine[Any, Any, T]]:
        name = getattr(use_case, "__name__", type(use_case).__name__)
        qualified = f"{use_case.__module__}.{getattr(use_case, '__qualname__', name)}"
        code = {"code.function.name": qualified}

        @functools.wraps(use_case)
        async def run(uow: U, /, *args: P.args, **kwargs: P.kwargs) -> T:
            with uow.tracing.span(name, attributes=code) as span:
                attempt = functools.partial(use_case, uow, *args, **kwargs)
                return await _retrying(attempt, uow, idempotent=idempotent, span=span)

        return run

    return decorate


async def _retrying[T](
    attempt: Callable[[], Coroutine[Any, Any, T]],
    uow: "AbstractUnitOfWork",
    *,
    idempotent: bool,
    span: "Span | None",
) -> T:
    counters = uow.retry_counters
    backoff = Backoff(uow.retry_settings, counters)
    uncertain: OutcomeUnknown | None = None  # an earlier attempt may have committed
    refusal: Exception
    attempts = 0
    while True:
        attempts += 1
        try:
            return await attempt()
        except OutcomeUnknown as unknown:
            counters.unknown_outcomes += 1
            uncertain = refusal = unknown
            if not (idempotent or uow.answering) or backoff.exhausted():
                raise
        except StoreFull as full:  # no brief unavailability: retrying cannot outlast it
            counters.gave_up += 1
            if uncertain is not None:
                raise uncertain from full
            raise
        except StoreUnavailable as unavailable:
            refusal = unavailable
            if backoff.exhausted():
                counters.gave_up += 1
                if uncertain is not None:  # "nothing was written" would not be true
                    raise uncertain from unavailable
                raise
        if span is not None:
            span.add_event("retry", _retry_attributes(attempts, refusal))
        await backoff.wait()
