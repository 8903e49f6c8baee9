"""Searching by the words people type in a list's filter: a case-insensitive "contains" on a
column, with `%`, `_` and the escape character itself taken literally."""

from __future__ import annotations

from sqlalchemy import func

ESCAPE = "!"


def like_pattern(text: str) -> str:
    """The LIKE pattern that finds `text` anywhere (lower case; use with `escape=ESCAPE`)."""
    escaped = text.strip().lower().replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def contains(column, text: str):
    """The condition "the column (lower case; NULL as empty) holds `text`"."""
    return func.lower(func.coalesce(column, "")).like(like_pattern(text), escape=ESCAPE)
