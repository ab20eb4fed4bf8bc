"""Every aggregate's repositories, registered once: both units of work build theirs from this
list (`uow.<name>`), the in-memory store keeps a table per name, and importing it puts every
table on `Base.metadata` (for Alembic and the tests)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

import adapters.outbox  # noqa: F401  (puts the outbox's tables on Base.metadata)
from adapters.accounts import InMemoryAccountRepository, SqlAlchemyAccountRepository
from adapters.memory.table import InMemoryTable
from adapters.orm import Base
from adapters.posts import InMemoryPostRepository, SqlAlchemyPostRepository
from adapters.todos import InMemoryTodoRepository, SqlAlchemyTodoRepository
from adapters.transfers import InMemoryTransferRepository, SqlAlchemyTransferRepository
from adapters.users import InMemoryUserRepository, SqlAlchemyUserRepository


@dataclass(frozen=True)
class Registration:
    name: str  # the unit of work's attribute, as declared on AbstractUnitOfWork
    sql: Callable[[AsyncSession], object]
    memory: Callable[[InMemoryTable[Any, Any]], object]


REPOSITORIES: tuple[Registration, ...] = (
    Registration("todos", SqlAlchemyTodoRepository, InMemoryTodoRepository),
    Registration("users", SqlAlchemyUserRepository, InMemoryUserRepository),
    Registration("posts", SqlAlchemyPostRepository, InMemoryPostRepository),
    Registration("accounts", SqlAlchemyAccountRepository, InMemoryAccountRepository),
    Registration("transfers", SqlAlchemyTransferRepository, InMemoryTransferRepository),
    # (make aggregate adds its registration above this line)
)

# Every registered aggregate's table, and the outbox's: importing this module imported each of
# their modules.
metadata = Base.metadata
