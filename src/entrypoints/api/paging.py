"""What every list endpoint takes and answers beside its own filters and items: the window
(`limit`, `offset`, `after`, `total`) and the page's `next` cursor and total."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.paging import (
    COUNT_LIMIT,
    CURSOR_MAX_LENGTH,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    SCAN_LIMIT,
    SEARCH_MIN_LENGTH,
    Cursor,
    Page,
)

WINDOW_FIELDS = frozenset({"limit", "offset", "after", "total"})


class ListQuery(BaseModel):
    """A list endpoint's query parameters; each subclass adds its filters."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page, at most.")
    offset: int = Field(
        0,
        ge=0,
        le=MAX_OFFSET,
        description="Items to skip. Not with `after`, nor with a substring filter; "
        "deeper than this, follow `next`.",
    )
    after: str | None = Field(
        None,
        max_length=CURSOR_MAX_LENGTH,
        description="The `next` of the page before: the page starts after it.",
    )
    total: bool = Field(
        False, description=f"Count the items that match, up to {COUNT_LIMIT:,} walked."
    )

    def window(self) -> dict[str, Any]:
        """The query object's window arguments (limit, offset, after, with_total)."""
        after = None if self.after is None else Cursor.decode(self.after)
        return {
            "limit": self.limit,
            "offset": self.offset,
            "after": after,
            "with_total": self.total,
        }

    def filters(self, *left_out: str) -> dict[str, Any]:
        """The subclass's filters, by name, but those `left_out`."""
        return self.model_dump(exclude={*WINDOW_FIELDS, *left_out})


class PageInfo(BaseModel):
    """What every page answers beside its items."""

    next: str | None = Field(
        description="Pass as `after` for the page that follows; null when the list is done. "
        f"A substring of {SEARCH_MIN_LENGTH} characters or more is looked up in an index; "
        f"a shorter one, or one that more than {SCAN_LIMIT:,} items hold, is looked for in at "
        f"most {SCAN_LIMIT:,} items a page goes through, so that page may hold fewer than "
        "`limit` (even none) while `next` is not null."
    )
    total: int | None = Field(
        None, description="How many items match, when asked for with `total=true`."
    )
    total_capped: bool = Field(
        False,
        description=f"Counting stopped after {COUNT_LIMIT:,} items: at least `total` match.",
    )

    @staticmethod
    def of(page: Page[Any]) -> dict[str, Any]:
        """`page`'s next, total and total_capped, as a page model's fields."""
        return {
            "next": None if page.next is None else page.next.encode(),
            "total": None if page.total is None else page.total.count,
            "total_capped": page.total is not None and page.total.capped,
        }
