"""/users: register users, read one, list them (optionally with their posts). A user belongs to
the principal who registered it: others get a 404 for it, and only an admin lists everyone's."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.fields import EMAIL_MAX_LENGTH
from domain.posts import POSTS_COUNTED, UserWithPosts
from domain.users import NAME_MAX_LENGTH, User, UserFilter
from entrypoints.api.paging import ListQuery, PageInfo
from entrypoints.api.paths import IdPath
from entrypoints.api.posts import PostOut
from entrypoints.dependencies import PrincipalDep, unit_of_work
from entrypoints.idempotency import OnceDep
from entrypoints.problems import PROTECTED_OPERATION, problem_responses
from service import users as use_cases
from service.contexts import BlogUnitOfWork

UnitOfWorkDep = Annotated[BlogUnitOfWork, Depends(unit_of_work(BlogUnitOfWork))]
router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses={**problem_responses(404, 409), **PROTECTED_OPERATION},
)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    email: str = Field(min_length=3, max_length=EMAIL_MAX_LENGTH)


class UserOut(BaseModel):
    id: int
    owner: str = Field(description="The subject of the principal who registered the user.")
    name: str
    email: str
    is_active: bool
    created_at: datetime
    posts: list[PostOut] | None = Field(
        None, description="Only when include_posts=true: the first posts_limit posts, by id."
    )
    posts_total: int | None = Field(
        None,
        description="Only when include_posts=true: how many posts the user has, counted up "
        f"to {POSTS_COUNTED + 1:,} ({POSTS_COUNTED + 1:,}: more than {POSTS_COUNTED:,}).",
    )

    @classmethod
    def of(cls, user: User, with_posts: UserWithPosts | None = None) -> "UserOut":
        return cls(
            id=user.id,
            owner=user.owner,
            name=user.name.text,
            email=user.email.text,
            is_active=user.is_active,
            created_at=user.created_at,
            posts=None if with_posts is None else [PostOut.of(p) for p in with_posts.posts],
            posts_total=None if with_posts is None else with_posts.posts_total,
        )


class UserPage(PageInfo):
    items: list[UserOut]


class UserQuery(ListQuery):
    """The list endpoint's query parameters; every filter narrows the result."""

    active: bool | None = None
    name_contains: str | None = Field(None, max_length=NAME_MAX_LENGTH)
    email_contains: str | None = Field(None, max_length=EMAIL_MAX_LENGTH)
    include_posts: bool = False
    posts_limit: int = Field(
        use_cases.DEFAULT_POSTS_PER_USER, ge=1, le=use_cases.MAX_POSTS_PER_USER
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def register_user(
    body: UserIn, uow: UnitOfWorkDep, principal: PrincipalDep, once: OnceDep, response: Response
) -> UserOut:
    """Register a user owned by the caller; 409 if the email is taken, in any letter case."""
    uow = once(uow, UserOut.of, _location)
    user = await use_cases.register_user(uow, principal, body.name, body.email)
    response.headers["Location"] = _location(user)
    return UserOut.of(user)


def _location(user: User) -> str:
    return f"/users/{user.id}"


@router.get("")
async def list_users(
    query: Annotated[UserQuery, Query()], uow: UnitOfWorkDep, principal: PrincipalDep
) -> UserPage:
    """The caller's users (an admin's: everyone's) ordered by id, a page at a time; with
    their posts if asked."""
    filters = query.filters("include_posts", "posts_limit")
    query_object = UserFilter(**filters, **query.window())
    if not query.include_posts:
        page = await use_cases.list_users(uow, principal, query_object)
        return UserPage(items=[UserOut.of(user) for user in page.items], **PageInfo.of(page))
    with_posts = await use_cases.list_users_with_posts(
        uow, principal, query_object, query.posts_limit
    )
    items = [UserOut.of(item.user, item) for item in with_posts.items]
    return UserPage(items=items, **PageInfo.of(with_posts))


@router.get("/{user_id}")
async def get_user(user_id: IdPath, uow: UnitOfWorkDep, principal: PrincipalDep) -> UserOut:
    """One of the caller's users; 404 for someone else's (an admin reads any)."""
    return UserOut.of(await use_cases.get_user(uow, principal, user_id))
