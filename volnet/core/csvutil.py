"""CSV downloads that Excel opens correctly and safely.

``csv_response(rows, filename)``: UTF-8 *with* BOM (Excel shows Hangul), CRLF line ends, and every text
cell that starts with ``= + - @``, a tab or a carriage return is prefixed with ``'`` so a spreadsheet never
runs it as a formula (CSV injection). Numbers stay numbers. Use it for every CSV export::

    from volnet.core.csvutil import csv_response
    return csv_response([header, *rows], "report.csv")
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from urllib.parse import quote

from flask import Response

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(DANGEROUS_START):
        return "'" + text
    return text


def csv_text(rows: Iterable[Iterable]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buf.getvalue()


def csv_bytes(rows: Iterable[Iterable]) -> bytes:
    return "\ufeff".encode() + csv_text(rows).encode("utf-8")


def csv_response(rows: Iterable[Iterable], filename: str) -> Response:
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in filename) or "export.csv"
    resp = Response(csv_bytes(rows), mimetype="text/csv")
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}")
    resp.headers["Cache-Control"] = "no-store"
    return resp
