from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PostOut")


@_attrs_define
class PostOut:
    """
    Attributes:
        id (int):
        author_id (int):
        title (str):
        content (None | str):
        published (bool):
        created_at (datetime.datetime):
    """

    id: int
    author_id: int
    title: str
    content: None | str
    published: bool
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        author_id = self.author_id

        title = self.title

        content: None | str
        content = self.content

        published = self.published

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "author_id": author_id,
                "title": title,
                "content": content,
                "published": published,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        author_id = d.pop("author_id")

        title = d.pop("title")

        def _parse_content(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        content = _parse_content(d.pop("content"))

        published = d.pop("published")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        post_out = cls(
            id=id,
            author_id=author_id,
            title=title,
            content=content,
            published=published,
            created_at=created_at,
        )

        post_out.additional_properties = d
        return post_out

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
