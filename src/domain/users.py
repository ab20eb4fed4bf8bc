"""The User aggregate: someone who writes posts, owned by the principal who registered it."""

import abc
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.events import DomainEvent
from domain.fields import (
    EMAIL_MAX_LENGTH,
    Email,
    check_bool,
    check_id,
    check_moment,
    check_text,
    folded,
)
from domain.paging import (
    DEFAULT_LIMIT,
    Cursor,
    Page,
    Position,
    check_cursor,
    check_window,
    holds_searched,
    searchable,
)
from domain.principals import Principal, check_owner

NAME_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class UserName:
    text: str

    def __post_init__(self) -> None:
        check_text("name", self.text, min_length=1, max_length=NAME_MAX_LENGTH)


@dataclass(slots=True)
class User:
    id: int
    owner: str  # the subject of the principal who registered it
    name: UserName
    email: Email
    created_at: datetime
    is_active: bool = True
    events: list[DomainEvent] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_id("id", self.id)
        check_owner("owner", self.owner)
        check_moment("created_at", self.created_at)
        check_bool("is_active", self.is_active)

    @classmethod
    def register(cls, id: int, owner: str, name: str, email: str, now: datetime) -> "User":
        user = cls(id, owner, UserName(name), Email(email), now)
        user.events.append(UserRegistered(id, name, email, owner))
        return user


@dataclass(frozen=True, slots=True)
class UserRegistered(DomainEvent):
    user_id: int
    name: str
    email: str
    owner: str = ""  # events stored before owners existed have none

    @property
    def stream(self) -> str:
        return f"user:{self.user_id}"


@dataclass(frozen=True, slots=True)
class UserFilter:
    """Which users to list: every field narrows the result; results are ordered by id.

    `name_contains` is case-sensitive; `email_contains` is not, as emails are not. Each is
    looked up in a trigram index when long enough, else checked on at most SCAN_LIMIT users a
    page walks (domain.paging). `owner` None means everyone's: only an admin may ask for that
    (`seen_by`).
    """

    owner: str | None = None
    active: bool | None = None
    name_contains: str | None = None
    email_contains: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: Cursor | None = None  # (id,) of the user the page before ended on
    with_total: bool = False

    def __post_init__(self) -> None:
        if self.owner is not None:
            check_owner("owner", self.owner)
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
        check_cursor(self.after, (int,))
        check_window(self.limit, self.offset, self.after, scans=self.scanning)
        check_bool("with_total", self.with_total)

    @property
    def scanning(self) -> str | None:
        """The first substring filter given, if any."""
        if self.name_contains is not None:
            return "name_contains"
        return None if self.email_contains is None else "email_contains"

    def seen_by(self, principal: Principal) -> "UserFilter":
        """The filter as `principal` may run it: an admin's as asked, anyone else's narrowed
        to their own users."""
        if principal.is_admin:
            return self
        return replace(self, owner=principal.subject)

    def narrows(self, user: User) -> bool:
        """Whether `user` passes the filters an index answers (owner, active)."""
        return (self.owner is None or user.owner == self.owner) and (
            self.active is None or user.is_active == self.active
        )

    def scans(self, user: User) -> bool:
        """Whether `user` passes the substring filters."""
        email = self.searched_email
        return (self.name_contains is None or self.name_contains in user.name.text) and (
            email is None or email in user.email.key
        )

    @property
    def searched_email(self) -> str | None:
        """The fragment of `email_contains` as the index holds emails (folded)."""
        return None if self.email_contains is None else folded(self.email_contains)

    @property
    def searched(self) -> bool:
        """Whether a substring filter is long enough to look up in the trigram index."""
        return searchable(self.name_contains) or searchable(self.searched_email)

    def searches(self, user: User) -> bool:
        """Whether `user` holds the fragments looked up in the trigram index."""
        return holds_searched(user.name.text, self.name_contains) and holds_searched(
            user.email.key, self.searched_email
        )

    def matches(self, user: User) -> bool:
        return self.narrows(user) and self.scans(user)


def user_position(user: User) -> Position:
    return (user.id,)


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
    async def find(self, query: UserFilter) -> Page[User]:
        """The page of the users that match that `query` asks for (domain.paging), ordered
        by id; with their total if it asks."""
