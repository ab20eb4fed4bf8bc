"""The Todo aggregate: a keyed note that can be marked done."""

import abc
from dataclasses import dataclass

from domain.fields import canonical, check_bool, check_no_control_characters, check_text
from domain.paging import DEFAULT_LIMIT, check_window

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
    key: TodoKey
    value: TodoValue
    done: bool = False

    def __post_init__(self) -> None:
        check_bool("done", self.done)

    @classmethod
    def create(cls, key: str, value: str) -> "Todo":
        return cls(TodoKey(key), TodoValue(value))

    def change_value(self, value: str) -> None:
        self.value = TodoValue(value)

    def mark_done(self, done: bool = True) -> None:
        self.done = check_bool("done", done)


@dataclass(frozen=True, slots=True)
class TodoFilter:
    """Which todos to list: every field narrows the result; results are ordered by key."""

    key_contains: str | None = None
    value_contains: str | None = None
    done: bool | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def __post_init__(self) -> None:
        if self.key_contains is not None:
            check_text("key_contains", self.key_contains, min_length=0, max_length=KEY_MAX_LENGTH)
        if self.value_contains is not None:
            check_text(
                "value_contains", self.value_contains, min_length=0, max_length=VALUE_MAX_LENGTH
            )
        if self.done is not None:
            check_bool("done", self.done)
        check_window(self.limit, self.offset)

    def matches(self, todo: Todo) -> bool:
        """Whether `todo` passes every condition (case-sensitive substring matches)."""
        return (
            (self.key_contains is None or self.key_contains in todo.key.text)
            and (self.value_contains is None or self.value_contains in todo.value.text)
            and (self.done is None or todo.done == self.done)
        )


class AbstractTodoRepository(abc.ABC):
    """Stores todos; every method works inside the unit of work that created it."""

    @abc.abstractmethod
    async def add(self, todo: Todo) -> None:
        """Store a new todo; raise AlreadyExists if its key is taken."""

    @abc.abstractmethod
    async def get(self, key: TodoKey) -> Todo | None: ...

    @abc.abstractmethod
    async def update(self, todo: Todo) -> None:
        """Store the new state of a todo that `get` returned."""

    @abc.abstractmethod
    async def delete(self, key: TodoKey) -> None: ...

    @abc.abstractmethod
    async def find(self, query: TodoFilter) -> list[Todo]:
        """One window of the todos that match, ordered by key."""

    @abc.abstractmethod
    async def count(self, query: TodoFilter) -> int:
        """How many todos match, ignoring the window."""
