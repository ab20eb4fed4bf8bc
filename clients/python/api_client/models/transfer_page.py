from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.transfer_out import TransferOut


T = TypeVar("T", bound="TransferPage")


@_attrs_define
class TransferPage:
    """
    Attributes:
        next_ (None | str): Pass as `after` for the page that follows; null when the list is done. A substring of 3
            characters or more is looked up in an index; a shorter one, or one that more than 5,000 items hold, is looked
            for in at most 5,000 items a page goes through, so that page may hold fewer than `limit` (even none) while
            `next` is not null.
        items (list[TransferOut]):
        total (int | None | Unset): How many items match, when asked for with `total=true`.
        total_capped (bool | Unset): Counting stopped after 10,000 items: at least `total` match. Default: False.
    """

    next_: None | str
    items: list[TransferOut]
    total: int | None | Unset = UNSET
    total_capped: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        next_: None | str
        next_ = self.next_

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        total: int | None | Unset
        if isinstance(self.total, Unset):
            total = UNSET
        else:
            total = self.total

        total_capped = self.total_capped

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "next": next_,
                "items": items,
            }
        )
        if total is not UNSET:
            field_dict["total"] = total
        if total_capped is not UNSET:
            field_dict["total_capped"] = total_capped

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.transfer_out import TransferOut  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_next_(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        next_ = _parse_next_(d.pop("next"))

        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = TransferOut.from_dict(items_item_data)

            items.append(items_item)

        def _parse_total(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        total = _parse_total(d.pop("total", UNSET))

        total_capped = d.pop("total_capped", UNSET)

        transfer_page = cls(
            next_=next_,
            items=items,
            total=total,
            total_capped=total_capped,
        )

        transfer_page.additional_properties = d
        return transfer_page

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
