"""The upgrade that turns the concern summaries stored as labels (Korean or English) into signal codes, on
SQLite and PostgreSQL (QA round 20, F5): text that is not labels stays as it is."""
from __future__ import annotations

import importlib.util

import sqlalchemy as sa

from tests.platform.test_migrations import ROOT, _flask, empty_db  # noqa: F401 - the fixture

REVISION = "eee468e676d7"
SUMMARIES = {
    "외출 없음": "not_going_out",
    "연결 안 됨, 우편물·고지서 적체": "unreachable,mail_piling",
    "Not going out": "not_going_out",
    # English labels that hold a comma themselves
    "Power, water or gas cut off, Life transition (birth, turning 65)": "utility_cutoff,life_transition",
    "Other": "other",
    "고독사 위험 1인 가구": "고독사 위험 1인 가구",  # free text: left as it is
    "Not going out and more": "Not going out and more",
    "": "",
}


def _migration():
    path = next((ROOT / "migrations" / "versions").glob(f"{REVISION}_*.py"))
    spec = importlib.util.spec_from_file_location("migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stored_labels_become_codes_and_back(empty_db):  # noqa: F811 - the fixture
    before = _migration().down_revision
    up = _flask(empty_db, "db", "upgrade", before)
    assert up.returncode == 0, up.stderr[-3000:]
    # The longest summary the old code wrote: every English label, cut at the column's 300 characters.
    every = ", ".join(label for label, _ko in _migration().LABELS.values())[:300]
    engine = sa.create_engine(empty_db)
    rows = [*SUMMARIES, every]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO dongs (id, code, sido, sigungu, name, active, households_added) "
                             "VALUES (1, '4115054000', '경기도', '의정부시', '송산3동', true, 0)"))
        for i, summary in enumerate(rows, start=1):
            conn.execute(sa.text(
                "INSERT INTO concerns (id, dong_id, status, urgency, urgency_rank, source, opened_at, last_signal_at, "
                "summary, signal_count) VALUES (:i, 1, 'new', 'routine', 2, 'observation', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, :s, 1)"), {"i": i, "s": summary})
    try:
        up = _flask(empty_db, "db", "upgrade", REVISION)
        assert up.returncode == 0, up.stderr[-3000:]
        with engine.connect() as conn:
            got = dict(conn.execute(sa.text("SELECT id, summary FROM concerns")).all())
        assert [got[i] for i in range(1, len(SUMMARIES) + 1)] == list(SUMMARIES.values())
        cut = got[len(rows)].split(",")  # the labels that were whole, and "Physical" (only one label starts so)
        assert cut[0] == "mail_piling" and cut[-1] == "physical_distress" and len(cut) == 13
        down = _flask(empty_db, "db", "downgrade", before)
        assert down.returncode == 0, down.stderr[-3000:]
        with engine.connect() as conn:
            got = dict(conn.execute(sa.text("SELECT id, summary FROM concerns")).all())
        assert got[2] == "연결 안 됨, 우편물·고지서 적체" and got[3] == "외출 없음" and got[6] == "고독사 위험 1인 가구"
    finally:
        engine.dispose()
