"""The outbox relay: delivers stored events to the message bus from one process at a time
(the holder of a lease kept in the store), at least once and in order per stream."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.trace import SpanKind

from service.messagebus import MessageBus
from service.outbox import OutboxBell, OutboxCounts, StoredEvent, now_ms
from service.tracing import Tracing
from service.unit_of_work import UnitOfWorkFactory

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelaySettings:
    poll_seconds: float = 0.2  # how soon the lease holder looks again after delivering
    lease_seconds: float = 5.0  # how long a relay that stopped answering keeps the others out
    max_attempts: int = 5  # failed deliveries before an event is parked
    first_retry_seconds: float = 0.5  # doubled after each failure
    batch: int = 100
    keep_delivered_seconds: float = 86_400.0
    keep_answers_seconds: float = 86_400.0  # the stored answers of requests sent with a key
    prune_batch: int = 1000  # rows deleted per transaction


@dataclass
class RelayFigures:
    delivered: int = 0
    failed: int = 0
    parked: int = 0
    holding: bool = False


class OutboxRelay:
    """Run `run()` as a task in every app process; only the lease holder delivers. When it
    stops answering, another takes the lease once it expires and delivers what is left,
    including events the first had delivered but not yet marked (handlers are idempotent).

    The holder looks again soon after delivering, at once when this process commits events
    to its outbox, and otherwise every lease_seconds / 5 (events that other processes
    commit wait that long at most).
    """

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        bus: MessageBus,
        holder: str,
        settings: RelaySettings | None = None,
        clock_ms: Callable[[], int] = now_ms,
        *,
        context: str = "",
        bell: OutboxBell | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        """`bell`: the one this process's commits of events to the outbox ring (the store's);
        without it, the relay finds events at its idle polls only. While `tracing`, each
        delivery is a span in the trace of the request that stored the event."""
        self._unit_of_work = unit_of_work
        self._tracing = tracing or Tracing()
        self._outbox_bell = bell or OutboxBell()
        self.context = context  # whose outbox this relay delivers (logs and /metrics say it)
        self._bus = bus
        self.holder = holder
        self.settings = settings or RelaySettings()
        self._clock_ms = clock_ms
        self._lease_until_ms = 0
        self._pruned_at_ms = 0
        self._next_retry_ms: int | None = None  # the soonest a failed event is due again
        self._counted: tuple[int, OutboxCounts] | None = None
        self.figures = RelayFigures()

    async def counts(self) -> OutboxCounts:
        """Events pending and parked in the store, read at most once a second (for /metrics,
        which any number of scrapers may call)."""
        now = self._clock_ms()
        if self._counted is None or now - self._counted[0] >= 1000:
            async with self._unit_of_work().read_only() as uow:
                self._counted = (now, await uow.outbox.counts())
        return self._counted[1]

    async def run(self) -> None:
        failure: str | None = None  # what kind was last said: said again only when it changes
        while True:
            delivered = 0
            try:
                delivered = await self.deliver_due()
            except Exception as error:  # the store is unavailable, say: try again later
                if type(error).__name__ != failure:
                    logger.warning("outbox relay of %s: %s", self.context, error)
                failure = type(error).__name__
                self._lease_until_ms = 0
            else:
                if failure is not None:
                    logger.info("outbox relay of %s: the store answers again", self.context)
                failure = None
            await self._pause(delivered, failing=failure is not None)

    async def _pause(self, delivered: int, *, failing: bool) -> None:
        if failing or not self.figures.holding:
            await asyncio.sleep(self._idle_seconds)
        elif delivered:
            await asyncio.sleep(self.settings.poll_seconds)
        else:  # each look costs the store a transaction: wait for news, or poll slowly
            await self._outbox_bell.wait(self._until_next_look())

    def _until_next_look(self) -> float:
        """The idle poll's interval, or less when a failed event's retry falls due sooner."""
        if self._next_retry_ms is None:
            return self._idle_seconds
        return min(self._idle_seconds, max(0, self._next_retry_ms - self._clock_ms()) / 1000)

    def _retry_due_at(self, retry_at_ms: int) -> None:
        self._next_retry_ms = min(retry_at_ms, self._next_retry_ms or retry_at_ms)

    @property
    def _idle_seconds(self) -> float:
        return self.settings.lease_seconds / 5

    async def deliver_due(self) -> int:
        """One pass: take or keep the lease, then deliver what is due; how many were."""
        if not await self._hold_lease():
            return 0
        async with self._unit_of_work().read_only(snapshot=False) as uow:  # one statement
            events = await uow.outbox.undelivered(self.settings.batch)
        delivered, waiting = 0, set[str]()  # streams with an earlier event not delivered now
        self._next_retry_ms = None
        for event in events:
            if not await self._hold_lease():  # it ran out meanwhile: another relay may deliver
                break
            if event.stream in waiting:
                continue
            if (retry_at_ms := event.retry_at_ms or 0) > self._clock_ms():
                waiting.add(event.stream)
                self._retry_due_at(retry_at_ms)
            elif await self._deliver(event):
                delivered += 1
            else:
                waiting.add(event.stream)
        await self._prune()
        return delivered

    async def _deliver(self, event: StoredEvent) -> bool:
        with self._tracing.span(
            f"outbox deliver {event.name}",
            kind=SpanKind.CONSUMER,
            parent=self._tracing.continued(event.trace_context),
            attributes=self._delivery_facts(event),
        ):
            try:
                await self._bus.handle(event)
            except Exception as error:
                await self._failed(event, error)
                return False
            async with self._unit_of_work() as uow:
                await uow.outbox.mark_delivered(event.id, self._clock_ms())
                await uow.commit()
        self.figures.delivered += 1
        return True

    def _delivery_facts(self, event: StoredEvent) -> dict[str, str | int]:
        return {
            "messaging.system": "outbox",
            "messaging.destination.name": self.context,
            "messaging.message.id": str(event.id),
            "app.outbox.stream": event.stream,
            "app.outbox.attempt": event.attempts + 1,
        }

    async def _failed(self, event: StoredEvent, error: Exception) -> None:
        attempts = event.attempts + 1
        delay_ms = int(self.settings.first_retry_seconds * 1000 * 2 ** (attempts - 1))
        retry_at_ms = (
            None if attempts >= self.settings.max_attempts else self._clock_ms() + delay_ms
        )
        async with self._unit_of_work() as uow:
            await uow.outbox.mark_failed(
                event.id,
                f"{type(error).__name__}: {error}",
                retry_at_ms=retry_at_ms,
                now_ms=self._clock_ms(),
            )
            await uow.commit()
        self.figures.failed += 1
        if retry_at_ms is None:
            self.figures.parked += 1
            logger.error(
                "%s event %s (%s) parked after %s failed deliveries: %s",
                self.context,
                event.id,
                event.name,
                attempts,
                error,
            )
        else:
            self._retry_due_at(retry_at_ms)
            logger.warning(
                "%s event %s (%s) failed (attempt %s), retried in %.1fs: %s",
                self.context,
                event.id,
                event.name,
                attempts,
                delay_ms / 1000,
                error,
            )

    async def _hold_lease(self) -> bool:
        now = self._clock_ms()
        lease_ms = int(self.settings.lease_seconds * 1000)
        if self._lease_until_ms - now > lease_ms // 2:
            return True
        async with self._unit_of_work() as uow:
            held = await uow.outbox.take_lease(self.holder, now, now + lease_ms)
            await uow.commit()
        self._lease_until_ms = now + lease_ms if held else 0
        if held != self.figures.holding:
            verb = "took" if held else "lost"
            logger.info("%s %s the lease of %s's outbox relay", self.holder, verb, self.context)
        self.figures.holding = held
        return held

    async def _prune(self) -> None:
        now = self._clock_ms()
        if now - self._pruned_at_ms < 60_000:
            return
        self._pruned_at_ms = now
        keep_ms = int(self.settings.keep_delivered_seconds * 1000)
        async with self._unit_of_work() as uow:
            await uow.outbox.prune(now - keep_ms)
            await uow.commit()
        await self._forget_old_answers(now - int(self.settings.keep_answers_seconds * 1000))

    async def _forget_old_answers(self, stored_before_ms: int) -> None:
        """A batch per transaction, so that a backlog (after a long stop) is no huge write."""
        batch = self.settings.prune_batch
        while True:
            async with self._unit_of_work() as uow:
                forgotten = await uow.answers.prune(stored_before_ms, batch)
                await uow.commit()
            if forgotten < batch:
                return
