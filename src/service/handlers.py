"""Which use cases react to which domain events: the message bus's table."""

from collections.abc import Sequence

from domain.events import DomainEvent
from domain.users import UserRegistered
from service.messagebus import Handler
from service.todos import welcome_new_user

HANDLERS: dict[type[DomainEvent], Sequence[Handler]] = {
    UserRegistered: (welcome_new_user,),
    # (an event's handlers: one line per event class)
}
