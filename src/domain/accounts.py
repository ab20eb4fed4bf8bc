"""The Account aggregate: a balance in integer cents that never goes negative, owned by the
principal who opened it, held in the name of a holder."""

import abc
from dataclasses import dataclass

from domain.errors import Conflict
from domain.fields import check_id, check_int, check_text
from domain.principals import check_owner

HOLDER_MAX_LENGTH = 100
MAX_CENTS = 10**15  # far below 2**63, so no sum of two balances overflows the column


class InsufficientFunds(Conflict):
    def __init__(self, account_id: int, balance_cents: int, amount_cents: int) -> None:
        super().__init__(
            f"account {account_id} holds {balance_cents} cents, less than {amount_cents}"
        )


def check_cents(field: str, value: object, *, minimum: int) -> int:
    return check_int(field, value, minimum=minimum, maximum=MAX_CENTS)


@dataclass(frozen=True, slots=True)
class Holder:
    """The name the account is held in, as the client gave it: a label, not a principal."""

    text: str

    def __post_init__(self) -> None:
        check_text("holder", self.text, min_length=1, max_length=HOLDER_MAX_LENGTH)


@dataclass(slots=True)
class Account:
    """`version` counts stored changes; the repository bumps it and refuses stale writes."""

    id: int
    owner: str  # the subject of the principal who opened it: who sees it and spends from it
    holder: Holder
    balance_cents: int
    version: int = 1

    def __post_init__(self) -> None:
        check_id("id", self.id)
        check_owner("owner", self.owner)
        check_cents("balance_cents", self.balance_cents, minimum=0)

    @classmethod
    def open(cls, id: int, owner: str, holder: str, balance_cents: int) -> "Account":
        return cls(id, owner, Holder(holder), balance_cents)

    def withdraw(self, amount_cents: int) -> None:
        check_cents("amount_cents", amount_cents, minimum=1)
        if amount_cents > self.balance_cents:
            raise InsufficientFunds(self.id, self.balance_cents, amount_cents)
        self.balance_cents -= amount_cents

    def deposit(self, amount_cents: int) -> None:
        check_cents("amount_cents", amount_cents, minimum=1)
        if self.balance_cents + amount_cents > MAX_CENTS:
            raise Conflict(f"account {self.id} cannot hold more than {MAX_CENTS} cents")
        self.balance_cents += amount_cents


class AbstractAccountRepository(abc.ABC):
    @abc.abstractmethod
    async def next_id(self) -> int: ...

    @abc.abstractmethod
    async def add(self, account: Account) -> None: ...

    @abc.abstractmethod
    async def get(self, id: int) -> Account | None: ...

    @abc.abstractmethod
    async def update(self, account: Account) -> None:
        """Store the new balance if `account.version` is still the stored one, and bump it;
        raise StaleWrite otherwise."""
