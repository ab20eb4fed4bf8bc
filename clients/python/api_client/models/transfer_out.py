from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TransferOut")


@_attrs_define
class TransferOut:
    """
    Attributes:
        id (int):
        from_account (int):
        to_account (int):
        amount_cents (int):
        idempotency_key (str):
        created_at (datetime.datetime):
    """

    id: int
    from_account: int
    to_account: int
    amount_cents: int
    idempotency_key: str
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        from_account = self.from_account

        to_account = self.to_account

        amount_cents = self.amount_cents

        idempotency_key = self.idempotency_key

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "from_account": from_account,
                "to_account": to_account,
                "amount_cents": amount_cents,
                "idempotency_key": idempotency_key,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        from_account = d.pop("from_account")

        to_account = d.pop("to_account")

        amount_cents = d.pop("amount_cents")

        idempotency_key = d.pop("idempotency_key")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        transfer_out = cls(
            id=id,
            from_account=from_account,
            to_account=to_account,
            amount_cents=amount_cents,
            idempotency_key=idempotency_key,
            created_at=created_at,
        )

        transfer_out.additional_properties = d
        return transfer_out

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
