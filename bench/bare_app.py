"""A bare Flask app served the same way as volnet, as the yardstick for bench/ figures.

- ``GET /``       a short string: the framework + gunicorn floor.
- ``GET /query``  one indexed query (50 households by primary-key range) rendered by a template file:
                  QUALITY.md's "one indexed query plus a 50-row template" baseline.

Run: ``BENCH_DATABASE_URL=postgresql://... gunicorn -w 5 -b 127.0.0.1:PORT bench.bare_app:app``
(without BENCH_DATABASE_URL only ``/`` works).
"""
from __future__ import annotations

import os
import random

from flask import Flask, render_template, request
from sqlalchemy import create_engine, text

app = Flask(__name__, template_folder="templates")

_url = os.environ.get("BENCH_DATABASE_URL", "")
if _url.startswith("postgresql://"):
    _url = "postgresql+psycopg://" + _url[len("postgresql://"):]
engine = create_engine(_url, pool_size=1, max_overflow=1, pool_pre_ping=False) if _url else None
_max_id: list[int] = []

QUERY = text(
    "SELECT id, tong, ban, road_address, unit, name, age_band, status FROM households "
    "WHERE id >= :start ORDER BY id LIMIT 50"
)


@app.route("/")
def hello():
    return "Hello, volnet bench"


@app.route("/query")
def query():
    if engine is None:
        return "BENCH_DATABASE_URL not set", 500
    with engine.connect() as conn:
        if not _max_id:
            _max_id.append(conn.execute(text("SELECT coalesce(max(id), 1) FROM households")).scalar_one())
        start = request.args.get("start", type=int) or random.randint(1, max(1, _max_id[0] - 50))
        rows = conn.execute(QUERY, {"start": start}).mappings().all()
    return render_template("bare_rows.html", rows=rows, start=start)
