"""Transfer repositories: SQLAlchemy on dqlite, and its in-memory twin."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Select, String, select, union
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from adapters import pages
from adapters.memory.table import InMemoryTable
from adapters.orm import AwareDateTime, Base, Connection, insert, next_id
from domain.errors import AlreadyExists
from domain.idempotency import KEY_MAX_LENGTH, IdempotencyKey
from domain.paging import Page, Position
from domain.transfers import (
    AbstractTransferRepository,
    Transfer,
    TransferFilter,
    TransferRequest,
    transfer_position,
)


class TransferRow(Base):
    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    from_account: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    to_account: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_cents: Mapped[int]
    # The key it was asked under; keys are each principal's (two may use the same one), so
    # unique only with the principal, in idempotency_keys.
    idempotency_key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime)


def _id_taken(transfer: Transfer) -> AlreadyExists:
    return AlreadyExists("transfer", transfer.id)


class SqlAlchemyTransferRepository(AbstractTransferRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def next_id(self) -> int:
        return await next_id(self._connection, TransferRow.id)

    async def add(self, transfer: Transfer) -> None:
        await insert(self._connection, _to_row(transfer), _id_taken(transfer))

    async def find(self, query: TransferFilter) -> Page[Transfer]:
        listing: pages.Listing[TransferRow] = pages.Listing(TransferRow, (TransferRow.id,))
        if query.account_id is not None:
            listing = _AccountTransfers(TransferRow, (TransferRow.id,), account=query.account_id)
        page = await pages.find(self._connection, listing, query)
        return Page(tuple(_to_transfer(row) for row in page.items), page.next, page.total)


@dataclass(frozen=True, kw_only=True)
class _AccountTransfers(pages.Listing[TransferRow]):
    """Transfers from or to one account, in id order: the first `bound` of each side, each
    from its own index, merged. (With `from_account = ? OR to_account = ?`, SQLite reads and
    sorts all of the account's transfers for any page.)"""

    account: int

    def walk(self, after: Position | None, bound: int) -> Select[tuple[TransferRow]]:
        sides = union(
            self._side(TransferRow.from_account, after, bound),
            self._side(TransferRow.to_account, after, bound),
        )
        return select(TransferRow).where(TransferRow.id.in_(sides)).order_by(TransferRow.id)

    def _side(
        self, account: InstrumentedAttribute[int], after: Position | None, bound: int
    ) -> Select[tuple[int]]:
        side = select(TransferRow.id).where(account == self.account)
        if after is not None:
            side = side.where(TransferRow.id > after[0])
        # A member of a UNION cannot have its own LIMIT in SQLite: it goes in a subquery.
        first = side.order_by(TransferRow.id).limit(bound).subquery()
        return select(first.c.id)


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
        if self._table.get(transfer.id) is not None:
            raise _id_taken(transfer)
        self._table.put(transfer.id, transfer)

    async def find(self, query: TransferFilter) -> Page[Transfer]:
        return self._table.page(
            query, narrows=query.matches, scans=None, position=transfer_position
        )
