"""E4 Show Feed's pages: which entries page N of a feed holds. Pure, and light to import (the
CLI's `show --page` needs it without the SLA rules)."""

from __future__ import annotations

FEED_PAGE_SIZE = 50
MAX_FEED_PAGE_SIZE = 500


def feed_window(total: int, page: int, size: int = FEED_PAGE_SIZE) -> tuple[int, int]:
    """E4 Show Feed, newest first: the (offset, limit) of page `page` (1 = the newest `size`
    entries) of a feed of `total` entries, in the order they happened. Past the oldest page,
    an empty window."""
    if page < 1 or not 1 <= size <= MAX_FEED_PAGE_SIZE:
        raise ValueError(f"page starts at 1 and holds 1 to {MAX_FEED_PAGE_SIZE} entries")
    end = max(total - (page - 1) * size, 0)
    start = max(end - size, 0)
    return start, end - start
