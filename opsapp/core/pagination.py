"""One way to paginate a list page: a count, the rows of one page, links that keep the filters."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from flask import request
from sqlalchemy import Select, func, select

from opsapp.extensions import db


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def args_for(self, page: int) -> dict:
        """The current query string with another page number, for url_for(..., **args)."""
        args = request.args.to_dict()
        args["page"] = page
        return args


def paginate(query: Select, per_page: int = 25, page: int | None = None) -> Page:
    if page is None:
        try:
            page = max(1, int(request.args.get("page", 1)))
        except ValueError:
            page = 1
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, ceil(total / per_page))
    page = min(page, pages)
    items = list(db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).scalars())
    return Page(items, total, page, per_page)
