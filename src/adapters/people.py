"""Person repositories of the identity context: SQLAlchemy on dqlite, and its in-memory twin."""

from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from adapters.memory.table import InMemoryTable
from adapters.orm import (
    AwareDateTime,
    Base,
    Connection,
    Flag,
    first_row,
    get_row,
    insert,
    next_id,
    update_row,
)
from domain.errors import AlreadyExists
from domain.fields import EMAIL_MAX_LENGTH, Email
from domain.people import PASSWORD_HASH_MAX_LENGTH, AbstractPersonRepository, Person

ROLES_MAX_LENGTH = 255


class PersonRow(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    email_key: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)  # folded()
    password_hash: Mapped[str] = mapped_column(String(PASSWORD_HASH_MAX_LENGTH))
    roles: Mapped[str] = mapped_column(String(ROLES_MAX_LENGTH))  # space-separated, sorted
    disabled: Mapped[bool] = mapped_column(Flag)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime)


def _email_taken(person: Person) -> AlreadyExists:
    return AlreadyExists("person with email", person.email.text)


class SqlAlchemyPersonRepository(AbstractPersonRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def next_id(self) -> int:
        return await next_id(self._connection, PersonRow.id)

    async def add(self, person: Person) -> None:
        row = PersonRow(
            id=person.id,
            email=person.email.text,
            email_key=person.email.key,
            password_hash=person.password_hash,
            roles=" ".join(sorted(person.roles)),
            disabled=person.disabled,
            created_at=person.created_at,
        )
        await insert(self._connection, row, _email_taken(person))

    async def get(self, id: int) -> Person | None:
        row = await get_row(self._connection, PersonRow, id)
        return None if row is None else _to_entity(row)

    async def get_by_email(self, email: Email) -> Person | None:
        by_email = select(PersonRow).where(PersonRow.email_key == email.key)
        row = await first_row(self._connection, PersonRow, by_email)
        return None if row is None else _to_entity(row)

    async def update(self, person: Person) -> None:
        values = {
            "password_hash": person.password_hash,
            "roles": " ".join(sorted(person.roles)),
            "disabled": person.disabled,
        }
        await update_row(self._connection, PersonRow, (person.id,), values)


def _to_entity(row: PersonRow) -> Person:
    return Person(
        row.id,
        Email(row.email),
        row.password_hash,
        row.created_at,
        frozenset(row.roles.split()),
        row.disabled,
    )


class InMemoryPersonRepository(AbstractPersonRepository):
    def __init__(self, table: InMemoryTable[int, Person]) -> None:
        self._table = table

    async def next_id(self) -> int:
        return self._table.next_id()

    async def add(self, person: Person) -> None:
        if self._table.first(lambda other: other.email.key == person.email.key) is not None:
            raise _email_taken(person)
        self._table.put(person.id, person)

    async def get(self, id: int) -> Person | None:
        return self._table.get(id)

    async def get_by_email(self, email: Email) -> Person | None:
        return self._table.first(lambda person: person.email.key == email.key)

    async def update(self, person: Person) -> None:
        self._table.put(person.id, person)
