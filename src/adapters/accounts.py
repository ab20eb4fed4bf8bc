"""Account repositories: SQLAlchemy on dqlite, and its in-memory twin."""

from sqlalchemy import CheckConstraint, String, update
from sqlalchemy.orm import Mapped, mapped_column

from adapters.memory.table import InMemoryTable
from adapters.orm import Base, Connection, get_row, insert, next_id
from domain.accounts import HOLDER_MAX_LENGTH, AbstractAccountRepository, Account, Holder
from domain.errors import AlreadyExists, StaleWrite
from domain.principals import SUBJECT_MAX_LENGTH


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("balance_cents >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # Rows from before owners have "" (migration 0002): nobody's, until an operator says whose.
    owner: Mapped[str] = mapped_column(String(SUBJECT_MAX_LENGTH), server_default="")
    holder: Mapped[str] = mapped_column(String(HOLDER_MAX_LENGTH))
    balance_cents: Mapped[int]
    version: Mapped[int]


class SqlAlchemyAccountRepository(AbstractAccountRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def next_id(self) -> int:
        return await next_id(self._connection, AccountRow.id)

    async def add(self, account: Account) -> None:
        row = AccountRow(
            id=account.id,
            owner=account.owner,
            holder=account.holder.text,
            balance_cents=account.balance_cents,
            version=account.version,
        )
        await insert(self._connection, row, AlreadyExists("account", account.id))

    async def get(self, id: int) -> Account | None:
        row = await get_row(self._connection, AccountRow, id)
        if row is None:
            return None
        return Account(row.id, row.owner, Holder(row.holder), row.balance_cents, row.version)

    async def update(self, account: Account) -> None:
        statement = (
            update(AccountRow)
            .where(AccountRow.id == account.id, AccountRow.version == account.version)
            .values(balance_cents=account.balance_cents, version=account.version + 1)
        )
        result = await self._connection.execute(statement)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleWrite("account", account.id)
        account.version += 1


class InMemoryAccountRepository(AbstractAccountRepository):
    def __init__(self, table: InMemoryTable[int, Account]) -> None:
        self._table = table

    async def next_id(self) -> int:
        return self._table.next_id()

    async def add(self, account: Account) -> None:
        if self._table.get(account.id) is not None:
            raise AlreadyExists("account", account.id)
        self._table.put(account.id, account)

    async def get(self, id: int) -> Account | None:
        return self._table.get(id)

    async def update(self, account: Account) -> None:
        stored = self._table.get(account.id)
        if stored is None or stored.version != account.version:
            raise StaleWrite("account", account.id)
        account.version += 1
        self._table.put(account.id, account)
