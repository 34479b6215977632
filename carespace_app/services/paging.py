"""A page of a list read from the database: never more rows than asked for."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, List, TypeVar

T = TypeVar("T")
MAX_PAGE_SIZE = 100


@dataclass
class Page(Generic[T]):
    items: List[T] = field(default_factory=list)
    offset: int = 0
    limit: int = 20
    has_more: bool = False


def clamp(offset: int, limit: int) -> tuple[int, int]:
    """Browser-sent paging values, made safe."""
    try:
        offset, limit = int(offset), int(limit)
    except (TypeError, ValueError):
        return 0, 20
    return max(0, offset), min(max(1, limit), MAX_PAGE_SIZE)


def page_of(rows: list, offset: int, limit: int) -> Page:
    """Callers fetch ``limit + 1`` rows; the extra one only says whether more exist."""
    return Page(items=list(rows[:limit]), offset=offset, limit=limit, has_more=len(rows) > limit)
