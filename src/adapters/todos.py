"""Todo repositories: SQLAlchemy on dqlite, and its in-memory twin."""

from sqlalchemy import ColumnElement, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from adapters import pages
from adapters.memory.table import InMemoryTable
from adapters.orm import Base, Connection, Flag, delete_row, get_row, insert, update_row
from adapters.search import Search, search_index
from domain.errors import AlreadyExists
from domain.paging import Page, searchable
from domain.principals import SUBJECT_MAX_LENGTH
from domain.todos import (
    KEY_MAX_LENGTH,
    VALUE_MAX_LENGTH,
    AbstractTodoRepository,
    Todo,
    TodoFilter,
    TodoKey,
    TodoValue,
    position_of,
)


class TodoRow(Base):
    __tablename__ = "todos"
    # The primary key (owner, key) serves each owner's list, in the lists' order; this index
    # serves a list of done (or not done) todos, an owner's or everyone's, in the same order.
    __table_args__ = (Index("ix_todos_done_owner_key", "done", "owner", "key"),)

    owner: Mapped[str] = mapped_column(String(SUBJECT_MAX_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE_MAX_LENGTH))
    done: Mapped[bool] = mapped_column(Flag)


search_index(TodoRow, "key", "value")  # for the substring filters


class SqlAlchemyTodoRepository(AbstractTodoRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def add(self, todo: Todo) -> None:
        row = TodoRow(owner=todo.owner, key=todo.key.text, value=todo.value.text, done=todo.done)
        await insert(self._connection, row, AlreadyExists("todo", todo.key.text))

    async def get(self, owner: str, key: TodoKey) -> Todo | None:
        row = await get_row(self._connection, TodoRow, owner, key.text)
        return None if row is None else _to_entity(row)

    async def update(self, todo: Todo) -> None:
        values = {"value": todo.value.text, "done": todo.done}
        await update_row(self._connection, TodoRow, _primary_key(todo), values)

    async def delete(self, owner: str, key: TodoKey) -> None:
        await delete_row(self._connection, TodoRow, owner, key.text)

    async def find(self, query: TodoFilter) -> Page[Todo]:
        page = await pages.find(self._connection, _listing(query), query)
        return Page(tuple(_to_entity(row) for row in page.items), page.next, page.total)


def _listing(query: TodoFilter) -> pages.Listing[TodoRow]:
    narrowing: list[ColumnElement[bool]] = []
    if query.owner is not None:
        narrowing.append(TodoRow.owner == query.owner)
    if query.done is not None:
        narrowing.append(TodoRow.done == query.done)
    # instr() rather than LIKE: LIKE ignores ASCII case and treats % and _ as wildcards.
    scanning: list[ColumnElement[bool]] = []
    if query.key_contains is not None:
        scanning.append(func.instr(TodoRow.key, query.key_contains) > 0)
    if query.value_contains is not None:
        scanning.append(func.instr(TodoRow.value, query.value_contains) > 0)
    pinned = () if query.owner is None else (query.owner,)
    order = (TodoRow.owner, TodoRow.key)
    return pages.Listing(TodoRow, order, narrowing, scanning, pinned, search=_search(query))


def _search(query: TodoFilter) -> Search | None:
    """The fragments todos_search (migration 0004) looks up: key and value, case-sensitive."""
    fragments = {"key": query.key_contains, "value": query.value_contains}
    searched = {column: text for column, text in fragments.items() if searchable(text)}
    return Search("todos", searched) if searched else None


def _to_entity(row: TodoRow) -> Todo:
    return Todo(row.owner, TodoKey(row.key), TodoValue(row.value), done=row.done)


type PrimaryKey = tuple[str, str]  # (owner, key), as the table's


def _primary_key(todo: Todo) -> PrimaryKey:
    return todo.owner, todo.key.text


class InMemoryTodoRepository(AbstractTodoRepository):
    def __init__(self, table: InMemoryTable[PrimaryKey, Todo]) -> None:
        self._table = table

    async def add(self, todo: Todo) -> None:
        if self._table.get(_primary_key(todo)) is not None:
            raise AlreadyExists("todo", todo.key.text)
        self._table.put(_primary_key(todo), todo)

    async def get(self, owner: str, key: TodoKey) -> Todo | None:
        return self._table.get((owner, key.text))

    async def update(self, todo: Todo) -> None:
        self._table.put(_primary_key(todo), todo)

    async def delete(self, owner: str, key: TodoKey) -> None:
        self._table.remove((owner, key.text))

    async def find(self, query: TodoFilter) -> Page[Todo]:
        scans = query.scans if query.scanning else None
        searches = query.searches if query.searched else None
        return self._table.page(
            query, narrows=query.narrows, scans=scans, searches=searches, position=position_of
        )
