"""Which crisis-list indicators make the concerns a list opens urgent (risk.list.urgent_signals): chosen by an
admin on the risk settings page, as chips of the signals the indicator types carry, validated, audited and
shown with the default; a list imported afterwards follows the choice."""
import re
from datetime import timedelta

from sqlalchemy import select

from tests import builders as b
from tests.risk import builders as rb
from volnet.audit.models import AuditLog
from volnet.extensions import db
from volnet.settings import services as settings
from volnet.settings.models import Setting

KEY = "risk.list.urgent_signals"


def _weights() -> dict:
    """The numeric fields of the page, as they are (their defaults)."""
    return {k.replace(".", "__"): str(v) for k, v in settings.DEFAULTS.items() if k.startswith("risk.")
            and isinstance(v, int | float) and not isinstance(v, bool)}


def _chips(page: str) -> dict[str, tuple[bool, str]]:
    """{signal code: (ticked, label)} of the list-urgency chips."""
    out = {}
    for m in re.finditer(r'<input([^>]*name="list_urgent_signals"[^>]*)>\s*<label for="[^"]+">([^<]*)</label>', page):
        value = re.search(r'value="([^"]*)"', m.group(1)).group(1)
        out[value] = ("checked" in m.group(1), m.group(2))
    return out


def test_the_admin_chooses_which_list_indicators_open_urgent_concerns(client, app):
    from volnet.concerns.models import Concern
    from volnet.core import clock
    from volnet.risk.scoring import list_due_at

    d = b.dong()
    admin = b.user("admin")
    cw = b.user("caseworker", dongs=[d])
    rb.seed_types()
    db.session.commit()
    b.login(client, admin)

    page = client.get("/risk/admin/settings").get_data(as_text=True)
    chips = _chips(page)
    # Each chip is a signal, named with the indicator types that carry it; the default is ticked and named.
    assert chips["self_harm_talk"] == (True, "자살·자해 언급: 자해·자살 시도 응급실 내원, 자살 고위험")
    assert chips["utility_cutoff"] == (False, "단전·단수·단가스: 단가스, 단수, 단전·전류제한")
    assert "abuse_violence" in chips and "mail_piling" not in chips  # no indicator type carries it
    assert "긴급 위기 건으로 등록하는 발굴 명단 징후" in page and "기본값: 자살·자해 언급" in page

    # Unknown signals are refused; nothing changes.
    r = client.post("/risk/admin/settings", data={**_weights(), "list_urgent_shown": "1",
                                                  "list_urgent_signals": ["utility_cutoff", "made_up"]})
    assert r.status_code == 400 and "제시된 항목 중에서 선택하세요." in r.get_data(as_text=True)
    assert db.session.get(Setting, KEY) is None and settings.get(KEY) == ["self_harm_talk"]
    # A hand-made post without the field (no marker) keeps the choice.
    assert client.post("/risk/admin/settings", data=_weights()).status_code == 302
    assert settings.get(KEY) == ["self_harm_talk"]

    # Cut-offs urgent, suicide risk no longer.
    r = client.post("/risk/admin/settings", data={**_weights(), "list_urgent_shown": "1",
                                                  "list_urgent_signals": ["utility_cutoff"]})
    assert r.status_code == 302
    settings.clear_cache()
    assert settings.get(KEY) == ["utility_cutoff"]
    row = db.session.get(Setting, KEY)
    assert row.updated_by_id == admin.id
    audit = db.session.scalars(select(AuditLog.detail).where(AuditLog.actor_id == admin.id,
                                                             AuditLog.subject_type == "settings")).all()
    assert "risk risk.list.urgent_signals: self_harm_talk -> utility_cutoff" in audit
    chips = _chips(client.get("/risk/admin/settings").get_data(as_text=True))
    assert chips["utility_cutoff"][0] and not chips["self_harm_talk"][0]
    client.post("/account/logout")

    b.login(client, cw)
    today = clock.seoul_today()
    rows = [rb.person(1, birth="1940-01-01", codes="단전, 단수"),
            rb.person(2, birth="1940-01-01", codes="자살 고위험, 실직")]
    r = rb.import_file(client, d, rb.csv_bytes(rows), received=today.isoformat())
    assert r.status == "done" and r.concerns_raised == 2
    by_name = {c.household.name: c for c in db.session.scalars(select(Concern))}
    cut_off, suicide = by_name["김순1"], by_name["김순2"]
    assert cut_off.urgency == "urgent" and cut_off.ack_due_at <= clock.now() + timedelta(days=1)
    assert (suicide.urgency, suicide.ack_due_at, suicide.action_due_at) == (
        "routine", list_due_at(r.due_on), list_due_at(r.due_on))


def test_ticking_nothing_makes_every_list_concern_routine_and_english_reads_english(client, app):
    from volnet.concerns.models import Concern
    from volnet.core import clock

    d = b.dong()
    admin = b.user("admin")
    cw = b.user("caseworker", dongs=[d])
    rb.seed_types()
    db.session.commit()
    b.login(client, admin)
    client.post("/lang", data={"lang": "en"})
    page = client.get("/risk/admin/settings").get_data(as_text=True)
    assert _chips(page)["self_harm_talk"] == (True, "Talk of self-harm: Self-harm / suicide attempt ER visit, "
                                                    "Suicide high-risk")
    assert "Crisis-list signals that open an urgent concern" in page and "Default: Talk of self-harm" in page
    r = client.post("/risk/admin/settings", data={**_weights(), "list_urgent_shown": "1"})
    assert r.status_code == 302
    settings.clear_cache()
    assert settings.get(KEY) == []
    client.post("/account/logout")

    b.login(client, cw)
    r = rb.import_file(client, d, rb.csv_bytes([rb.person(1, birth="1940-01-01", codes="자살 고위험, 실직")]),
                       received=clock.seoul_today().isoformat())
    assert r.status == "done" and r.concerns_raised == 1
    assert db.session.scalar(select(Concern)).urgency == "routine"
