"""Refresh token repositories of the identity context: SQLAlchemy on dqlite, and its
in-memory twin. Only the tokens' hashes are stored."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Index, String, delete, update
from sqlalchemy.orm import Mapped, mapped_column

from adapters.memory.table import InMemoryTable
from adapters.orm import (
    AwareDateTime,
    Base,
    Connection,
    Flag,
    get_row,
    insert,
    instant,
    instant_key,
)
from domain.errors import AlreadyExists
from domain.refresh_tokens import (
    FAMILY_LENGTH,
    TOKEN_HASH_LENGTH,
    AbstractRefreshTokenRepository,
    RefreshToken,
)


class RefreshTokenRow(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_family", "family"),
        Index("ix_refresh_tokens_person_id", "person_id"),
        Index("ix_refresh_tokens_expires_at", "expires_at"),
    )

    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), primary_key=True)
    family: Mapped[str] = mapped_column(String(FAMILY_LENGTH))
    person_id: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(AwareDateTime)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime)
    used: Mapped[bool] = mapped_column(Flag)
    revoked: Mapped[bool] = mapped_column(Flag)


class SqlAlchemyRefreshTokenRepository(AbstractRefreshTokenRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def add(self, token: RefreshToken) -> None:
        row = RefreshTokenRow(
            token_hash=token.token_hash,
            family=token.family,
            person_id=token.person_id,
            issued_at=token.issued_at,
            expires_at=token.expires_at,
            used=token.used,
            revoked=token.revoked,
        )
        await insert(self._connection, row, AlreadyExists("refresh token", "(hidden)"))

    async def get(self, token_hash: str) -> RefreshToken | None:
        row = await get_row(self._connection, RefreshTokenRow, token_hash)
        if row is None:
            return None
        return RefreshToken(
            row.token_hash,
            row.family,
            row.person_id,
            row.issued_at,
            row.expires_at,
            row.used,
            row.revoked,
        )

    async def mark_used(self, token_hash: str) -> None:
        await self._change(RefreshTokenRow.token_hash == token_hash, used=True)

    async def revoke_family(self, family: str) -> None:
        await self._change(RefreshTokenRow.family == family, revoked=True)

    async def revoke_person(self, person_id: int) -> None:
        await self._change(RefreshTokenRow.person_id == person_id, revoked=True)

    async def prune(self, expired_before: datetime) -> None:
        await self._connection.execute(
            delete(RefreshTokenRow).where(
                instant(RefreshTokenRow.expires_at) < instant_key(expired_before)
            )
        )

    async def _change(self, condition: object, **values: bool) -> None:
        await self._connection.execute(
            update(RefreshTokenRow)
            .where(condition)  # type: ignore[arg-type]
            .values(**values)
        )


class InMemoryRefreshTokenRepository(AbstractRefreshTokenRepository):
    def __init__(self, table: InMemoryTable[str, RefreshToken]) -> None:
        self._table = table

    async def add(self, token: RefreshToken) -> None:
        if self._table.get(token.token_hash) is not None:
            raise AlreadyExists("refresh token", "(hidden)")
        self._table.put(token.token_hash, token)

    async def get(self, token_hash: str) -> RefreshToken | None:
        return self._table.get(token_hash)

    async def mark_used(self, token_hash: str) -> None:
        for token in self._table.find(lambda t: t.token_hash == token_hash, order=_by_hash):
            token.used = True
            self._table.put(token.token_hash, token)

    async def revoke_family(self, family: str) -> None:
        self._revoke(lambda token: token.family == family)

    async def revoke_person(self, person_id: int) -> None:
        self._revoke(lambda token: token.person_id == person_id)

    async def prune(self, expired_before: datetime) -> None:
        for token in self._table.find(lambda t: t.expires_at < expired_before, order=_by_hash):
            self._table.remove(token.token_hash)

    def _revoke(self, condition: Callable[[RefreshToken], bool]) -> None:
        for token in self._table.find(condition, order=_by_hash):
            token.revoked = True
            self._table.put(token.token_hash, token)


def _by_hash(token: RefreshToken) -> str:
    return token.token_hash
