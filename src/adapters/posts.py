"""Post repositories: SQLAlchemy on dqlite, and its in-memory twin."""

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    String,
    TableValuedAlias,
    Text,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from adapters import pages
from adapters.memory.table import InMemoryTable
from adapters.orm import (
    AwareDateTime,
    Base,
    Connection,
    Flag,
    get_row,
    insert,
    next_id,
    rows,
)
from domain.errors import AlreadyExists
from domain.paging import Page
from domain.posts import (
    POSTS_COUNTED,
    TITLE_MAX_LENGTH,
    AbstractPostRepository,
    Post,
    PostContent,
    PostFilter,
    PostTitle,
    post_position,
)


class PostRow(Base):
    __tablename__ = "posts"
    # Each list filter, alone or with the author, in id order (an index ends with the id).
    __table_args__ = (
        Index("ix_posts_published", "published"),
        Index("ix_posts_author_id_published", "author_id", "published"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    content: Mapped[str | None] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Flag)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime)


class SqlAlchemyPostRepository(AbstractPostRepository):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def next_id(self) -> int:
        return await next_id(self._connection, PostRow.id)

    async def add(self, post: Post) -> None:
        await insert(self._connection, _to_row(post), AlreadyExists("post", post.id))

    async def get(self, id: int) -> Post | None:
        row = await get_row(self._connection, PostRow, id)
        return None if row is None else _to_post(row)

    async def find(self, query: PostFilter) -> Page[Post]:
        listing = pages.Listing(PostRow, (PostRow.id,), _conditions(query))
        page = await pages.find(self._connection, listing, query)
        return Page(tuple(_to_post(row) for row in page.items), page.next, page.total)

    async def by_authors(
        self, author_ids: Sequence[int], per_author: int | None = None
    ) -> dict[int, list[Post]]:
        if not author_ids:
            return {}
        authors = _ids_in_one_parameter(author_ids)
        if per_author is None:
            of_authors = PostRow.author_id.in_(select(authors.c.value))
            statement = select(PostRow).where(of_authors).order_by(PostRow.id)
        else:  # each author's first posts, from its index: a walk of per_author rows each
            first = (
                select(PostRow.id)
                .where(PostRow.author_id == authors.c.value)
                .order_by(PostRow.id)
                .limit(per_author)
                .correlate(authors)
            )
            statement = (
                select(PostRow)
                .select_from(authors)
                .join(PostRow, PostRow.id.in_(first.scalar_subquery()))
                .order_by(PostRow.id)
            )
        found = await rows(self._connection, PostRow, statement)
        return _group_by_author(_to_post(row) for row in found)

    async def count_by_authors(self, author_ids: Sequence[int]) -> dict[int, int]:
        if not author_ids:
            return {}
        authors = _ids_in_one_parameter(author_ids)
        walked = (  # each author's posts, from its index, up to the count's bound
            select(literal(1))
            .where(PostRow.author_id == authors.c.value)
            .limit(POSTS_COUNTED + 1)
            .correlate(authors)
            .subquery()
        )
        count = select(func.count()).select_from(walked).scalar_subquery()
        statement = select(authors.c.value, count).where(count > 0)
        return {author: n for author, n in (await self._connection.execute(statement)).all()}


def _ids_in_one_parameter(ids: Sequence[int]) -> TableValuedAlias:
    """Each id once, as a table (an id named twice would join its posts twice)."""
    # One JSON parameter, not one per id: libdqlite 1.11 misreads a statement with more than
    # 255 parameters (see adapters/dqlite/engine.py).
    return func.json_each(json.dumps(sorted(set(ids)))).table_valued("value")


def _conditions(query: PostFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.author_id is not None:
        conditions.append(PostRow.author_id == query.author_id)
    if query.published is not None:
        conditions.append(PostRow.published == query.published)
    return conditions


def _group_by_author(posts: Iterable[Post]) -> dict[int, list[Post]]:
    grouped: dict[int, list[Post]] = defaultdict(list)
    for post in posts:
        grouped[post.author_id].append(post)
    return dict(grouped)


def _to_row(post: Post) -> PostRow:
    return PostRow(
        id=post.id,
        author_id=post.author_id,
        title=post.title.text,
        content=None if post.content is None else post.content.text,
        published=post.published,
        created_at=post.created_at,
    )


def _to_post(row: PostRow) -> Post:
    content = None if row.content is None else PostContent(row.content)
    return Post(row.id, row.author_id, PostTitle(row.title), content, row.created_at, row.published)


class InMemoryPostRepository(AbstractPostRepository):
    def __init__(self, table: InMemoryTable[int, Post]) -> None:
        self._table = table

    async def next_id(self) -> int:
        return self._table.next_id()

    async def add(self, post: Post) -> None:
        if self._table.get(post.id) is not None:
            raise AlreadyExists("post", post.id)
        self._table.put(post.id, post)

    async def get(self, id: int) -> Post | None:
        return self._table.get(id)

    async def find(self, query: PostFilter) -> Page[Post]:
        return self._table.page(query, narrows=query.matches, scans=None, position=post_position)

    async def by_authors(
        self, author_ids: Sequence[int], per_author: int | None = None
    ) -> dict[int, list[Post]]:
        wanted = set(author_ids)
        grouped = _group_by_author(self._table.find(lambda p: p.author_id in wanted, order=_by_id))
        return {author: posts[:per_author] for author, posts in grouped.items()}

    async def count_by_authors(self, author_ids: Sequence[int]) -> dict[int, int]:
        wanted = set(author_ids)
        counts: dict[int, int] = defaultdict(int)
        for post in self._table.find(lambda p: p.author_id in wanted, order=_by_id):
            counts[post.author_id] += 1
        return {author: min(count, POSTS_COUNTED + 1) for author, count in counts.items()}


def _by_id(post: Post) -> int:
    return post.id
