"""Redirect targets taken from the request (`next=`) are followed only within this site."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """A local path to redirect to, or None when the target could lead elsewhere."""
    if not target:
        return None
    target = target.strip()
    if any(c in target for c in "\\\r\n\t") or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
