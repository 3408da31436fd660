"""Keyset paging of listings: ``limit`` rows after the serial ``offset``.

Taler's convention: a positive ``limit`` walks upwards from ``offset`` (default:
the start), a negative one downwards from it (default: the end).
"""
from dataclasses import dataclass

from ..ids import MAX_SERIAL


@dataclass(frozen=True)
class Page:
    """The SQL of one page by ``column``: a condition and an ORDER BY ... LIMIT."""

    condition: str
    order: str
    params: dict


def page(column: str, limit: int, offset: int | None) -> Page:
    if limit >= 0:
        return Page(f"{column} > %(page_offset)s", f"ORDER BY {column} LIMIT %(page_limit)s",
                    {"page_offset": 0 if offset is None else offset, "page_limit": limit})
    return Page(f"{column} < %(page_offset)s", f"ORDER BY {column} DESC LIMIT %(page_limit)s",
                {"page_offset": MAX_SERIAL if offset is None else offset,
                 "page_limit": -limit})
