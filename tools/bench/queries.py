"""What the data-at-scale bench asks the app: one row by key or id, a first page and a page
90% of the way into each list's filter, a write, and readiness; each timed with wrk."""

import urllib.parse
from dataclasses import dataclass

from tools.bench.client import get
from tools.bench.fill import GROUP, todo_key
from tools.bench.measure import from_wrk, wrk

DEEP_SHARE = 0.9
WALK_LIMIT = 1000  # the API's largest page: the fewest requests to walk a list


@dataclass(frozen=True)
class Listing:
    name: str
    path: str  # with its filters
    admin: bool = False  # asked by an admin, who sees every owner's


LISTINGS = (
    Listing("GET /todos?done=true", "/todos?done=true"),
    Listing(f"GET /todos?key_contains=-{GROUP}", f"/todos?key_contains=-{GROUP}"),
    Listing(f"GET /todos?value_contains={GROUP}", f"/todos?value_contains={GROUP}"),
    Listing("GET /todos as admin (every owner)", "/todos", admin=True),
    Listing("GET /users?active=true", "/users?active=true"),
    Listing(f"GET /users?name_contains={GROUP}", f"/users?name_contains={GROUP}"),
    Listing(
        f"GET /users?email_contains=.{GROUP.upper()}@",
        f"/users?email_contains=.{GROUP.upper()}%40",
    ),
    Listing("GET /users?include_posts=true", "/users?include_posts=true"),
    Listing("GET /users/1/posts?published=true", "/users/1/posts?published=true"),
    Listing("GET /transfers?account=1", "/transfers?account=1"),
)
FIRST, DEEP = "first page", "page 90% deep"
POINT_READS = ("GET /todos/{key}", "GET /users/{id}", "GET /posts/{id}", "GET /accounts/{id}")
WRITE, READY = "POST /todos", "GET /ready"


def point_paths(rows: int) -> dict[str, str]:
    """Each point read's path: the row in the middle of the table."""
    middle = rows // 2
    paths = (f"/todos/{todo_key(middle)}", f"/users/{middle}", f"/posts/{middle}")
    return dict(zip(POINT_READS, (*paths, f"/accounts/{middle}"), strict=True))


def with_query(path: str, **parameters: object) -> str:
    joined = urllib.parse.urlencode({k: v for k, v in parameters.items() if v is not None})
    if not joined:
        return path
    return f"{path}{'&' if '?' in path else '?'}{joined}"


def deep_page(url: str, path: str, authorization: str) -> tuple[int, int, str | None]:
    """How many items the list at `path` holds, and where its page 90% of the way in starts:
    the items before it and the cursor (`after`) that asks for it; None if it is the first."""
    starts: list[tuple[int, str | None]] = []  # each page's items before it, and its cursor
    seen, cursor = 0, None
    while True:
        starts.append((seen, cursor))
        page = get(url + with_query(path, limit=WALK_LIMIT, after=cursor), authorization)
        seen, cursor = seen + len(page["items"]), page["next"]
        if cursor is None:
            break
    target = int(seen * DEEP_SHARE)
    before, cursor = max((start for start in starts if start[0] <= target), key=lambda s: s[0])
    while before < target:  # from the page before it, to the item itself
        limit = min(WALK_LIMIT, target - before)
        page = get(url + with_query(path, limit=limit, after=cursor), authorization)
        if page["next"] is None:
            break
        before, cursor = before + len(page["items"]), page["next"]
    return seen, before, cursor


def timed(
    url: str, name: str, path: str, seconds: float, authorization: str, tag: str
) -> dict[str, object]:
    """GET `path` with wrk, one client, for `seconds` (after a warm-up of a second, unless a
    smoke run's loads are shorter than 2 s)."""
    arguments = [path] if authorization else [path, "open"]
    if seconds >= 2:
        wrk(url, "get_path.lua", 1, 1, [f"{tag}w", *arguments], authorization)
    summary = wrk(url, "get_path.lua", 1, seconds, [tag, *arguments], authorization)
    return from_wrk(name, "node", 1, summary).as_dict()


def timed_writes(url: str, seconds: float, authorization: str, tag: str) -> dict[str, object]:
    """POST /todos with wrk, one client, each with a key of its own."""
    if seconds >= 2:
        wrk(url, "post_todos.lua", 1, 1, [f"{tag}w"], authorization)
    summary = wrk(url, "post_todos.lua", 1, seconds, [tag], authorization)
    return from_wrk(WRITE, "node", 1, summary).as_dict()
