"""Sensitive free text is encrypted at rest (AES-GCM), readable only through the application."""
import pytest
from sqlalchemy import text

from tests import builders as b
from volnet import create_app
from volnet.concerns.models import ConcernEvent
from volnet.config import ConfigError
from volnet.extensions import db
from volnet.observations.models import Observation
from volnet.security import crypto


def test_notes_and_contacts_are_not_stored_in_plain_text(app):
    d = b.dong()
    h = b.household(d)
    obs = b.observation(h, None, note="당뇨 약을 못 드신다고 함 🙏", contact="010-9876-5432")
    ev = ConcernEvent(concern_id=obs.concern_id, household_id=h.id, kind="contact", note="월세 3개월 체납 (소득 없음)")
    db.session.add(ev)
    db.session.commit()
    raw = db.session.execute(text("SELECT note, contact FROM observations WHERE id = :i"), {"i": obs.id}).one()
    assert raw.note.startswith("v1:") and "당뇨" not in raw.note
    assert raw.contact.startswith("v1:") and "9876" not in raw.contact
    raw_ev = db.session.execute(text("SELECT note FROM concern_events WHERE id = :i"), {"i": ev.id}).scalar()
    assert raw_ev.startswith("v1:") and "체납" not in raw_ev
    db.session.expire_all()
    assert db.session.get(Observation, obs.id).note == "당뇨 약을 못 드신다고 함 🙏"
    assert db.session.get(ConcernEvent, ev.id).note == "월세 3개월 체납 (소득 없음)"


def test_same_text_twice_gives_different_ciphertexts_and_tampering_is_detected(app):
    a, c = crypto.encrypt("같은 메모"), crypto.encrypt("같은 메모")
    assert a != c and crypto.decrypt(a) == crypto.decrypt(c) == "같은 메모"
    assert crypto.encrypt("") == "" and crypto.encrypt(None) is None
    kid, blob = a[3:].split(":", 1)
    flipped = blob[:-4] + ("AAAA" if not blob.endswith("AAAA") else "BBBB")
    with pytest.raises(crypto.DecryptError):
        crypto.decrypt(f"v1:{kid}:{flipped}")
    assert crypto.decrypt("written before encryption") == "written before encryption"


def test_key_rotation(app, monkeypatch):
    old_key, new_key = crypto.new_key_text("k1"), crypto.new_key_text("k2")
    monkeypatch.setitem(app.config, "DATA_KEY", old_key)
    d = b.dong()
    h = b.household(d)
    obs = b.observation(h, None, note="회전 전 메모")
    db.session.commit()
    monkeypatch.setitem(app.config, "DATA_KEY", f"{new_key},{old_key}")  # new key first, old still readable
    db.session.expire_all()
    assert db.session.get(Observation, obs.id).note == "회전 전 메모"
    assert crypto.reencrypt(Observation, "note") == 1
    db.session.commit()
    raw = db.session.execute(text("SELECT note FROM observations WHERE id = :i"), {"i": obs.id}).scalar()
    assert crypto.key_id_of(raw) == "k2"
    monkeypatch.setitem(app.config, "DATA_KEY", new_key)  # old key retired
    db.session.expire_all()
    assert db.session.get(Observation, obs.id).note == "회전 전 메모"
    monkeypatch.setitem(app.config, "DATA_KEY", crypto.new_key_text("k9"))  # a wrong key never reads
    db.session.expire_all()
    with pytest.raises(crypto.DecryptError):
        db.session.get(Observation, obs.id)
    db.session.rollback()


def test_passphrase_key_and_development_key_differ(app):
    cur1, keys1 = crypto.parse_keys("", "secret-one-0123456789")
    cur2, keys2 = crypto.parse_keys("a passphrase from the environment", "secret-one-0123456789")
    assert cur1 == "dev" and cur2 == "k1" and keys1["dev"] != keys2["k1"] and len(keys2["k1"]) == 32


def test_production_needs_a_data_key(monkeypatch):
    monkeypatch.setenv("VOLNET_ENV_MODE", "production")
    monkeypatch.setenv("VOLNET_SECRET_KEY", "a-long-random-production-secret")
    monkeypatch.delenv("VOLNET_DATA_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": "sqlite://"})


def test_encrypted_json_round_trip(app):
    from sqlalchemy import Column, Integer, MetaData, Table, insert, select

    from volnet.security.crypto import EncryptedJSON

    meta = MetaData()
    t = Table("tmp_encrypted_json", meta, Column("id", Integer, primary_key=True), Column("answers", EncryptedJSON))
    answers = {"q1": 3, "식사": "불량", "자살생각": True}
    with db.engine.begin() as conn:
        meta.create_all(conn)
        try:
            conn.execute(insert(t).values(id=1, answers=answers))
            assert conn.execute(select(t.c.answers)).scalar() == answers
            raw = conn.execute(text("SELECT answers FROM tmp_encrypted_json")).scalar()
            assert raw.startswith("v1:") and "식사" not in raw
        finally:
            meta.drop_all(conn)
