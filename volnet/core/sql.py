"""Small SQL helpers that read the same on SQLite and PostgreSQL."""
from __future__ import annotations

from volnet.extensions import db


def _insert(target):
    """The dialect's INSERT (with ``ON CONFLICT``; SQLite 3.24+ has it too) for the session's database."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(target)


def insert_ignoring(target, index_elements: list[str], index_where=None):
    """``INSERT … ON CONFLICT (index_elements) [WHERE …] DO NOTHING`` for the session's database.

    The statement comes from the dialect in use so that the same code runs on either database. Add
    ``.returning(...)``: no row comes back when the row already existed.
    """
    return _insert(target).on_conflict_do_nothing(index_elements=index_elements, index_where=index_where)


def constraint_name(exc) -> str | None:
    """The constraint a database error names: SQLAlchemy's wrapper or the driver's own error (PostgreSQL,
    from psycopg's diagnostics; None on SQLite, whose errors carry only a message)."""
    orig = getattr(exc, "orig", exc)
    return getattr(getattr(orig, "diag", None), "constraint_name", None)


def lock_rows(model, ids) -> None:
    """``SELECT … FOR NO KEY UPDATE`` of these rows in id order (PostgreSQL; SQLite has one writer at a
    time anyway): a second request doing the same waits here for the first to commit. NO KEY: inserts of
    rows that refer to them (which take key-share locks) are not blocked."""
    from sqlalchemy import select

    db.session.execute(select(model.id).where(model.id.in_(list(ids))).order_by(model.id)
                       .with_for_update(key_share=True))


def upsert(model, keys: list[str], values: dict) -> None:
    """Write one row by its key, inserting or updating, in one statement (``INSERT … ON CONFLICT (keys)
    DO UPDATE``): two requests saving the first row of a key at once both succeed, the later one's values
    win. When ``keys`` are the primary key, the session's copy of the row, if any, is expired so that it is
    read afresh."""
    stmt = _insert(model.__table__).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=keys,
                                      set_={k: stmt.excluded[k] for k in values if k not in keys})
    db.session.execute(stmt)
    if keys == [c.name for c in model.__table__.primary_key]:
        ident = tuple(values[k] for k in keys)
        expire_cached(model, ident[0] if len(ident) == 1 else ident)


def expire_cached(model, ident) -> None:
    """After a plain UPDATE of one row, drop the session's copy of it (if any), so it is read afresh."""
    obj = db.session.identity_map.get(db.session.identity_key(model, ident))
    if obj is not None:
        db.session.expire(obj)


_prebuilt: dict[tuple[str, str], object] = {}


def prebuilt(name: str, build):
    """A statement built once per process and database kind: ``build(dialect_name)``.

    Hot paths (every report, every page) reuse the same statement object with bound parameters, so
    SQLAlchemy neither rebuilds it nor recomputes its cache key on each call.
    """
    dialect = db.session.get_bind().dialect.name
    key = (name, dialect)
    stmt = _prebuilt.get(key)
    if stmt is None:
        stmt = _prebuilt[key] = build(dialect)
    return stmt
