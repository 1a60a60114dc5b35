"""`flask db upgrade` from empty works on SQLite and PostgreSQL, and the models match the migrations."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, make_pg_database, need, pg_available

ROOT = Path(__file__).resolve().parents[2]


def _flask(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VOLNET_DATABASE_URL": url, "FLASK_APP": "wsgi", "VOLNET_REDIS_URL": ""}
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request):
    if request.param == "sqlite":
        tmp = tempfile.mkdtemp()
        yield f"sqlite:///{tmp}/migrate.sqlite3"
        return
    if not pg_available():
        need("PostgreSQL is not reachable at " + PG_ADMIN_URL)
    name = f"volnet_migrate_{os.getpid()}"
    url = make_pg_database(name)
    yield url
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_one_head():
    out = subprocess.run([sys.executable, "-m", "flask", "db", "heads"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "FLASK_APP": "wsgi",
                              "VOLNET_DATABASE_URL": "sqlite:///" + tempfile.mkdtemp() + "/h.db"}, check=False)
    heads = [line for line in out.stdout.splitlines() if "(head)" in line]
    assert len(heads) == 1, out.stdout + out.stderr


def test_upgrade_from_empty_and_models_match(empty_db):
    up = _flask(empty_db, "db", "upgrade")
    assert up.returncode == 0, up.stderr[-3000:]
    check = _flask(empty_db, "db", "check")
    assert check.returncode == 0, (check.stdout + check.stderr)[-3000:]
    demo = _flask(empty_db, "volnet", "demo")
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "caseworker" in demo.stdout


def test_login_ids_become_lower_case_on_upgrade(empty_db):
    """Accounts made before login IDs were stored in lower case still sign in; a pair that only the case
    told apart (possible through a join race) keeps both people, the later one with its id appended."""
    import sqlalchemy as sa

    up = _flask(empty_db, "db", "upgrade", "f221c211e571")
    assert up.returncode == 0, up.stderr[-3000:]
    engine = sa.create_engine(empty_db)
    with engine.begin() as conn:
        long_id = "L" + "x" * 59  # 60 characters: the suffix must still fit
        for uid, login in [(1, "Kim.One"), (2, "kim.one"), (3, "Park"), (4, "KIM.ONE"), (5, "lee"),
                           (6, long_id), (7, long_id.lower())]:
            conn.execute(sa.text("INSERT INTO users (id, login_id, name, role, password_hash, active, "
                                 "session_version, must_change_password, created_at) "
                                 "VALUES (:i, :l, '가', 'volunteer', '', true, 1, false, CURRENT_TIMESTAMP)"),
                         {"i": uid, "l": login})
    up = _flask(empty_db, "db", "upgrade")
    assert up.returncode == 0, up.stderr[-3000:]
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT id, login_id FROM users")).all())
    engine.dispose()
    assert rows == {1: "kim.one-1", 2: "kim.one", 3: "park", 4: "kim.one-4", 5: "lee",
                    6: "l" + "x" * 57 + "-6", 7: "l" + "x" * 59}
    assert "kim.one-1" in up.stdout + up.stderr


def test_address_keys_lose_their_region_on_upgrade(empty_db):
    """Households recorded before keys left out the 시·도 / 시·군·구 are found by an address typed without them."""
    import sqlalchemy as sa

    up = _flask(empty_db, "db", "upgrade", "802f0339a91d")
    assert up.returncode == 0, up.stderr[-3000:]
    engine = sa.create_engine(empty_db)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO dongs (id, code, sido, sigungu, name, active, households_added) "
                             "VALUES (1, '4115056000', '경기도', '의정부시', '송산3동', true, 0)"))
        for hid, road, unit in [(1, "경기도 의정부시 민락로 106", "1층"), (2, "송산로 12", "")]:
            conn.execute(sa.text(
                "INSERT INTO households (id, dong_id, road_address, unit, jibun_address, landmark, address_key, "
                "name_chosung, sex, age_band, status, delivery_note, tier, created_at, updated_at) "
                "VALUES (:i, 1, :r, :u, '', '', :k, '', 'unknown', 'unknown', 'active', '', 'unassessed', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"i": hid, "r": road, "u": unit, "k": (road + unit).replace(" ", "")})
    up = _flask(empty_db, "db", "upgrade")
    assert up.returncode == 0, up.stderr[-3000:]
    with engine.connect() as conn:
        keys = dict(conn.execute(sa.text("SELECT id, address_key FROM households")).all())
    engine.dispose()
    assert keys == {1: "민락로1061층", 2: "송산로12"}


def test_address_prefix_lookup_uses_the_index_on_postgresql(empty_db):
    """The quick-add lookup (households at this address: key LIKE 'prefix%') reads the index on PostgreSQL
    whatever the database's collation; with the plain index under C.UTF-8 or ko_KR it read every household
    of the dong, which in a large dong is every report's wait."""
    if not empty_db.startswith("postgresql"):
        pytest.skip("operator classes are PostgreSQL's")
    import sqlalchemy as sa

    up = _flask(empty_db, "db", "upgrade")
    assert up.returncode == 0, up.stderr[-3000:]
    engine = sa.create_engine(empty_db)
    with engine.connect() as conn:
        conn.execute(sa.text("SET enable_seqscan = off"))  # an empty table: ask whether the index *can* serve it
        plan = "\n".join(r[0] for r in conn.execute(sa.text(
            "EXPLAIN SELECT id FROM households WHERE dong_id = 1 AND address_key LIKE '송산로12%'")))
    engine.dispose()
    assert "ix_households_dong_addr" in plan and "~>=~" in plan, plan
