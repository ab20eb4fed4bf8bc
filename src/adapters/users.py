"""User repositories: SQLAlchemy on dqlite, and its in-memory twin."""

from datetime import datetime

from sqlalchemy import ColumnElement, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from adapters import pages
from adapters.memory.table import InMemoryTable
from adapters.orm import AwareDateTime, Base, Connection, Flag, get_row, insert, next_id
from adapters.search import Search, search_index
from domain.errors import AlreadyExists
from domain.fields import EMAIL_MAX_LENGTH, Email, folded
from domain.paging import Page, searchable
from domain.principals import SUBJECT_MAX_LENGTH
from domain.users import (
    NAME_MAX_LENGTH,
    AbstractUserRepository,
    User,
    UserFilter,
    UserName,
    user_position,
)


class UserRow(Base):
    __tablename__ = "users"
    # Each list filter an index answers, in id order (an index ends with the rowid, the id).
    __table_args__ = (
        Index("ix_users_is_active", "is_active"),
        Index("ix_users_owner_is_active", "owner", "is_active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # Rows from before owners have "" (migration 0002): nobody's, until an operator says whose.
    owner: Mapped[str] = mapped_column(String(SUBJECT_MAX_LENGTH), index=True, server_default="")
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    email_key: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)  # folded()
    is_active: Mapped[bool] = mapped_column(Flag)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime)


def _email_taken(user: User) -> AlreadyExists:
    return AlreadyExists("user with email", user.email.text)


search_index(UserRow, "name", "email_key")  # for the substring filters


class SqlAlchemyUserRepository(AbstractUserRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def next_id(self) -> int:
        return await next_id(self._connection, UserRow.id)

    async def add(self, user: User) -> None:
        await insert(self._connection, _to_row(user), _email_taken(user))

    async def get(self, id: int) -> User | None:
        row = await get_row(self._connection, UserRow, id)
        return None if row is None else to_user(row)

    async def find(self, query: UserFilter) -> Page[User]:
        page = await pages.find(self._connection, _listing(query), query)
        return Page(tuple(to_user(row) for row in page.items), page.next, page.total)


def _listing(query: UserFilter) -> pages.Listing[UserRow]:
    narrowing: list[ColumnElement[bool]] = []
    if query.owner is not None:
        narrowing.append(UserRow.owner == query.owner)
    if query.active is not None:
        narrowing.append(UserRow.is_active == query.active)
    scanning: list[ColumnElement[bool]] = []
    if query.name_contains is not None:
        scanning.append(func.instr(UserRow.name, query.name_contains) > 0)
    if query.email_contains is not None:
        scanning.append(func.instr(UserRow.email_key, folded(query.email_contains)) > 0)
    return pages.Listing(UserRow, (UserRow.id,), narrowing, scanning, search=_search(query))


def _search(query: UserFilter) -> Search | None:
    """The fragments users_search (migration blog/0004) looks up: name, and the folded email."""
    fragments = {"name": query.name_contains, "email_key": query.searched_email}
    searched = {column: text for column, text in fragments.items() if searchable(text)}
    return Search("users", searched) if searched else None


def _to_row(user: User) -> UserRow:
    return UserRow(
        id=user.id,
        owner=user.owner,
        name=user.name.text,
        email=user.email.text,
        email_key=user.email.key,
        is_active=user.is_active,
        created_at=user.created_at,
    )


def to_user(row: UserRow) -> User:
    return User(
        row.id, row.owner, UserName(row.name), Email(row.email), row.created_at, row.is_active
    )


class InMemoryUserRepository(AbstractUserRepository):
    def __init__(self, table: InMemoryTable[int, User]) -> None:
        self._table = table

    async def next_id(self) -> int:
        return self._table.next_id()

    async def add(self, user: User) -> None:
        if self._table.first(lambda other: other.email.key == user.email.key) is not None:
            raise _email_taken(user)
        self._table.put(user.id, user)

    async def get(self, id: int) -> User | None:
        return self._table.get(id)

    async def find(self, query: UserFilter) -> Page[User]:
        scans = query.scans if query.scanning else None
        searches = query.searches if query.searched else None
        return self._table.page(
            query, narrows=query.narrows, scans=scans, searches=searches, position=user_position
        )
