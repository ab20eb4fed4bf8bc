"""Post use cases. Any signed-in principal reads every post; only the owner of a post's author
writes as that author."""

from datetime import UTC, datetime

from domain.errors import NotFound
from domain.fields import check_id
from domain.paging import Page
from domain.posts import Post, PostFilter, PostWithAuthor
from domain.principals import Principal
from service.contexts import BlogUnitOfWork
from service.retry import retried
from service.users import existing_user


@retried(idempotent=False)
async def write_post(
    uow: BlogUnitOfWork, principal: Principal, author_id: int, title: str, content: str | None
) -> Post:
    """A new post by one of the principal's users: NotFound for someone else's user (which
    they cannot see), Forbidden for an admin (who can)."""
    async with uow:
        author = await existing_user(uow, author_id)
        principal.check_may_change(author.owner, "user", author_id)
        post = Post.write(await uow.posts.next_id(), author.id, title, content, datetime.now(UTC))
        await uow.posts.add(post)
        await uow.commit(post)
    return post


@retried(idempotent=True)
async def get_post(uow: BlogUnitOfWork, principal: Principal, post_id: int) -> PostWithAuthor:
    """A post with its author, for any signed-in principal: posts are public among them."""
    async with uow.read_only():
        post = await uow.posts.get(check_id("post_id", post_id))
        if post is None:
            raise NotFound("post", post_id)
        return PostWithAuthor(post, await existing_user(uow, post.author_id))


@retried(idempotent=True)
async def list_posts(uow: BlogUnitOfWork, principal: Principal, query: PostFilter) -> Page[Post]:
    """Posts that match, for any signed-in principal; 404 when they are asked for by an author
    who does not exist."""
    async with uow.read_only():
        if query.author_id is not None:
            await existing_user(uow, query.author_id)
        return await uow.posts.find(query)
