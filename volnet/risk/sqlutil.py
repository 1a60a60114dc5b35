"""Bulk helpers: large IN lists as one array parameter on PostgreSQL (psycopg parses a 5,000-parameter
statement slowly), plain IN elsewhere; blocks of new ids; bulk inserts (binary COPY on PostgreSQL)."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Integer, String, any_, bindparam, cast, insert, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import UserDefinedType

from volnet.extensions import db


def is_pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def pg_array(values, kind: str = "int") -> str:
    """An array literal ('{1,2}', '{"a","b"}'), sent as one text parameter and cast by the statement:
    psycopg's list dumper costs ~1 ms per 1,000 items, this costs a tenth of that."""
    if kind == "int":
        return "{" + ",".join(str(int(v)) for v in values) + "}"
    if kind == "float":
        return "{" + ",".join(repr(float(v)) for v in values) + "}"
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


class _Untyped(UserDefinedType):
    """A parameter sent without a type (psycopg: unknown), so that CAST(... AS integer[]) types it once.
    A text-typed parameter would be cast again for every row the query reads."""

    cache_ok = True

    def get_col_spec(self, **kw):
        return "TEXT"


def member(col, values, kind: str = "int"):
    values = list(values)
    if is_pg():
        typ = ARRAY(Integer) if kind == "int" else ARRAY(String)
        return col == any_(cast(bindparam(None, value=pg_array(values, kind), type_=_Untyped()), typ))
    return col.in_(values)


_sequences: dict[tuple[str, str], str] = {}


def _sequence_of(table: str) -> str:
    """schema.name of the sequence of ``table``.id, from the catalog (once per database and table)."""
    key = (str(db.session.get_bind().url), table)
    seq = _sequences.get(key)
    if seq is None:
        seq = db.session.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
        if not seq or "'" in seq:
            raise ValueError(f"{table}.id has no sequence")
        _sequences[key] = seq
    return seq


def new_ids(table: str, n: int) -> list[int]:
    """Reserve n primary keys: the sequence on PostgreSQL; on SQLite the write lock is already held
    (BEGIN IMMEDIATE), so max(id)+1 ... is safe."""
    if n <= 0:
        return []
    assert table.isidentifier()  # a constant table name, never user input
    if is_pg():
        # The sequence is looked up first: pg_get_serial_sequence() inside the generate_series query would run
        # once per value (~8 us each); with the name as a literal, nextval() costs well under 1 us.
        seq = _sequence_of(table)
        sql = f"SELECT array_agg(nextval('{seq}'::regclass)) FROM generate_series(1, :n)"  # noqa: S608
        return list(db.session.scalar(text(sql), {"n": n}))
    if table == "households":  # never a number merged away or erased (households.models)
        from volnet.households.models import SQLITE_NEXT_HOUSEHOLD_ID

        start = db.session.scalar(SQLITE_NEXT_HOUSEHOLD_ID) - 1
    else:
        start = db.session.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")) or 0  # noqa: S608
    return list(range(start + 1, start + 1 + n))


class Prepared:
    """Rows made ready for ``insert_prepared`` (see ``prepare``): binary COPY data, or the rows themselves."""

    __slots__ = ("table", "cols", "data", "rows")

    def __init__(self, table, cols: list[str], data: bytes | None = None, rows: list[tuple] | None = None):
        self.table, self.cols, self.data, self.rows = table, cols, data, rows


def prepare(table, cols: list[str], rows: Iterable[tuple]) -> Prepared:
    """Rows formatted for an insert ahead of time, so that another thread (the import's writers) only sends
    them: on PostgreSQL the binary COPY data (signature, rows, trailer), formatted with this session's
    connection's adapters but sent nowhere (psycopg's FileWriter); elsewhere the rows as a list. Same
    defaults as ``bulk_insert``."""
    cols, rows = _with_defaults(table, cols, rows)
    if not is_pg():
        return Prepared(table, cols, rows=list(rows))
    import io

    from psycopg import Copy
    from psycopg.copy import FileWriter

    types, buf = _copy_types(table, cols), io.BytesIO()
    with _raw_cursor() as cur, Copy(cur, binary=True, writer=FileWriter(buf)) as cp:
        _write_rows(cp, types, rows)
    return Prepared(table, cols, data=buf.getvalue())


def insert_prepared(p: Prepared) -> None:
    """Insert what ``prepare`` made, in the session's transaction."""
    if p.data is not None:
        with _raw_cursor() as cur, cur.copy(_copy_sql(p.table, p.cols)) as cp:
            cp.write(p.data)
    else:
        _execute_many(p.table, p.cols, p.rows)


def bulk_insert(table, cols: list[str], rows: Iterable[tuple]) -> None:
    """Insert rows (tuples in ``cols`` order) in the session's transaction: binary COPY on PostgreSQL
    (psycopg), executemany elsewhere. NOT NULL columns left out get the model's default (a column added to
    the model later does not break the caller). ``rows`` may be a generator: on PostgreSQL the database
    stores the first rows while the next are being made."""
    cols, rows = _with_defaults(table, cols, rows)
    if is_pg():
        types = _copy_types(table, cols)  # before COPY starts: the connection runs nothing else during it
        with _raw_cursor() as cur, cur.copy(_copy_sql(table, cols)) as cp:
            _write_rows(cp, types, rows)
        return
    _execute_many(table, cols, rows)


def _with_defaults(table, cols: list[str], rows: Iterable[tuple]) -> tuple[list[str], Iterable[tuple]]:
    extra_cols, extra = _defaults_for(table, cols)
    if extra:
        return cols + extra_cols, (row + extra for row in rows)
    return cols, rows


def _raw_cursor():
    return db.session.connection().connection.dbapi_connection.cursor()


def _copy_sql(table, cols: list[str]) -> str:
    return f"COPY {table.name} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)"


def _copy_types(table, cols: list[str]) -> list[int]:
    """Type oids of ``cols``: binary COPY sends each value in its column's own format."""
    oids = _column_types(table.name)
    return [oids[c] for c in cols]


def _write_rows(cp, types: list[int], rows: Iterable[tuple]) -> None:
    cp.set_types(types)
    for row in rows:
        cp.write_row(row)


def _execute_many(table, cols: list[str], rows: Iterable[tuple]) -> None:
    params = [dict(zip(cols, row, strict=True)) for row in rows]
    if params:
        db.session.execute(insert(table), params)


_types: dict[tuple[str, str], dict[str, int]] = {}


def _column_types(table: str) -> dict[str, int]:
    """Column name -> type oid (binary COPY sends each value in its column's own format)."""
    key = (str(db.session.get_bind().url), table)
    got = _types.get(key)
    if got is None:
        got = _types[key] = dict(db.session.execute(text(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
            "AND attnum > 0 AND NOT attisdropped"), {"t": table}).all())
    return got


def _defaults_for(table, cols: list[str]) -> tuple[list[str], tuple]:
    """NOT NULL columns missing from ``cols`` and their model defaults."""
    given = set(cols)
    names, values = [], []
    for col in table.columns:
        if col.name in given or col.nullable or col.primary_key or col.server_default is not None:
            continue
        default = col.default
        if default is None or not (default.is_scalar or default.is_callable):
            raise ValueError(f"{table.name}.{col.name}: no value and no default")
        names.append(col.name)
        values.append(default.arg if default.is_scalar else default.arg(None))
    return names, tuple(values)
