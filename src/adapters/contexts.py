"""Every bounded context, with the repositories of its aggregates, registered once.

Both stores give each context a database of its own (on dqlite, `<prefix><name>` in the one
cluster) and build its unit of work from this list: the context's class from
service/contexts.py, with one repository per registration (`uow.<name>`). Each context's
database also holds its outbox and the stored answers of its keyed requests, and its Alembic
history is migrations/<name>/.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import MetaData, Table

from adapters.accounts import InMemoryAccountRepository, SqlAlchemyAccountRepository
from adapters.barrier import ReadBarrierRow
from adapters.idempotency import StoredAnswerRow
from adapters.login_attempts import InMemoryLoginFailureRepository, SqlAlchemyLoginFailureRepository
from adapters.memory.table import InMemoryTable
from adapters.orm import Base, Connection
from adapters.outbox import OutboxEventRow
from adapters.people import InMemoryPersonRepository, SqlAlchemyPersonRepository
from adapters.posts import InMemoryPostRepository, SqlAlchemyPostRepository
from adapters.refresh_tokens import (
    InMemoryRefreshTokenRepository,
    SqlAlchemyRefreshTokenRepository,
)
from adapters.todos import InMemoryTodoRepository, SqlAlchemyTodoRepository
from adapters.transfers import InMemoryTransferRepository, SqlAlchemyTransferRepository
from adapters.users import InMemoryUserRepository, SqlAlchemyUserRepository
from service.contexts import (
    BankUnitOfWork,
    BlogUnitOfWork,
    IdentityUnitOfWork,
    TodosUnitOfWork,
)
from service.unit_of_work import AbstractUnitOfWork


@dataclass(frozen=True)
class Registration:
    name: str  # the unit of work's attribute, as its context's class declares it
    sql: Callable[[Connection], object]
    memory: Callable[[InMemoryTable[Any, Any]], object]


@dataclass(frozen=True)
class Context:
    name: str  # its database's name (after the prefix), its migrations' folder, its /ready lines
    unit_of_work: type[AbstractUnitOfWork]
    registrations: tuple[Registration, ...]

    @functools.cached_property
    def metadata(self) -> MetaData:
        """The tables of this context's database: its repositories' (those their modules
        map), the outbox's, the stored answers' and the read barrier's. What Alembic compares
        its history with."""
        platform = {
            OutboxEventRow.__module__,
            StoredAnswerRow.__module__,
            ReadBarrierRow.__module__,
        }
        modules = {_module(r.sql) for r in self.registrations} | platform
        metadata = MetaData()
        for mapper in Base.registry.mappers:
            if mapper.class_.__module__ in modules:
                cast(Table, mapper.local_table).to_metadata(metadata)
        return metadata

    def implemented_by[U: AbstractUnitOfWork](self, implementation: type[U]) -> type[U]:
        """A class that is both `implementation` and this context's unit of work."""
        return _combined(implementation, self.unit_of_work)


@functools.cache
def _combined[U: AbstractUnitOfWork](
    implementation: type[U], context: type[AbstractUnitOfWork]
) -> type[U]:
    name = implementation.__name__.removesuffix("UnitOfWork") + context.__name__
    namespace = {"__module__": __name__, "context_name": context.__name__}
    return cast(type[U], type(name, (implementation, context), namespace))


def _module(repository: Callable[..., object]) -> str:
    return str(repository.__module__)


CONTEXTS: tuple[Context, ...] = (
    Context(
        "identity",
        IdentityUnitOfWork,
        (
            Registration("people", SqlAlchemyPersonRepository, InMemoryPersonRepository),
            Registration(
                "refresh_tokens", SqlAlchemyRefreshTokenRepository, InMemoryRefreshTokenRepository
            ),
            Registration(
                "login_failures", SqlAlchemyLoginFailureRepository, InMemoryLoginFailureRepository
            ),
        ),
    ),
    Context(
        "todos",
        TodosUnitOfWork,
        (
            Registration("todos", SqlAlchemyTodoRepository, InMemoryTodoRepository),
            # (make aggregate adds the todos context's registrations above this line)
        ),
    ),
    Context(
        "blog",
        BlogUnitOfWork,
        (
            Registration("users", SqlAlchemyUserRepository, InMemoryUserRepository),
            Registration("posts", SqlAlchemyPostRepository, InMemoryPostRepository),
            # (make aggregate adds the blog context's registrations above this line)
        ),
    ),
    Context(
        "bank",
        BankUnitOfWork,
        (
            Registration("accounts", SqlAlchemyAccountRepository, InMemoryAccountRepository),
            Registration("transfers", SqlAlchemyTransferRepository, InMemoryTransferRepository),
            # (make aggregate adds the bank context's registrations above this line)
        ),
    ),
    # (make aggregate adds a new context above this line)
)


def context_named(name: str, contexts: tuple[Context, ...] = CONTEXTS) -> Context:
    for context in contexts:
        if context.name == name:
            return context
    raise LookupError(f"no context {name!r}: the contexts are {[c.name for c in contexts]}")


# Every table of every context: importing this module imported each repository's module.
metadata = Base.metadata
