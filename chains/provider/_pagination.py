"""Page limits of the provider's paginated queries (P-35)."""

from __future__ import annotations

__all__ = ["DEFAULT_PAGE_LIMIT", "MAX_PAGE_LIMIT", "page_limit"]

DEFAULT_PAGE_LIMIT = 10
MAX_PAGE_LIMIT = 30


def page_limit(limit: int | None) -> int:
    """The number of items a page holds: 10 by default, at most 30 (P-35 [rec]).

    The reference computes ``max(limit or 10, 30)`` (at least 30, no cap) **[ref-quirk]**;
    this build caps a larger ``limit`` at 30 instead. A negative limit counts as 0.
    """
    if limit is None:
        return DEFAULT_PAGE_LIMIT
    return max(0, min(limit, MAX_PAGE_LIMIT))
