"""The Post aggregate: a text written by an existing user."""

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.fields import check_bool, check_id, check_moment, check_text
from domain.paging import DEFAULT_LIMIT, Cursor, Page, Position, check_cursor, check_window
from domain.users import User

TITLE_MAX_LENGTH = 200
# A page of users counts each one's posts this far, so that the page stays bounded however
# many posts a user writes: a count of POSTS_COUNTED + 1 means "more than POSTS_COUNTED".
POSTS_COUNTED = 1_000
CONTENT_MAX_LENGTH = 10_000


@dataclass(frozen=True, slots=True)
class PostTitle:
    text: str

    def __post_init__(self) -> None:
        check_text("title", self.text, min_length=1, max_length=TITLE_MAX_LENGTH)


@dataclass(frozen=True, slots=True)
class PostContent:
    text: str

    def __post_init__(self) -> None:
        check_text("content", self.text, min_length=0, max_length=CONTENT_MAX_LENGTH)


@dataclass(slots=True)
class Post:
    id: int
    author_id: int
    title: PostTitle
    content: PostContent | None  # None (never written) is not the same as ""
    created_at: datetime
    published: bool = False

    def __post_init__(self) -> None:
        check_id("id", self.id)
        check_id("author_id", self.author_id)
        check_moment("created_at", self.created_at)
        check_bool("published", self.published)

    @classmethod
    def write(
        cls, id: int, author_id: int, title: str, content: str | None, now: datetime
    ) -> "Post":
        body = None if content is None else PostContent(content)
        return cls(id, author_id, PostTitle(title), body, now)


@dataclass(frozen=True, slots=True)
class PostFilter:
    """Which posts to list: one author's, or everyone's; ordered by id."""

    author_id: int | None = None
    published: bool | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: Cursor | None = None  # (id,) of the post the page before ended on
    with_total: bool = False

    def __post_init__(self) -> None:
        if self.author_id is not None:
            check_id("author_id", self.author_id)
        if self.published is not None:
            check_bool("published", self.published)
        check_cursor(self.after, (int,))
        check_window(self.limit, self.offset, self.after)
        check_bool("with_total", self.with_total)

    def matches(self, post: Post) -> bool:
        """Whether `post` passes every filter (each has an index)."""
        return (self.author_id is None or post.author_id == self.author_id) and (
            self.published is None or post.published == self.published
        )


def post_position(post: Post) -> Position:
    return (post.id,)


@dataclass(frozen=True, slots=True)
class PostWithAuthor:
    post: Post
    author: User


@dataclass(frozen=True, slots=True)
class UserWithPosts:
    user: User
    posts: tuple[Post, ...]  # the first ones by id, as many as were asked for
    posts_total: int  # how many the user has, counted up to POSTS_COUNTED + 1


class AbstractPostRepository(abc.ABC):
    @abc.abstractmethod
    async def next_id(self) -> int: ...

    @abc.abstractmethod
    async def add(self, post: Post) -> None: ...

    @abc.abstractmethod
    async def get(self, id: int) -> Post | None: ...

    @abc.abstractmethod
    async def find(self, query: PostFilter) -> Page[Post]:
        """The page of the posts that match that `query` asks for (domain.paging), ordered
        by id; with their total if it asks."""

    @abc.abstractmethod
    async def by_authors(
        self, author_ids: Sequence[int], per_author: int | None = None
    ) -> dict[int, list[Post]]:
        """Each author's posts ordered by id (the first `per_author` of them when given),
        fetched at once: no query per author."""

    @abc.abstractmethod
    async def count_by_authors(self, author_ids: Sequence[int]) -> dict[int, int]:
        """How many posts each author has, counting up to POSTS_COUNTED + 1 (more than
        POSTS_COUNTED: at least that many); authors with none are left out."""
