import pytest

from domain.accounts import MAX_CENTS, Account, InsufficientFunds
from domain.errors import Conflict, InvalidValue
from domain.idempotency import IdempotencyKey
from domain.principals import Principal
from domain.transfers import TransferFilter, TransferRequest


def test_a_withdrawal_larger_than_the_balance_fails_and_changes_nothing() -> None:
    account = Account.open(1, "1", "Ann", 100)

    with pytest.raises(InsufficientFunds, match="100 cents, less than 101"):
        account.withdraw(101)
    assert account.balance_cents == 100
    account.withdraw(100)
    assert account.balance_cents == 0


@pytest.mark.parametrize("amount", [0, -5, MAX_CENTS + 1, True, 1.5])
def test_an_amount_is_a_positive_whole_number_of_cents(amount: object) -> None:
    with pytest.raises(InvalidValue, match="amount_cents"):
        Account.open(1, "1", "Ann", 100).deposit(amount)  # type: ignore[arg-type]


def test_an_account_opens_with_a_balance_from_0_to_the_maximum() -> None:
    with pytest.raises(InvalidValue, match="balance_cents"):
        Account.open(1, "1", "Ann", -1)
    with pytest.raises(Conflict, match="cannot hold more"):
        Account.open(1, "1", "Ann", MAX_CENTS).deposit(1)


def test_a_transfer_needs_two_different_accounts_and_a_positive_amount() -> None:
    with pytest.raises(InvalidValue, match="must differ"):
        TransferRequest(1, 1, 5)
    with pytest.raises(InvalidValue, match="amount_cents"):
        TransferRequest(1, 2, 0)


def test_an_idempotency_key_is_1_to_128_visible_ascii_characters() -> None:
    for refused in ["", "k" * 129, "a key", "k\t", "clé"]:
        with pytest.raises(InvalidValue, match="Idempotency-Key"):
            IdempotencyKey(refused)
    assert IdempotencyKey("!~" * 64).text == "!~" * 64


def test_an_account_is_owned_by_a_subject_and_held_in_a_name() -> None:
    account = Account.open(1, "auth0|42", "Ann Lee", 0)

    assert (account.owner, account.holder.text) == ("auth0|42", "Ann Lee")
    with pytest.raises(InvalidValue, match="holder"):
        Account.open(1, "1", "", 0)
    with pytest.raises(InvalidValue, match="holder"):
        Account.open(1, "1", "h" * 101, 0)
    with pytest.raises(InvalidValue, match="owner"):
        Account.open(1, "s" * 256, "Ann", 0)


def test_only_an_admin_asks_for_every_accounts_transfers() -> None:
    TransferFilter().check_asked_by(Principal("9", frozenset({"admin"})))
    TransferFilter(account_id=1).check_asked_by(Principal("1"))
    with pytest.raises(InvalidValue, match="account"):
        TransferFilter().check_asked_by(Principal("1"))
