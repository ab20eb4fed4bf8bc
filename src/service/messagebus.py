"""The in-process message bus: each stored event goes to the handlers registered for its class,
each handler with a new unit of work of the context it declares (its second parameter's type)."""

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from domain.events import DomainEvent
from service.outbox import StoredEvent
from service.tracing import Tracing
from service.unit_of_work import AbstractUnitOfWork, UnitsOfWork

# e.g. `async def on_invoice_created(event: InvoiceCreated, uow: BillingUnitOfWork) -> None`
type Handler = Callable[[Any, Any], Awaitable[None]]
type Handlers = Mapping[type[DomainEvent], Sequence[Handler]]


class UnknownEvent(Exception):
    """A stored event whose class this process does not know: it cannot be delivered."""


class MessageBus:
    """Handlers must be idempotent: the relay delivers at least once, so an event may reach a
    handler again after a crash between the handler's commit and the event's delivery mark."""

    def __init__(
        self, handlers: Handlers, units_of_work: UnitsOfWork, tracing: Tracing | None = None
    ) -> None:
        self._handlers = handlers
        self._tracing = tracing or Tracing()
        self._contexts = {h: context_of(h) for hs in handlers.values() for h in hs}
        # Every event class imported (each aggregate's module is): an event nobody handles is
        # delivered as done; only one whose class is gone is refused, and parked in the end.
        self._classes = {cls.__name__: cls for cls in _event_classes()}
        self._classes.update({cls.__name__: cls for cls in handlers})
        self._units_of_work = units_of_work

    async def handle(self, stored: StoredEvent) -> None:
        event_class = self._classes.get(stored.name)
        if event_class is None:
            raise UnknownEvent(f"no event class named {stored.name!r} is known here")
        event = event_class(**stored.payload)
        for handler in self._handlers.get(event_class, ()):
            with self._tracing.span(f"handle {_name_of(handler)}"):
                await handler(event, self._units_of_work(self._contexts[handler]))


def _name_of(handler: Handler) -> str:
    return getattr(handler, "__qualname__", repr(handler))


def context_of(handler: Handler) -> type[AbstractUnitOfWork]:
    """The unit of work a handler works in: the type of its second parameter."""
    parameters = list(inspect.signature(handler, eval_str=True).parameters.values())
    context = parameters[1].annotation if len(parameters) == 2 else None
    if not (isinstance(context, type) and issubclass(context, AbstractUnitOfWork)):
        name = _name_of(handler)
        raise TypeError(f"handler {name} must take (event, uow: <a context's unit of work>)")
    return context


def _event_classes() -> list[type[DomainEvent]]:
    found: list[type[DomainEvent]] = []
    waiting = DomainEvent.__subclasses__()
    while waiting:
        event_class = waiting.pop()
        found.append(event_class)
        waiting += event_class.__subclasses__()
    return found
