"""/users/{id}/posts and /posts: write, read and list posts. Any signed-in user reads every post;
only the owner of a user writes posts as that user."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.posts import CONTENT_MAX_LENGTH, TITLE_MAX_LENGTH, Post, PostFilter, PostWithAuthor
from entrypoints.api.paging import ListQuery, PageInfo
from entrypoints.api.paths import IdPath
from entrypoints.dependencies import PrincipalDep, unit_of_work
from entrypoints.idempotency import OnceDep
from entrypoints.problems import PROTECTED_OPERATION, problem_responses
from service import posts as use_cases
from service.contexts import BlogUnitOfWork

UnitOfWorkDep = Annotated[BlogUnitOfWork, Depends(unit_of_work(BlogUnitOfWork))]
router = APIRouter(tags=["posts"], responses={**problem_responses(404), **PROTECTED_OPERATION})
# Marks a read that any signed-in principal may make of anyone's resource, so a walk of the
# routes knows that a 200 for another owner's id is intended.
READABLE_BY_ANY_SIGNED_IN_USER = {"x-readable-by": "any signed-in user"}

Id = IdPath


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    title: str = Field(min_length=1, max_length=TITLE_MAX_LENGTH)
    content: str | None = Field(None, max_length=CONTENT_MAX_LENGTH)


class PostOut(BaseModel):
    id: int
    author_id: int
    title: str
    content: str | None
    published: bool
    created_at: datetime

    @classmethod
    def of(cls, post: Post) -> "PostOut":
        content = None if post.content is None else post.content.text
        return cls(
            id=post.id,
            author_id=post.author_id,
            title=post.title.text,
            content=content,
            published=post.published,
            created_at=post.created_at,
        )


class AuthorOut(BaseModel):
    id: int
    name: str
    email: str


class PostWithAuthorOut(PostOut):
    author: AuthorOut

    @classmethod
    def of_pair(cls, pair: PostWithAuthor) -> "PostWithAuthorOut":
        author = AuthorOut(
            id=pair.author.id, name=pair.author.name.text, email=pair.author.email.text
        )
        return cls(**PostOut.of(pair.post).model_dump(), author=author)


class PostPage(PageInfo):
    items: list[PostOut]


class PostQuery(ListQuery):
    published: bool | None = None


@router.post("/users/{user_id}/posts", status_code=status.HTTP_201_CREATED)
async def write_post(
    user_id: Id,
    body: PostIn,
    uow: UnitOfWorkDep,
    principal: PrincipalDep,
    once: OnceDep,
    response: Response,
) -> PostOut:
    """Write a post as one of the caller's users; 404 if there is no such user or it is
    someone else's (403 for an admin, who sees it)."""
    uow = once(uow, PostOut.of, _location)
    post = await use_cases.write_post(uow, principal, user_id, body.title, body.content)
    response.headers["Location"] = _location(post)
    return PostOut.of(post)


def _location(post: Post) -> str:
    return f"/posts/{post.id}"


@router.get("/users/{user_id}/posts", openapi_extra=READABLE_BY_ANY_SIGNED_IN_USER)
async def list_posts_of_user(
    user_id: Id, query: Annotated[PostQuery, Query()], uow: UnitOfWorkDep, principal: PrincipalDep
) -> PostPage:
    """Any user's posts, oldest first, for any signed-in caller."""
    query_object = PostFilter(author_id=user_id, **query.filters(), **query.window())
    page = await use_cases.list_posts(uow, principal, query_object)
    return PostPage(items=[PostOut.of(post) for post in page.items], **PageInfo.of(page))


@router.get("/posts/{post_id}", openapi_extra=READABLE_BY_ANY_SIGNED_IN_USER)
async def get_post(post_id: Id, uow: UnitOfWorkDep, principal: PrincipalDep) -> PostWithAuthorOut:
    """A post with its author, for any signed-in caller."""
    return PostWithAuthorOut.of_pair(await use_cases.get_post(uow, principal, post_id))
