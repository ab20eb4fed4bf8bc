"""The User aggregate: someone who writes posts."""

import abc
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidValue
from domain.events import DomainEvent
from domain.fields import check_bool, check_id, check_moment, check_text, folded
from domain.paging import DEFAULT_LIMIT, check_window

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254


@dataclass(frozen=True, slots=True)
class UserName:
    text: str

    def __post_init__(self) -> None:
        check_text("name", self.text, min_length=1, max_length=NAME_MAX_LENGTH)


@dataclass(frozen=True, slots=True)
class Email:
    """An address as the user wrote it; two addresses are the same user if `key`s are equal."""

    text: str

    def __post_init__(self) -> None:
        check_text("email", self.text, min_length=3, max_length=EMAIL_MAX_LENGTH)
        local, at, domain = self.text.rpartition("@")
        labels = domain.split(".")
        if (
            not at
            or not local
            or any(c.isspace() for c in self.text)
            or len(labels) < 2
            or not all(labels)
        ):
            raise InvalidValue("email", "must look like name@example.org")

    @property
    def key(self) -> str:
        return folded(self.text)


@dataclass(slots=True)
class User:
    id: int
    name: UserName
    email: Email
    created_at: datetime
    is_active: bool = True
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_id("id", self.id)
        check_moment("created_at", self.created_at)
        check_bool("is_active", self.is_active)

    @classmethod
    def register(cls, id: int, name: str, email: str, now: datetime) -> "User":
        user = cls(id, UserName(name), Email(email), now)
        user.events.append(UserRegistered(id, name, email))
        return user


@dataclass(frozen=True, slots=True)
class UserRegistered(DomainEvent):
    user_id: int
    name: str
    email: str

    @property
    def stream(self) -> str:
        return f"user:{self.user_id}"


@dataclass(frozen=True, slots=True)
class UserFilter:
    """Which users to list: every field narrows the result; results are ordered by id.

    `name_contains` is case-sensitive; `email_contains` is not, as emails are not.
    """

    active: bool | None = None
    name_contains: str | None = None
    email_contains: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def __post_init__(self) -> None:
        if self.active is not None:
            check_bool("active", self.active)
        if self.name_contains is not None:
            check_text(
                "name_contains", self.name_contains, min_length=0, max_length=NAME_MAX_LENGTH
            )
        if self.email_contains is not None:
            check_text(
                "email_contains", self.email_contains, min_length=0, max_length=EMAIL_MAX_LENGTH
            )
        check_window(self.limit, self.offset)

    def matches(self, user: User) -> bool:
        return (
            (self.active is None or user.is_active == self.active)
            and (self.name_contains is None or self.name_contains in user.name.text)
            and (self.email_contains is None or folded(self.email_contains) in user.email.key)
        )


class AbstractUserRepository(abc.ABC):
    @abc.abstractmethod
    async def next_id(self) -> int:
        """An id no stored user has; valid until this unit of work ends."""

    @abc.abstractmethod
    async def add(self, user: User) -> None:
        """Store a new user; raise AlreadyExists if the email (in any case) is taken."""

    @abc.abstractmethod
    async def get(self, id: int) -> User | None: ...

    @abc.abstractmethod
    async def find(self, query: UserFilter) -> list[User]:
        """One window of the users that match, ordered by id."""

    @abc.abstractmethod
    async def count(self, query: UserFilter) -> int: ...
