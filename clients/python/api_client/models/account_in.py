from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="AccountIn")


@_attrs_define
class AccountIn:
    """
    Attributes:
        holder (str): The name the account is held in.
        balance_cents (int | Unset): The opening balance. Default: 0.
    """

    holder: str
    balance_cents: int | Unset = 0

    def to_dict(self) -> dict[str, Any]:
        holder = self.holder

        balance_cents = self.balance_cents

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "holder": holder,
            }
        )
        if balance_cents is not UNSET:
            field_dict["balance_cents"] = balance_cents

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        holder = d.pop("holder")

        balance_cents = d.pop("balance_cents", UNSET)

        account_in = cls(
            holder=holder,
            balance_cents=balance_cents,
        )

        return account_in
