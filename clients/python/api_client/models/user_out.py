from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.post_out import PostOut


T = TypeVar("T", bound="UserOut")


@_attrs_define
class UserOut:
    """
    Attributes:
        id (int):
        owner (str): The subject of the principal who registered the user.
        name (str):
        email (str):
        is_active (bool):
        created_at (datetime.datetime):
        posts (list[PostOut] | None | Unset): Only when include_posts=true: the first posts_limit posts, by id.
        posts_total (int | None | Unset): Only when include_posts=true: how many posts the user has, counted up to 1,001
            (1,001: more than 1,000).
    """

    id: int
    owner: str
    name: str
    email: str
    is_active: bool
    created_at: datetime.datetime
    posts: list[PostOut] | None | Unset = UNSET
    posts_total: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        owner = self.owner

        name = self.name

        email = self.email

        is_active = self.is_active

        created_at = self.created_at.isoformat()

        posts: list[dict[str, Any]] | None | Unset
        if isinstance(self.posts, Unset):
            posts = UNSET
        elif isinstance(self.posts, list):
            posts = []
            for posts_type_0_item_data in self.posts:
                posts_type_0_item = posts_type_0_item_data.to_dict()
                posts.append(posts_type_0_item)

        else:
            posts = self.posts

        posts_total: int | None | Unset
        if isinstance(self.posts_total, Unset):
            posts_total = UNSET
        else:
            posts_total = self.posts_total

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "owner": owner,
                "name": name,
                "email": email,
                "is_active": is_active,
                "created_at": created_at,
            }
        )
        if posts is not UNSET:
            field_dict["posts"] = posts
        if posts_total is not UNSET:
            field_dict["posts_total"] = posts_total

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.post_out import PostOut  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        owner = d.pop("owner")

        name = d.pop("name")

        email = d.pop("email")

        is_active = d.pop("is_active")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_posts(data: object) -> list[PostOut] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                posts_type_0 = []
                _posts_type_0 = data
                for posts_type_0_item_data in _posts_type_0:
                    posts_type_0_item = PostOut.from_dict(posts_type_0_item_data)

                    posts_type_0.append(posts_type_0_item)

                return posts_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[PostOut] | None | Unset, data)

        posts = _parse_posts(d.pop("posts", UNSET))

        def _parse_posts_total(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        posts_total = _parse_posts_total(d.pop("posts_total", UNSET))

        user_out = cls(
            id=id,
            owner=owner,
            name=name,
            email=email,
            is_active=is_active,
            created_at=created_at,
            posts=posts,
            posts_total=posts_total,
        )

        user_out.additional_properties = d
        return user_out

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
