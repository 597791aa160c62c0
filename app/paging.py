"""Paging in the two ways every client pages: Relay's `first/after` and `page/pageSize`."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from app.errors import FieldErrors

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int | None:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return offset if kind == "offset" and offset >= 0 else None


def page_from(
    first: int | None = None, after: str | None = None, page: int | None = None, page_size: int | None = None
) -> Page:
    """Relay (`first/after`) or page-number (`page/pageSize`) paging, validated."""
    errors = FieldErrors()
    size = first if first is not None else page_size
    if size is None:
        size = DEFAULT_PAGE_SIZE
    if not 0 <= size <= MAX_PAGE_SIZE:
        errors.add("first" if first is not None else "pageSize", f"must be between 0 and {MAX_PAGE_SIZE}")
    offset = 0
    if after is not None:
        decoded = decode_cursor(after)
        if decoded is None:
            errors.add("after", "is not a valid cursor")
        else:
            offset = decoded + 1
    elif page is not None:
        if page < 1:
            errors.add("page", "must be 1 or more")
        else:
            offset = (page - 1) * size
    errors.raise_if_any()
    return Page(offset=offset, limit=size)


def window(items: Sequence[T], page: Page) -> list[T]:
    """The items of one page of an ordered sequence held in memory."""
    return list(items[page.offset : page.offset + page.limit])
