"""The Todo aggregate: a keyed note that can be marked done, owned by the principal who
created it. A key is unique per owner: two owners may each have a todo of the same key."""

import abc
from dataclasses import dataclass, replace

from domain.fields import canonical, check_bool, check_no_control_characters, check_text
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

KEY_MAX_LENGTH = 128
VALUE_MAX_LENGTH = 128


@dataclass(frozen=True, slots=True)
class TodoKey:
    text: str  # canonical: keys that Unicode spells two ways are one key

    def __post_init__(self) -> None:
        check_text("key", self.text, min_length=1, max_length=KEY_MAX_LENGTH)
        check_no_control_characters("key", self.text)
        object.__setattr__(self, "text", canonical(self.text))


@dataclass(frozen=True, slots=True)
class TodoValue:
    text: str

    def __post_init__(self) -> None:
        check_text("value", self.text, min_length=0, max_length=VALUE_MAX_LENGTH)


@dataclass(slots=True)
class Todo:
    owner: str  # the subject of the principal who created it
    key: TodoKey
    value: TodoValue
    done: bool = False

    def __post_init__(self) -> None:
        check_owner("owner", self.owner)
        check_bool("done", self.done)

    @classmethod
    def create(cls, owner: str, key: str, value: str) -> "Todo":
        return cls(owner, TodoKey(key), TodoValue(value))

    def change_value(self, value: str) -> None:
        self.value = TodoValue(value)

    def mark_done(self, done: bool = True) -> None:
        self.done = check_bool("done", done)


@dataclass(frozen=True, slots=True)
class TodoFilter:
    """Which todos to list: every field narrows the result; results are ordered by owner, then
    key. `owner` None means every owner's. The substring filters are case-sensitive, looked up
    in a trigram index when long enough, else checked on at most SCAN_LIMIT todos a page walks
    (domain.paging)."""

    owner: str | None = None
    key_contains: str | None = None
    value_contains: str | None = None
    done: bool | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: Cursor | None = None  # (owner, key) of the todo the page before ended on
    with_total: bool = False

    def __post_init__(self) -> None:
        if self.owner is not None:
            check_owner("owner", self.owner)
        if self.key_contains is not None:
            check_text("key_contains", self.key_contains, min_length=0, max_length=KEY_MAX_LENGTH)
        if self.value_contains is not None:
            check_text(
                "value_contains", self.value_contains, min_length=0, max_length=VALUE_MAX_LENGTH
            )
        if self.done is not None:
            check_bool("done", self.done)
        check_cursor(self.after, (str, str))
        check_window(self.limit, self.offset, self.after, scans=self.scanning)
        check_bool("with_total", self.with_total)

    @property
    def scanning(self) -> str | None:
        """The first substring filter given, if any."""
        if self.key_contains is not None:
            return "key_contains"
        return None if self.value_contains is None else "value_contains"

    def narrows(self, todo: Todo) -> bool:
        """Whether `todo` passes the filters an index answers (owner, done)."""
        return (self.owner is None or todo.owner == self.owner) and (
            self.done is None or todo.done == self.done
        )

    def scans(self, todo: Todo) -> bool:
        """Whether `todo` passes the substring filters (case-sensitive)."""
        return (self.key_contains is None or self.key_contains in todo.key.text) and (
            self.value_contains is None or self.value_contains in todo.value.text
        )

    @property
    def searched(self) -> bool:
        """Whether a substring filter is long enough to look up in the trigram index."""
        return searchable(self.key_contains) or searchable(self.value_contains)

    def searches(self, todo: Todo) -> bool:
        """Whether `todo` holds the fragments looked up in the trigram index."""
        return holds_searched(todo.key.text, self.key_contains) and holds_searched(
            todo.value.text, self.value_contains
        )

    def matches(self, todo: Todo) -> bool:
        return self.narrows(todo) and self.scans(todo)

    def seen_by(self, principal: Principal) -> "TodoFilter":
        """This filter narrowed to what `principal` may read: their own todos, or, for an
        admin, those of the owner asked for (every owner's if none)."""
        return self if principal.is_admin else replace(self, owner=principal.subject)


def position_of(todo: Todo) -> Position:
    """Where `todo` stands in a list: its owner, then its key."""
    return todo.owner, todo.key.text


class AbstractTodoRepository(abc.ABC):
    """Stores todos, each identified by its owner and key; every method works inside the unit
    of work that created it."""

    @abc.abstractmethod
    async def add(self, todo: Todo) -> None:
        """Store a new todo; raise AlreadyExists if its owner already has its key."""

    @abc.abstractmethod
    async def get(self, owner: str, key: TodoKey) -> Todo | None: ...

    @abc.abstractmethod
    async def update(self, todo: Todo) -> None:
        """Store the new state of a todo that `get` returned."""

    @abc.abstractmethod
    async def delete(self, owner: str, key: TodoKey) -> None: ...

    @abc.abstractmethod
    async def find(self, query: TodoFilter) -> Page[Todo]:
        """The page of the todos that match that `query` asks for (domain.paging), ordered by
        owner, then key; with their total if it asks."""
