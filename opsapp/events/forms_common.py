"""What the events forms share."""

from __future__ import annotations


def strip(value):
    """A field filter: text as typed without surrounding spaces (other values untouched)."""
    return value.strip() if isinstance(value, str) else value
