"""The ledger's tables (on a metadata of their own) and repositories, on SQL and in memory,
and LEDGER, the bounded context they make."""

from dataclasses import replace

from sqlalchemy import (
    CheckConstraint,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, CreateTable

from adapters.contexts import Context, Registration
from adapters.memory.table import InMemoryTable
from adapters.orm import AwareDateTime, Connection
from domain.errors import AlreadyExists
from tests.ledger.model import (
    ACCOUNTS,
    TRANSFERS,
    AbstractAccounts,
    AbstractTransfers,
    Account,
    LedgerUnitOfWork,
    Transfer,
)

metadata = MetaData()

accounts_table = Table(
    "ledger_accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(100), nullable=False),
    Column("balance_cents", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    CheckConstraint("balance_cents >= 0", name="ledger_balance_not_negative"),
)
transfers_table = Table(
    "ledger_transfers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("from_account", Integer, nullable=False),
    Column("to_account", Integer, nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("created_at", AwareDateTime, nullable=False),
)


def schema() -> list[Table]:
    """The tables of the ledger's database: its own, and its outbox's (its context's relay
    reads it)."""
    return [*metadata.sorted_tables, *LEDGER.metadata.sorted_tables]


async def create_tables(connection: AsyncConnection) -> None:
    """Create the tables of the ledger's database unless they exist: nodes starting together
    may race."""
    for table in schema():
        await connection.execute(CreateTable(table, if_not_exists=True))
        for index in table.indexes:
            await connection.execute(CreateIndex(index, if_not_exists=True))


class SqlAlchemyAccounts(AbstractAccounts):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def next_id(self) -> int:
        return (await self._connection.scalar(select(func.max(accounts_table.c.id))) or 0) + 1

    async def add(self, account: Account) -> None:
        values = {
            "id": account.id,
            "owner": account.owner,
            "balance_cents": account.balance_cents,
            "version": account.version,
        }
        try:
            await self._connection.execute(insert(accounts_table).values(values))
        except IntegrityError:
            raise AlreadyExists("account", account.id) from None

    async def get(self, id: int) -> Account | None:
        row = (await self._connection.execute(select(accounts_table).filter_by(id=id))).first()
        return None if row is None else Account(row.id, row.owner, row.balance_cents, row.version)

    async def update(self, account: Account) -> None:
        statement = (
            update(accounts_table)
            .filter_by(id=account.id)
            .values(balance_cents=account.balance_cents, version=accounts_table.c.version + 1)
        )
        await self._connection.execute(statement)

    async def page(self, limit: int, offset: int) -> tuple[list[Account], int]:
        statement = select(accounts_table).order_by("id").limit(limit).offset(offset)
        rows = (await self._connection.execute(statement)).all()
        total = await self._connection.scalar(select(func.count()).select_from(accounts_table))
        return [Account(**row._asdict()) for row in rows], total or 0


class SqlAlchemyTransfers(AbstractTransfers):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def next_id(self) -> int:
        return (await self._connection.scalar(select(func.max(transfers_table.c.id))) or 0) + 1

    async def add(self, transfer: Transfer) -> None:
        values = {
            column: getattr(transfer, column)
            for column in ("id", "from_account", "to_account", "amount_cents", "created_at")
        }
        statement = insert(transfers_table).values(
            **values, idempotency_key=transfer.idempotency_key
        )
        try:
            await self._connection.execute(statement)
        except IntegrityError:
            raise AlreadyExists("transfer with key", transfer.idempotency_key) from None

    async def get_by_key(self, key: str) -> Transfer | None:
        statement = select(transfers_table).filter_by(idempotency_key=key)
        row = (await self._connection.execute(statement)).first()
        return None if row is None else Transfer(**row._asdict())

    async def page(self, limit: int, offset: int) -> tuple[list[Transfer], int]:
        statement = select(transfers_table).order_by("id").limit(limit).offset(offset)
        rows = (await self._connection.execute(statement)).all()
        total = await self._connection.scalar(select(func.count()).select_from(transfers_table))
        return [Transfer(**row._asdict()) for row in rows], total or 0


class InMemoryAccounts(AbstractAccounts):
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
        assert stored is not None, "update of an account that was never added"
        self._table.put(account.id, replace(account, version=stored.version + 1))

    async def page(self, limit: int, offset: int) -> tuple[list[Account], int]:
        def every(account: Account) -> bool:
            return True

        found = self._table.find(every, order=lambda a: a.id, offset=offset, limit=limit)
        return found, self._table.count(every)


class InMemoryTransfers(AbstractTransfers):
    def __init__(self, table: InMemoryTable[int, Transfer]) -> None:
        self._table = table

    async def next_id(self) -> int:
        return self._table.next_id()

    async def add(self, transfer: Transfer) -> None:
        if await self.get_by_key(transfer.idempotency_key) is not None:
            raise AlreadyExists("transfer with key", transfer.idempotency_key)
        self._table.put(transfer.id, transfer)

    async def get_by_key(self, key: str) -> Transfer | None:
        return self._table.first(lambda transfer: transfer.idempotency_key == key)

    async def page(self, limit: int, offset: int) -> tuple[list[Transfer], int]:
        def every(transfer: Transfer) -> bool:
            return True

        found = self._table.find(every, order=lambda t: t.id, offset=offset, limit=limit)
        return found, self._table.count(every)


REGISTRATIONS = (
    Registration(ACCOUNTS, SqlAlchemyAccounts, InMemoryAccounts),
    Registration(TRANSFERS, SqlAlchemyTransfers, InMemoryTransfers),
)
# A context of its own: given to the stores (contexts=...), it is a database of its own.
LEDGER = Context("ledger", LedgerUnitOfWork, REGISTRATIONS)
