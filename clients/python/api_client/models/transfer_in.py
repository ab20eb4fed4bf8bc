from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="TransferIn")


@_attrs_define
class TransferIn:
    """
    Attributes:
        from_account (int):
        to_account (int):
        amount_cents (int):
    """

    from_account: int
    to_account: int
    amount_cents: int

    def to_dict(self) -> dict[str, Any]:
        from_account = self.from_account

        to_account = self.to_account

        amount_cents = self.amount_cents

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "from_account": from_account,
                "to_account": to_account,
                "amount_cents": amount_cents,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        from_account = d.pop("from_account")

        to_account = d.pop("to_account")

        amount_cents = d.pop("amount_cents")

        transfer_in = cls(
            from_account=from_account,
            to_account=to_account,
            amount_cents=amount_cents,
        )

        return transfer_in
