"""Small builders for tests. They flush, never commit, unless asked."""
from __future__ import annotations

import itertools
from functools import lru_cache

from werkzeug.security import generate_password_hash

from volnet.accounts.models import Organization, User
from volnet.core import clock
from volnet.extensions import db
from volnet.households.models import Household
from volnet.places.models import Dong

PASSWORD = "correct horse battery"  # noqa: S105
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def _hash() -> str:
    # One scrypt hash reused by every test user keeps the suite fast.
    return generate_password_hash(PASSWORD)


def dong(code: str | None = None, name: str | None = None, sigungu: str = "의정부시") -> Dong:
    n = next(_seq)
    d = Dong(code=code or f"41{n:08d}", sido="경기도", sigungu=sigungu, name=name or f"테스트{n}동")
    db.session.add(d)
    db.session.flush()
    return d


def organization(kind: str = "dong_centre", dong_obj: Dong | None = None, name: str | None = None) -> Organization:
    o = Organization(name=name or f"기관{next(_seq)}", kind=kind, dong_id=dong_obj.id if dong_obj else None)
    db.session.add(o)
    db.session.flush()
    return o


def user(role: str = "caseworker", dongs=(), name: str | None = None, login_id: str | None = None,
         pledged: bool = True, org: Organization | None = None, **kw) -> User:
    n = next(_seq)
    u = User(login_id=login_id or f"{role}{n}", name=name or f"사용자{n}", role=role, dongs=list(dongs),
             organization_id=org.id if org else None,
             pledge_accepted_at=clock.now() if pledged else None, **kw)
    u.password_hash = _hash()
    db.session.add(u)
    db.session.flush()
    return u


def household(dong_obj: Dong, road: str = "경기도 의정부시 송산로 100", unit: str = "101동 101호", **kw) -> Household:
    h = Household(dong_id=dong_obj.id, road_address=road, unit=unit, **kw)
    h.refresh_keys()
    db.session.add(h)
    db.session.flush()
    return h


def observation(h: Household, reporter: User | None = None, urgency: str = "routine", signals=("mail_piling",),
                **kw):
    from volnet.observations import services
    from volnet.observations.models import Observation

    o = Observation(dong_id=h.dong_id, household_id=h.id, household=h,
                    reporter_id=reporter.id if reporter else None, urgency=urgency, signals=list(signals), **kw)
    obs, _ = services.submit(o, reporter)
    db.session.flush()
    return obs


def login(client, u: User, password: str = PASSWORD):
    resp = client.post("/account/login", data={"login_id": u.login_id, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp


_DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def page_statements(client, url: str) -> tuple[int, str]:
    """GET ``url``: (how many statements it sent, the page); see :func:`page_sql`."""
    sent, body = page_sql(client, url)
    return len(sent), body


def page_sql(client, url: str) -> tuple[list[str], str]:
    """GET ``url`` and return (the SELECT/INSERT/UPDATE/DELETE statements it sent, the page).

    The page is fetched once before counting (a process's first page also reads the settings and names it
    then keeps for a while), then the session is emptied, as every request finds it in production: objects
    the test holds are detached. BEGIN/COMMIT are transaction bookkeeping and not counted. For tests that a
    page's statements do not grow with its rows (no statement per row)."""
    from sqlalchemy import event

    client.get(url)
    db.session.expunge_all()
    sent: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().split(None, 1)[0].upper() in _DATA_STATEMENTS:
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        body = client.get(url).get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return sent, body
