"""Domain events: facts an aggregate records as it changes. The unit of work stores them in
the outbox with the change itself; the relay delivers them to their handlers afterwards."""

import abc
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DomainEvent(abc.ABC):
    """A fact, named by its class; its fields are plain values (they are stored as JSON)."""

    @property
    @abc.abstractmethod
    def stream(self) -> str:
        """The aggregate instance it happened to (e.g. `user:12`): events of one stream are
        delivered in the order they were recorded."""


class RecordsEvents(Protocol):
    """An aggregate that keeps the events it recorded until a unit of work collects them."""

    events: list[DomainEvent]
