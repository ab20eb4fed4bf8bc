"""The bounded contexts: each keeps its aggregates in a database of its own, with a unit of
work that carries their repositories.

A use case works in one context's unit of work: nothing crosses contexts inside a
transaction. A context learns of another's changes through domain events (service/handlers.py),
which the other's outbox delivers. Contexts do not wait on each other's writes: dqlite has one
writer per database.
"""

from domain.accounts import AbstractAccountRepository
from domain.login_attempts import AbstractLoginFailureRepository
from domain.people import AbstractPersonRepository
from domain.posts import AbstractPostRepository
from domain.refresh_tokens import AbstractRefreshTokenRepository
from domain.todos import AbstractTodoRepository
from domain.transfers import AbstractTransferRepository
from domain.users import AbstractUserRepository
from service.unit_of_work import AbstractUnitOfWork


class IdentityUnitOfWork(AbstractUnitOfWork):
    """The identity context: who signs in, their refresh tokens and failed sign-ins. Platform,
    not an example: `make fork` keeps it."""

    people: AbstractPersonRepository
    refresh_tokens: AbstractRefreshTokenRepository
    login_failures: AbstractLoginFailureRepository


class TodosUnitOfWork(AbstractUnitOfWork):
    """The todos context: things to do."""

    todos: AbstractTodoRepository
    # (make aggregate adds the todos context's repositories above this line)


class BlogUnitOfWork(AbstractUnitOfWork):
    """The blog context: users and the posts they write."""

    users: AbstractUserRepository
    posts: AbstractPostRepository
    # (make aggregate adds the blog context's repositories above this line)


class BankUnitOfWork(AbstractUnitOfWork):
    """The bank context: accounts and the transfers between them."""

    accounts: AbstractAccountRepository
    transfers: AbstractTransferRepository
    # (make aggregate adds the bank context's repositories above this line)


# (make aggregate adds a new context above this line)
