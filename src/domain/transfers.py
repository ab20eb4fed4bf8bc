"""The Transfer aggregate: money moved between two accounts, under the client's idempotency key
(the stored answers of service/idempotency.py make it move once)."""

import abc
from dataclasses import dataclass
from datetime import datetime

from domain.accounts import check_cents
from domain.errors import InvalidValue
from domain.fields import check_bool, check_id, check_moment
from domain.idempotency import IdempotencyKey
from domain.paging import DEFAULT_LIMIT, Cursor, Page, Position, check_cursor, check_window
from domain.principals import Principal


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """What the client asked for."""

    from_account: int
    to_account: int
    amount_cents: int

    def __post_init__(self) -> None:
        check_id("from_account", self.from_account)
        check_id("to_account", self.to_account)
        check_cents("amount_cents", self.amount_cents, minimum=1)
        if self.from_account == self.to_account:
            raise InvalidValue("to_account", "must differ from from_account")


@dataclass(frozen=True, slots=True)
class Transfer:
    id: int
    request: TransferRequest
    idempotency_key: IdempotencyKey
    created_at: datetime

    def __post_init__(self) -> None:
        check_id("id", self.id)
        check_moment("created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class TransferFilter:
    """Transfers from or to one account (or all: an admin's question only), oldest first."""

    account_id: int | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: Cursor | None = None  # (id,) of the transfer the page before ended on
    with_total: bool = False

    def __post_init__(self) -> None:
        if self.account_id is not None:
            check_id("account", self.account_id)
        check_cursor(self.after, (int,))
        check_window(self.limit, self.offset, self.after)
        check_bool("with_total", self.with_total)

    def check_asked_by(self, principal: Principal) -> None:
        """Only an admin lists every account's transfers; anyone else names an account (whose
        owner the use case checks)."""
        if self.account_id is None and not principal.is_admin:
            raise InvalidValue("account", "name one of your accounts to list its transfers")

    def matches(self, transfer: Transfer) -> bool:
        """Whether `transfer` passes the filter (an index on each side answers it)."""
        return self.account_id is None or self.account_id in (
            transfer.request.from_account,
            transfer.request.to_account,
        )


def transfer_position(transfer: Transfer) -> Position:
    return (transfer.id,)


class AbstractTransferRepository(abc.ABC):
    @abc.abstractmethod
    async def next_id(self) -> int: ...

    @abc.abstractmethod
    async def add(self, transfer: Transfer) -> None: ...

    @abc.abstractmethod
    async def find(self, query: TransferFilter) -> Page[Transfer]:
        """The page of the transfers that match that `query` asks for (domain.paging),
        ordered by id; with their total if it asks."""
