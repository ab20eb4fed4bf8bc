"""Failed sign-in repositories of the identity context: SQLAlchemy on dqlite, and its
in-memory twin."""

from collections.abc import Sequence

from sqlalchemy import Index, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from adapters.memory.table import InMemoryTable
from adapters.orm import Base, Connection, insert, next_id
from domain.errors import AlreadyExists
from domain.login_attempts import SCOPE_MAX_LENGTH, AbstractLoginFailureRepository


class LoginFailureRow(Base):
    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_scope_at_ms", "scope", "at_ms"),
        Index("ix_login_failures_at_ms", "at_ms"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    scope: Mapped[str] = mapped_column(String(SCOPE_MAX_LENGTH))
    at_ms: Mapped[int]


class SqlAlchemyLoginFailureRepository(AbstractLoginFailureRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def add(self, scope: str, at_ms: int) -> int:
        id = await next_id(self._connection, LoginFailureRow.id)
        row = LoginFailureRow(id=id, scope=scope[:SCOPE_MAX_LENGTH], at_ms=at_ms)
        await insert(self._connection, row, AlreadyExists("login failure", id))
        return id

    async def forget(self, ids: Sequence[int]) -> None:
        if ids:
            await self._connection.execute(
                delete(LoginFailureRow).where(LoginFailureRow.id.in_(ids))
            )

    async def since(self, scope: str, since_ms: int) -> list[int]:
        statement = select(LoginFailureRow.at_ms).where(
            LoginFailureRow.scope == scope[:SCOPE_MAX_LENGTH], LoginFailureRow.at_ms > since_ms
        )
        return list((await self._connection.execute(statement)).scalars())

    async def prune(self, before_ms: int) -> None:
        await self._connection.execute(
            delete(LoginFailureRow).where(LoginFailureRow.at_ms < before_ms)
        )


type Failure = tuple[int, str, int]  # id, scope, at_ms


class InMemoryLoginFailureRepository(AbstractLoginFailureRepository):
    def __init__(self, table: InMemoryTable[int, Failure]) -> None:
        self._table = table

    async def add(self, scope: str, at_ms: int) -> int:
        id = self._table.next_id()
        self._table.put(id, (id, scope[:SCOPE_MAX_LENGTH], at_ms))
        return id

    async def forget(self, ids: Sequence[int]) -> None:
        for id in ids:
            if self._table.get(id) is not None:
                self._table.remove(id)

    async def since(self, scope: str, since_ms: int) -> list[int]:
        scope = scope[:SCOPE_MAX_LENGTH]
        found = self._table.find(lambda f: f[1] == scope and f[2] > since_ms, order=_at)
        return [at_ms for _, _, at_ms in found]

    async def prune(self, before_ms: int) -> None:
        for id, _, _ in self._table.find(lambda f: f[2] < before_ms, order=_at):
            self._table.remove(id)


def _at(failure: Failure) -> int:
    return failure[2]
