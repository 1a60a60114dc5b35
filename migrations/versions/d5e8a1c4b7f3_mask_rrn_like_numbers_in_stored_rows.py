"""Mask resident-registration-like numbers already stored raw by a crisis-list import

A number of the RRN shape that failed the check (month 13, a digit too many) used to be kept as it was in
the rows an import refused (risk_bad_rows.detail and .content), in the preview of the mapping page
(risk_rounds.preview) and in the staged rows of lists not imported yet (risk_upload_chunks). They are
masked here as volnet.risk.rrn masks them now: 511309-*******.

Revision ID: d5e8a1c4b7f3
Revises: b7d41e0c9a52
Create Date: 2026-12-04 02:30:00

"""
import json
import re
import zlib

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = 'd5e8a1c4b7f3'
down_revision = 'b7d41e0c9a52'
branch_labels = None
depends_on = None

# The patterns of volnet.risk.rrn at this revision (a migration does not import the application).
_TOKEN = r"RRNH:[0-9a-f]{64}:\d{6}-\d"  # noqa: S105 - a hash token pattern, kept as it is (its hex holds digits)
# Between the halves: nothing, or up to three of hyphen, space, dot, slash, underscore or middle dot.
_SEP = r"[\s.\-_/\u00b7]{0,3}"
_SHAPE = re.compile(rf"({_TOKEN})|(?<!\d)(\d{{6}}){_SEP}(\d)\d{{6}}(?!\d)", re.ASCII)
_LOOSE = re.compile(rf"({_TOKEN})|(?<!\d)(\d{{6}}){_SEP}(\d)\d{{5,7}}(?!\d)", re.ASCII)
CHUNK_BYTES = 1 << 20
BATCH = 2000


def _valid_front(front: str, digit: str) -> bool:
    month, day = int(front[2:4]), int(front[4:6])
    return 1 <= month <= 12 and 1 <= day <= 31 and digit in "12345678"


def _masker(pattern):
    """One pass, tokens skipped: a valid number as 900101-1******, any other as 511309-*******."""
    def one(m):
        if m.group(1):
            return m.group(1)
        front, digit = m.group(2), m.group(3)
        whole = re.sub(r"\D", "", m.group(0))
        if len(whole) == 13 and _valid_front(front, digit):
            return f"{front}-{digit}******"
        return f"{front}-*******"

    def sub(text):
        return pattern.sub(one, text) if text else text
    return sub


_mask_shape = _masker(_SHAPE)
_mask_loose = _masker(_LOOSE)


def _bad_rows(conn):
    rows = sa.table("risk_bad_rows", sa.column("id", sa.Integer), sa.column("detail", sa.String),
                    sa.column("content", sa.Text))
    last = 0
    while True:
        batch = conn.execute(sa.select(rows.c.id, rows.c.detail, rows.c.content).where(rows.c.id > last)
                             .order_by(rows.c.id).limit(BATCH)).all()
        if not batch:
            return
        for rid, detail, content in batch:
            new_detail, new_content = _mask_loose(detail or ""), _mask_loose(content or "")
            if (new_detail, new_content) != (detail or "", content or ""):
                conn.execute(rows.update().where(rows.c.id == rid)
                             .values(detail=new_detail[:200], content=new_content))
        last = batch[-1][0]


def _previews(conn):
    json_type = JSONB() if conn.dialect.name == "postgresql" else sa.JSON()
    rounds = sa.table("risk_rounds", sa.column("id", sa.Integer), sa.column("preview", json_type))
    for rid, preview in conn.execute(sa.select(rounds.c.id, rounds.c.preview)).all():
        if isinstance(preview, str):
            preview = json.loads(preview)
        if not preview:
            continue
        new = [[_mask_shape(c) if isinstance(c, str) else c for c in row] if isinstance(row, list) else row
               for row in preview]
        if new != preview:
            conn.execute(rounds.update().where(rounds.c.id == rid).values(preview=new))


def _chunks(conn):
    chunks = sa.table("risk_upload_chunks", sa.column("round_id", sa.Integer), sa.column("seq", sa.Integer),
                      sa.column("data", sa.LargeBinary))
    for (round_id,) in conn.execute(sa.select(chunks.c.round_id).distinct()).all():
        dec = zlib.decompressobj()
        parts = [dec.decompress(data) for (data,) in conn.execute(
            sa.select(chunks.c.data).where(chunks.c.round_id == round_id).order_by(chunks.c.seq))]
        parts.append(dec.flush())
        text = b"".join(parts).decode("utf-8", errors="replace")
        masked = _mask_shape(text)
        if masked == text:
            continue
        comp = zlib.compressobj(1)
        blob = comp.compress(masked.encode("utf-8")) + comp.flush()
        conn.execute(chunks.delete().where(chunks.c.round_id == round_id))
        for seq, start in enumerate(range(0, len(blob), CHUNK_BYTES)):
            conn.execute(chunks.insert().values(round_id=round_id, seq=seq, data=blob[start:start + CHUNK_BYTES]))


def upgrade():
    conn = op.get_bind()
    _bad_rows(conn)
    _previews(conn)
    _chunks(conn)


def downgrade():
    pass  # the raw numbers are gone, as they should be
