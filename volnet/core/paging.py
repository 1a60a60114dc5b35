"""Paging for lists read as plain rows (Core selects of the columns a page shows).

``RowPage`` answers the same questions as Flask-SQLAlchemy's ``Pagination`` (``items``, ``page``,
``pages``, ``has_prev``/``has_next``, ``prev_num``/``next_num``, ``iter_pages``), so the ``pager``
macro renders either. Loading rows instead of ORM entities keeps busy list pages cheap.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from math import ceil

from sqlalchemy import Select, bindparam, func, select

from volnet.extensions import db

MAX_PAGE = 10_000


class RowPage:
    def __init__(self, items: list, page: int, per_page: int, total: int):
        self.items = items
        self.page = page
        self.per_page = per_page
        self.total = total

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.per_page), 1) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, left_edge: int = 2, left_current: int = 2, right_current: int = 4,
                   right_edge: int = 2) -> Iterator[int | None]:
        """Page numbers to link, ``None`` where a gap (…) goes; same rule as Flask-SQLAlchemy."""
        pages = self.pages
        if not pages:
            return
        left_end = min(1 + left_edge, pages + 1)
        yield from range(1, left_end)
        if left_end > pages:
            return
        mid_start = max(left_end, self.page - left_current)
        mid_end = min(self.page + right_current + 1, pages + 1)
        if mid_start - left_end > 0:
            yield None
        yield from range(mid_start, mid_end)
        if mid_end > pages:
            return
        right_start = max(mid_end, pages - right_edge + 1)
        if right_start - mid_end > 0:
            yield None
        yield from range(right_start, pages + 1)


PageLink = namedtuple("PageLink", "number href")  # number None: a gap (…); href None: this page
PagerLinks = namedtuple("PagerLinks", "prev next items")


def page_links(pagination, endpoint: str, args: dict) -> PagerLinks:
    """The pager's links for one list: the list's URL with its filters is built once and each page
    number appended (``url_for`` per link cost a busy list page ten URL builds)."""
    from flask import url_for

    base = url_for(endpoint, **{k: v for k, v in args.items() if k != "page"})
    sep = "&" if "?" in base else "?"

    def href(p: int) -> str:
        return f"{base}{sep}page={int(p)}"  # a number: nothing to encode

    items = [PageLink(p, None if p == pagination.page else href(p)) if p else PageLink(None, None)
             for p in pagination.iter_pages(left_edge=1, right_edge=1, left_current=2, right_current=2)]
    return PagerLinks(href(pagination.prev_num) if pagination.has_prev else None,
                      href(pagination.next_num) if pagination.has_next else None, items)


_record_types: dict[tuple[str, ...], type] = {}


def _record_type(keys: tuple[str, ...]):
    """A named tuple class per column list: templates read its fields many times per row, and a named
    tuple answers that far faster than a result row."""
    cls = _record_types.get(keys)
    if cls is None:
        cls = _record_types[keys] = namedtuple("Record", keys)  # noqa: PYI024
    return cls


class PagedQuery:
    """A list read one page at a time, as named tuples. Build it once (per filter shape) and reuse it:
    SQLAlchemy then neither rebuilds nor re-hashes the statements.

    ``rows`` is the ordered select of the columns a page shows, ``count`` the slim ``select(func.count())``
    with the same conditions. The total rides along with the page as an uncorrelated scalar subquery
    (evaluated once), so a page is one round trip. With ``totals`` (a ``TTLCache``) a total read in the
    last few seconds is reused and the page skips counting, which on a big list costs more than the page.
    """

    def __init__(self, rows: Select, count: Select):
        def paged(stmt: Select) -> Select:
            return stmt.limit(bindparam("p_limit")).offset(bindparam("p_offset"))

        self.rows_only = paged(rows)
        self.with_total = paged(rows.add_columns(count.scalar_subquery().label("page_total")))
        self.count = count

    def page(self, params: dict, page: int, per_page: int, totals=None, total_key=None) -> RowPage:
        page = min(max(page, 1), MAX_PAGE)
        bound = {**params, "p_limit": per_page, "p_offset": (page - 1) * per_page}
        total = totals.peek(total_key) if totals is not None else None
        result = db.session.execute(self.rows_only if total is not None else self.with_total, bound)
        if total is not None:
            cls = _record_type(tuple(result.keys()))
            return RowPage([cls._make(row) for row in result], page, per_page, total)
        cls = _record_type(tuple(result.keys())[:-1])
        items = []
        for row in result:
            items.append(cls._make(row[:-1]))
            total = row[-1]
        if total is None:  # an empty page: past the end (or nothing at all)
            total = 0 if page == 1 else (db.session.scalar(self.count, params) or 0)
        if totals is not None:
            totals.put(total_key, total)
        return RowPage(items, page, per_page, total)


def count_of(model, *conditions) -> Select:
    return select(func.count()).select_from(model).where(*conditions)
