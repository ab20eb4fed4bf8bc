"""Transfer repositories: SQLAlchemy on dqlite, and its in-memory twin."""

from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, String, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from adapters.memory.table import InMemoryTable
from adapters.orm import AwareDateTime, Base, insert, next_id
from domain.errors import AlreadyExists
from domain.transfers import (
    KEY_MAX_LENGTH,
    AbstractTransferRepository,
    IdempotencyKey,
    Transfer,
    TransferFilter,
    TransferRequest,
)


class TransferRow(Base):
    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    from_account: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    to_account: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_cents: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime)


def _key_taken(transfer: Transfer) -> AlreadyExists:
    return AlreadyExists("transfer with idempotency key", transfer.idempotency_key.text)


class SqlAlchemyTransferRepository(AbstractTransferRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def next_id(self) -> int:
        return await next_id(self._session, TransferRow.id)

    async def add(self, transfer: Transfer) -> None:
        await insert(self._session, _to_row(transfer), _key_taken(transfer))

    async def get_by_key(self, key: IdempotencyKey) -> Transfer | None:
        statement = select(TransferRow).where(TransferRow.idempotency_key == key.text)
        row = await self._session.scalar(statement)
        return None if row is None else _to_transfer(row)

    async def find(self, query: TransferFilter) -> list[Transfer]:
        statement = (
            select(TransferRow)
            .where(*_conditions(query))
            .order_by(TransferRow.id)
            .limit(query.limit)
            .offset(query.offset)
        )
        return [_to_transfer(row) for row in await self._session.scalars(statement)]

    async def count(self, query: TransferFilter) -> int:
        statement = select(func.count()).select_from(TransferRow).where(*_conditions(query))
        return await self._session.scalar(statement) or 0


def _conditions(query: TransferFilter) -> list[ColumnElement[bool]]:
    if query.account_id is None:
        return []
    account = query.account_id
    return [or_(TransferRow.from_account == account, TransferRow.to_account == account)]


def _to_row(transfer: Transfer) -> TransferRow:
    return TransferRow(
        id=transfer.id,
        from_account=transfer.request.from_account,
        to_account=transfer.request.to_account,
        amount_cents=transfer.request.amount_cents,
        idempotency_key=transfer.idempotency_key.text,
        created_at=transfer.created_at,
    )


def _to_transfer(row: TransferRow) -> Transfer:
    request = TransferRequest(row.from_account, row.to_account, row.amount_cents)
    return Transfer(row.id, request, IdempotencyKey(row.idempotency_key), row.created_at)


class InMemoryTransferRepository(AbstractTransferRepository):
    def __init__(self, table: InMemoryTable[int, Transfer]) -> None:
        self._table = table

    async def next_id(self) -> int:
        return self._table.next_id()

    async def add(self, transfer: Transfer) -> None:
        if await self.get_by_key(transfer.idempotency_key) is not None:
            raise _key_taken(transfer)
        self._table.put(transfer.id, transfer)

    async def get_by_key(self, key: IdempotencyKey) -> Transfer | None:
        return self._table.first(lambda transfer: transfer.idempotency_key == key)

    async def find(self, query: TransferFilter) -> list[Transfer]:
        return self._table.find(
            query.matches, order=lambda t: t.id, offset=query.offset, limit=query.limit
        )

    async def count(self, query: TransferFilter) -> int:
        return self._table.count(query.matches)
