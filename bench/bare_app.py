"""A bare Flask app served the same way as volnet, as the yardstick for bench/ figures.

- ``GET /``       a short string: the framework + gunicorn floor.
- ``GET /query``  one indexed query (50 households by primary-key range) rendered by a template file:
                  QUALITY.md's "one indexed query plus a 50-row template" baseline.
- ``POST /write`` the floor of a signed-in form that saves something: Flask's signed session cookie read
                  (``GET /sign-in`` sets it), two form fields, one INSERT ... RETURNING in its own
                  transaction into a scratch table, a 303 redirect. No user row, access check, CSRF,
                  validation, audit or concern: what any report must cost at the least.

Run: ``BENCH_DATABASE_URL=postgresql://... gunicorn -w 5 -b 127.0.0.1:PORT bench.bare_app:app``
(without BENCH_DATABASE_URL only ``/`` works).
"""
from __future__ import annotations

import os
import random

from flask import Flask, abort, redirect, render_template, request, session
from sqlalchemy import create_engine, text

app = Flask(__name__, template_folder="templates")
app.secret_key = os.environ.get("VOLNET_SECRET_KEY", "bench-bare-app")

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


# The scratch table is created by platform_bench.py before the load (WRITE_TABLE), not by the workers.
WRITE_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_floor_writes (id bigserial PRIMARY KEY, user_id integer NOT NULL, "
    "household_id integer NOT NULL, note text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
)
WRITE = text("INSERT INTO bench_floor_writes (user_id, household_id, note) VALUES (:u, :h, :n) RETURNING id")


@app.route("/sign-in")
def sign_in():
    session["uid"] = random.randint(1, 1_000_000)
    return "signed in"


@app.route("/write", methods=["POST"])
def write():
    if engine is None:
        return "BENCH_DATABASE_URL not set", 500
    uid = session.get("uid")
    if uid is None:
        abort(403)
    household_id = request.form.get("household_id", type=int)
    if household_id is None:
        abort(400)
    with engine.begin() as conn:
        new_id = conn.execute(WRITE, {"u": uid, "h": household_id, "n": request.form.get("note", "")}).scalar_one()
    return redirect(f"/written/{new_id}", 303)
