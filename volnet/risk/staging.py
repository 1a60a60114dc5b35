"""Reading an uploaded public crisis list (CSV in UTF-8/CP949, or .xlsx) at the edge.

Decision (privacy): the uploaded bytes stay in memory only (≤ MAX_CONTENT_LENGTH, 64 MB; the upload view
installs an in-memory stream so Werkzeug never spills the raw file to a temp file). While reading, every
cell that holds a resident registration number is replaced by its keyed hash token (rrn.Sanitizer), and
only those sanitized rows are written — zlib-compressed, in chunks — to risk_upload_chunks, where the
import job (RQ, maybe on another host) reads them; the chunks are deleted when the import is done.
No raw number reaches the database, the logs, a temp file or an error message.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import zlib
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import BinaryIO

from sqlalchemy import insert

from volnet.extensions import db
from volnet.risk import rrn
from volnet.risk.indicators import fold
from volnet.risk.models import UploadChunk

CHUNK_BYTES = 1 << 20          # compressed bytes per stored chunk
TEXT_BUFFER = 256 * 1024       # characters of CSV text compressed at a time
MAX_HEADER_SCAN = 20
PREVIEW_ROWS = 5
csv.field_size_limit(1 << 20)


class UploadError(ValueError):
    """The file cannot be read at all. ``code`` is translated by the view."""

    def __init__(self, code: str, row: int | None = None):
        super().__init__(code)
        self.code = code
        self.row = row


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then CP949 (a superset of EUC-KR). A multi-byte character cut
    at the very end (a truncated file) does not change the answer.

    When neither reads the file, the error names the line where the one that read further stopped, if it
    read at least one line (a UTF-8 list with one row pasted in from a CP949 file): the user can fix that
    row instead of saving again a file that looks fine in Excel."""
    view = memoryview(data)
    stopped = 0  # the furthest byte offset an encoding read up to
    for enc in ("utf-8", "cp949"):
        dec = codecs.getincrementaldecoder(enc)()
        i = held = 0
        try:
            for i in range(0, len(view), CHUNK_BYTES):
                held = len(dec.getstate()[0])  # bytes kept from the chunk before (a character cut in two)
                dec.decode(view[i:i + CHUNK_BYTES], final=False)
        except UnicodeDecodeError as exc:
            stopped = max(stopped, i - held + exc.start)  # exc.start counts from those kept bytes
            continue
        return "utf-8-sig" if enc == "utf-8" else enc
    line = data.count(b"\n", 0, stopped) + 1
    raise UploadError("encoding_at", line) if line > 1 else UploadError("encoding")


def is_xlsx(data: bytes, filename: str) -> bool:
    return data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm"))


def _xlsx_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return rrn.xlsx_number(value)
    if isinstance(value, float):
        return rrn.xlsx_number(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _ends_with_newline(stream: BinaryIO) -> bool:
    """Whether the file's last byte other than trailing spaces is a line break; rewinds the stream."""
    end = stream.seek(0, io.SEEK_END)
    found = False
    while end > 0:
        start = max(end - 4096, 0)
        stream.seek(start)
        tail = stream.read(end - start).rstrip(b" ")
        if tail:
            found = tail.endswith((b"\n", b"\r"))
            break
        end = start
    stream.seek(0)
    return found


def csv_rows(data: bytes | BinaryIO, encoding: str) -> Iterator[tuple[int, list[str], bool]]:
    """(row number, cells, cut_off) per row; the last row is cut off when the file ends mid-row.
    ``data``: the bytes of an upload, or a seekable binary stream (the benchmark reads a file)."""
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    ends_clean = _ends_with_newline(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
    first = text.readline()
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    text.seek(0)
    reader = csv.reader((line.replace("\x00", "") for line in text), delimiter=delimiter)
    prev = None
    try:
        for cells in reader:
            if prev is not None:
                yield prev[0], prev[1], False
            prev = (reader.line_num, cells)
    except csv.Error as exc:
        if prev is not None:
            yield prev[0], prev[1], False
        raise UploadError("malformed_csv", reader.line_num) from exc
    if prev is not None:
        yield prev[0], prev[1], not ends_clean


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str], bool]]:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
            yield n, [_xlsx_cell(v) for v in values], False
        wb.close()
    except UploadError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip, XML or openpyxl errors: the file is damaged
        raise UploadError("xlsx_damaged") from exc


def _trim(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


class StagedUpload:
    """Result of staging: header, preview, counts; chunks are added to the session for ``round_id``."""

    def __init__(self):
        self.kind = "csv"
        self.encoding = ""
        self.header: list[str] = []
        self.header_row = 0
        self.preview: list[list[str]] = []
        self.total_rows = 0
        self.file_hash = ""
        self.rrn_cells = 0

    @property
    def signature(self) -> str:
        return hashlib.sha256("\x1f".join(fold(h) for h in self.header).encode("utf-8")).hexdigest()


def stage(data: bytes, filename: str, round_id_cb) -> StagedUpload:
    """Read, sanitize and store the rows. ``round_id_cb()`` returns the round id (created on demand,
    after the header is known). Raises UploadError; the caller rolls back."""
    out = StagedUpload()
    out.file_hash = hashlib.sha256(data).hexdigest()
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise UploadError("xls")
    if is_xlsx(data, filename):
        out.kind = "xlsx"
        rows = _xlsx_rows(data)
    else:
        if not data.strip():
            raise UploadError("empty")
        out.encoding = detect_encoding(data)
        rows = csv_rows(data, out.encoding)
    return stage_rows(out, rows, round_id_cb)


def stage_rows(out: StagedUpload, rows, round_id_cb) -> StagedUpload:
    """Sanitize and store rows given as (row number, cells, cut_off); used by stage() and the bench."""
    san = rrn.Sanitizer()
    comp = zlib.compressobj(1)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    seq = 0
    pending = bytearray()
    round_id = None

    def flush_chunk(final=False):
        nonlocal seq, pending, round_id
        if round_id is None:
            round_id = round_id_cb(out)
        if pending:
            # Written now (in the caller's transaction), not kept in the session: memory does not grow
            # with the file.
            db.session.execute(insert(UploadChunk.__table__).values(round_id=round_id, seq=seq, data=bytes(pending)))
            seq += 1
            pending = bytearray()

    scanned = 0
    sanitize = san.cell
    width = 0
    for number, cells, cut in rows:
        cells = [sanitize(c) if len(c) >= rrn.MIN_LENGTH else c for c in cells]
        joined = "".join(cells)
        if "\n" in joined or "\r" in joined:
            # One record per line in the staged text: a line break inside a cell becomes a space.
            cells = [c.replace("\r", " ").replace("\n", " ") for c in cells]
        if not out.header:
            scanned += 1
            trimmed = _trim(cells)
            if sum(1 for c in trimmed if c.strip()) >= 2:
                out.header = [c.strip() for c in trimmed]
                out.header_row = number
                width = len(out.header)
            elif scanned >= MAX_HEADER_SCAN:
                raise UploadError("no_header")
            continue
        if out.kind == "xlsx":
            cells = _trim(cells)
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
        out.total_rows += 1
        if len(out.preview) < PREVIEW_ROWS and joined.strip():
            out.preview.append([rrn.display(c)[:80] for c in cells[:width]])
        writer.writerow([number, "T" if cut else "", *cells])
        if buf.tell() > TEXT_BUFFER:
            pending += comp.compress(buf.getvalue().encode("utf-8"))
            buf.seek(0)
            buf.truncate()
            if len(pending) >= CHUNK_BYTES:
                flush_chunk()
    if not out.header:
        raise UploadError("no_header")
    if out.total_rows == 0:
        raise UploadError("no_rows")
    pending += comp.compress(buf.getvalue().encode("utf-8"))
    pending += comp.flush()
    flush_chunk(final=True)
    out.rrn_cells = san.found
    return out


def staged_rows(round_id: int, fetch: Callable[[int], bytes | None] | None = None
                ) -> Iterator[tuple[int, bool, list[str]]]:
    """Stream the sanitized rows back: (row number, cut_off, cells). One chunk in memory at a time.
    ``fetch(seq)`` returns a chunk's bytes or None after the last; by default it reads with db.session."""
    if fetch is None:
        def fetch(seq: int) -> bytes | None:
            return db.session.scalar(_chunk_query(round_id, seq))

    dec = zlib.decompressobj()
    utf8 = codecs.getincrementaldecoder("utf-8")()  # a chunk may end inside a character
    tail = ""
    seq = 0
    while True:
        data = fetch(seq)
        if data is None:
            break
        seq += 1
        text = tail + utf8.decode(dec.decompress(data))
        cut = text.rfind("\n")
        tail = text[cut + 1:]
        if cut >= 0:
            yield from _parse_lines(text[:cut + 1])
    text = tail + utf8.decode(dec.flush(), final=True)
    if text:
        yield from _parse_lines(text)


def _chunk_query(round_id: int, seq: int):
    from sqlalchemy import select

    return select(UploadChunk.data).where(UploadChunk.round_id == round_id, UploadChunk.seq == seq)


@contextlib.contextmanager
def chunk_reader(engine, round_id: int):
    """``fetch(seq)`` for staged_rows on a connection of its own (a reader thread): each read is its own
    short transaction, so no snapshot is held while the chunks are parsed."""
    conn = engine.connect()
    try:
        def fetch(seq: int) -> bytes | None:
            try:
                return conn.execute(_chunk_query(round_id, seq)).scalar()
            finally:
                conn.rollback()

        yield fetch
    finally:
        conn.close()


def _parse_lines(text: str):
    # Staged cells hold no line breaks (see stage()), so every line is one record.
    for cells in csv.reader(io.StringIO(text)):
        if len(cells) < 2:
            continue
        yield int(cells[0]), cells[1] == "T", cells[2:]
