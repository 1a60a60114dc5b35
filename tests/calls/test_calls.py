"""Safety calls: cadence by tier, the missed-call chain, the sweep and what a volunteer caller sees."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.calls.builders import enrolled
from volnet.calls import services as svc
from volnet.calls.models import CallRecord, CallTask
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.extensions import db
from volnet.observations.models import Observation

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul


@pytest.fixture
def world(app):
    clock.freeze(T0)
    d = b.dong()
    return {"dong": d, "cw": b.user("caseworker", [d], name="김민수"), "lead": b.user("team_lead", [d]),
            "tong": b.user("tong_leader", [d], name="한상철"), "vol": b.user("volunteer", [d], name="서하늘")}


def _open(kind=None):
    stmt = select(CallTask).where(CallTask.status == "open")
    if kind:
        stmt = stmt.where(CallTask.kind == kind)
    return list(db.session.scalars(stmt.order_by(CallTask.id)))


@pytest.mark.parametrize("tier,days", [("emergency", 1), ("intensive", 2), ("daily_risk", 7), ("relationship", 10),
                                       ("daily_life", 14)])
def test_cadence_follows_the_tier(world, tier, days):
    h, enr = enrolled(world["dong"], world["cw"], tier=tier, caller=world["vol"])
    assert svc.ensure_tasks() == 1
    assert svc.ensure_tasks() == 0  # safe to run twice
    (task,) = _open()
    assert task.due_on == clock.seoul_today() and task.assignee_id == world["vol"].id
    assert enr.next_due_on == clock.seoul_today() + timedelta(days=days)


def test_only_callers_and_backups_of_the_right_roles(world):
    h = b.household(world["dong"])
    with pytest.raises(svc.CallError):
        svc.enroll(world["cw"], h, world["tong"], None)  # a tong leader is a backup, not a caller
    with pytest.raises(svc.CallError):
        svc.enroll(world["cw"], h, world["vol"], world["cw"])  # a caseworker is not a backup
    other = b.user("volunteer", [b.dong()])
    with pytest.raises(svc.CallError):
        svc.enroll(world["cw"], h, other, None)  # another dong's volunteer
    svc.enroll(world["cw"], h, world["vol"], world["tong"])
    with pytest.raises(svc.CallError):
        svc.enroll(world["cw"], h, world["vol"], None)  # already enrolled


def test_missed_calls_retry_alert_the_backup_then_a_visit(world):
    h, enr = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol"], backup=world["tong"])
    svc.ensure_tasks()
    (task,) = _open()
    r1 = svc.record(task, world["vol"], "no_answer")
    retry1 = r1["retry"]
    assert retry1.attempt == 1 and retry1.due_at == T0 + timedelta(minutes=15)
    assert [t.id for t in db.session.scalars(svc.tasks_for(world["vol"]))] == [retry1.id]
    clock.advance(timedelta(minutes=15))
    r2 = svc.record(retry1, world["vol"], "busy")
    assert r2["retry"].attempt == 2 and r2["retry"].due_at == T0 + timedelta(minutes=30)
    assert not r2["alerts"]
    clock.advance(timedelta(minutes=15))
    r3 = svc.record(r2["retry"], world["vol"], "no_answer")
    assert r3["retry"] is None
    assert [(a["user"], a["kind"]) for a in r3["alerts"]] == [(world["tong"].id, "safety_call_missed")]
    assert enr.consecutive_misses == 1 and r3["visit"] is None  # one miss, not a top tier: no visit yet
    assert db.session.get(CallTask, task.id).status == "missed"
    assert not _open()

    # A week later the next scheduled call is missed too: a visit is due and the concern opens.
    clock.advance(timedelta(days=7))
    assert svc.ensure_tasks() == 1
    (task2,) = _open()
    t = task2
    for _ in range(3):
        res = svc.record(t, world["vol"], "no_answer")
        t = res["retry"]
        clock.advance(timedelta(minutes=15))
    assert enr.consecutive_misses == 2
    visit = res["visit"]
    assert visit is not None and visit.kind == "visit" and visit.assignee_id == world["tong"].id
    seoul_due = clock.to_seoul(visit.due_at)
    assert (seoul_due.date() - clock.to_seoul(clock.now()).date()).days in (0, 1) and seoul_due.hour == 18
    obs = db.session.scalar(select(Observation).where(Observation.source == "safety_call"))
    assert obs.signals == ["unreachable"] and obs.urgency == "urgent" and obs.household_id == h.id
    concern = db.session.get(Concern, obs.concern_id)
    assert concern.is_open and concern.urgency == "urgent" and concern.source == "safety_call"
    kinds = {(a["user"], a["kind"]) for a in res["alerts"]}
    assert (world["tong"].id, "safety_call_visit_due") in kinds and (world["cw"].id, "safety_call_visit_due") in kinds


def test_a_top_tier_household_gets_a_visit_after_one_missed_call(world):
    h, enr = enrolled(world["dong"], world["cw"], tier="intensive", caller=world["vol"])
    svc.ensure_tasks()
    (task,) = _open()
    res = svc.record(task, world["vol"], "invalid_number")  # no retries for a wrong number
    assert res["retry"] is None and res["visit"] is not None
    # No backup: the caseworker responsible is alerted.
    assert (world["cw"].id, "safety_call_missed") in {(a["user"], a["kind"]) for a in res["alerts"]}


def test_an_answered_retry_resets_the_run(world):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"], backup=world["tong"])
    enr.consecutive_misses = 1
    svc.ensure_tasks()
    (task,) = _open()
    retry = svc.record(task, world["vol"], "no_answer")["retry"]
    res = svc.record(retry, world["vol"], "connected_fine")
    assert not res["alerts"] and enr.consecutive_misses == 0
    assert db.session.get(CallTask, task.id).status == "done" and not _open()


def test_a_worrying_answer_reaches_the_concern_queue(world):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"])
    svc.ensure_tasks()
    (task,) = _open()
    svc.record(task, world["vol"], "connected_concern", meals="poor", arrears_2m=True, support_network=False,
               note="끼니를 거르신다고 함")
    obs = db.session.scalar(select(Observation).where(Observation.source == "safety_call"))
    assert set(obs.signals) == {"arrears", "no_support"} and obs.meals == "poor"


def test_the_sweep_ends_stale_retries_and_uncalled_days(world):
    h, enr = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol"], backup=world["tong"])
    h2, enr2 = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol"], name="박말순")
    svc.process_missed_calls(clock.now())
    t1, t2 = _open()
    retry = svc.record(t1, world["vol"], "no_answer")["retry"]
    clock.advance(timedelta(minutes=15 + 59))
    out = svc.process_missed_calls(clock.now())
    assert out["retries_expired"] == 0  # still within the grace period
    clock.advance(timedelta(minutes=2))
    out = svc.process_missed_calls(clock.now())
    assert out["retries_expired"] == 1
    assert db.session.get(CallTask, retry.id).status == "missed" and enr.consecutive_misses == 1
    assert (world["tong"].id, "safety_call_missed") in {(a["user"], a["kind"]) for a in out["alerts"]}
    # Nobody called 박말순 all day: after midnight the scheduled call counts as missed.
    clock.advance(timedelta(days=1))
    out = svc.process_missed_calls(clock.now())
    assert out["scheduled_expired"] == 1 and enr2.consecutive_misses == 1
    assert db.session.get(CallTask, t2.id).status == "missed"
    again = svc.process_missed_calls(clock.now())
    assert again["retries_expired"] == again["scheduled_expired"] == 0 and not again["alerts"]


def test_a_volunteer_sees_only_their_list_and_the_minimum(world, client):
    h, enr = enrolled(world["dong"], world["cw"], tier="intensive", caller=world["vol"], name="이순자")
    other_vol = b.user("volunteer", [world["dong"]])
    h2, enr2 = enrolled(world["dong"], world["cw"], caller=other_vol, name="박말순", phone="01099998888")
    svc.ensure_tasks()
    t_mine = db.session.scalar(select(CallTask).where(CallTask.household_id == h.id))
    t_other = db.session.scalar(select(CallTask).where(CallTask.household_id == h2.id))
    # A staff-only note from an earlier visit, and a case.
    db.session.add(CallRecord(household_id=h.id, dong_id=h.dong_id, caller_id=world["cw"].id, outcome="visit_safe",
                              note="아들과 갈등, 알코올 의존 의심", at=clock.now() - timedelta(days=3)))
    from tests.cases.builders import case as make_case
    make_case(world["cw"], h, summary="알코올 의존 사례")
    db.session.commit()
    b.login(client, world["vol"])
    page = client.get("/calls/").get_data(as_text=True)
    assert "이순자" in page and "tel:01055556666" in page and h.road_address in page
    assert "박말순" not in page
    for secret in ("Intensive management", "알코올", "갈등", "/cases/"):
        assert secret not in page
    task_page = client.get(f"/calls/tasks/{t_mine.id}").get_data(as_text=True)
    assert "이순자" in task_page and "알코올" not in task_page and "Intensive" not in task_page
    assert client.get(f"/calls/tasks/{t_other.id}").status_code == 404
    assert client.post(f"/calls/tasks/{t_other.id}", data={"outcome": "connected_fine"}).status_code == 404
    for url in ("/calls/manage", f"/calls/enrollments/{enr.id}", "/calls/enroll", "/reports/", "/cases/"):
        assert client.get(url).status_code == 404, url


def test_recording_through_the_page(world, client):
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"], backup=world["tong"])
    svc.ensure_tasks()
    (task,) = _open()
    db.session.commit()
    b.login(client, world["vol"])
    r = client.post(f"/calls/tasks/{task.id}", data={"outcome": "hacked"})
    assert r.status_code == 200 and "Choose one of the offered options" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CallRecord)) == 0
    r = client.post(f"/calls/tasks/{task.id}", data={"outcome": "no_answer", "client_token": "tok-1"},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "10:15" in page  # the retry and its time are on the list
    # The same form posted twice stays one record.
    r = client.post(f"/calls/tasks/{task.id}", data={"outcome": "no_answer", "client_token": "tok-1"},
                    follow_redirects=True)
    assert db.session.scalar(select(func.count()).select_from(CallRecord)) == 1
    page = r.get_data(as_text=True)  # not a plain "thank you": it was saved before, and the retry is still due
    assert "already saved" in page and "10:15" in page and "Thank you" not in page


def test_no_response_at_the_door_shows_the_112_119_guidance(world, client):
    h, enr = enrolled(world["dong"], world["cw"], tier="emergency", caller=world["vol"], backup=world["tong"])
    svc.ensure_tasks()
    (task,) = _open()
    res = svc.record(task, world["vol"], "no_answer")
    for _ in range(2):
        clock.advance(timedelta(minutes=15))
        res = svc.record(res["retry"], world["vol"], "no_answer")
    visit = res["visit"]
    db.session.commit()
    b.login(client, world["tong"])
    assert "이순자" in client.get("/calls/").get_data(as_text=True)
    r = client.post(f"/calls/tasks/{visit.id}", data={"outcome": "visit_no_response"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "alert-critical" in page and 'href="tel:119"' in page and 'href="tel:112"' in page
    obs = db.session.scalars(select(Observation).where(Observation.source == "safety_call")
                             .order_by(Observation.id.desc())).first()
    assert obs.urgency == "emergency"
    assert db.session.get(Concern, obs.concern_id).urgency == "emergency"


def test_missed_call_alerts_write_outbox_rows(world):
    from tests.conftest import need
    from volnet.cases import alerting

    if not alerting.available():
        need("volnet.notifications.services (notify) is not installed yet")
    from volnet.notifications import models as nmodels

    outbox = next(getattr(nmodels, n) for n in dir(nmodels) if n.lower() in ("outbox", "outboxmessage", "notification"))
    h, enr = enrolled(world["dong"], world["cw"], tier="emergency", caller=world["vol"], backup=world["tong"])
    svc.ensure_tasks()
    (task,) = _open()
    svc.record(task, world["vol"], "invalid_number")
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(outbox)) >= 2


def test_staff_enroll_through_the_page(world, client):
    h = b.household(world["dong"], name="최복순", tier="daily_risk", phone="01044445555")
    db.session.commit()
    b.login(client, world["cw"])
    r = client.post(f"/calls/enroll?household_id={h.id}",
                    data={"household_id": h.id, "caller_id": world["vol"].id, "backup_id": world["tong"].id},
                    follow_redirects=True)
    assert "Enrolled" in r.get_data(as_text=True)
    assert len(_open()) == 1
    other = b.household(b.dong())
    db.session.commit()
    assert client.get(f"/calls/enroll?household_id={other.id}").status_code == 404


def _while_held(hold, act, wait: float):
    """``hold(conn)`` stays uncommitted on a connection of its own while ``act()`` runs in a thread on a
    second app (another process's view of the database); after ``wait`` seconds it commits. Returns the
    thread as it was at that moment (alive: it waited for the held change)."""
    import threading

    from tests.conftest import base_config
    from volnet import create_app

    other = create_app(base_config(db.engine.url.render_as_string(hide_password=False)))

    def in_other_app():
        with other.app_context():
            act()
            db.session.commit()

    holder = db.engine.connect()
    try:
        tx = holder.begin()
        hold(holder)
        thread = threading.Thread(target=in_other_app)
        thread.start()
        thread.join(wait)
        was_waiting = thread.is_alive()
        tx.commit()
        thread.join(30)
    finally:
        holder.close()
        with other.app_context():
            db.engine.dispose()
    return was_waiting


def test_a_call_being_recorded_during_the_sweep_is_not_also_counted_missed(world):
    """The caller reaches the household (yesterday's call, recorded late) while the missed-call sweep runs:
    the household is reached, and nobody is told it could not be reached."""
    from sqlalchemy import text, update

    from volnet.notifications.models import Outbox

    h, enr = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol"], backup=world["tong"])
    svc.process_missed_calls(clock.now())
    (task,) = _open()
    task_id = task.id
    db.session.commit()
    clock.advance(timedelta(days=1))  # now the sweep would count yesterday's call as missed

    swept = {}

    def the_callers_request(conn):  # between reading the task and committing its record
        conn.execute(select(CallTask.id).where(CallTask.id == task_id).with_for_update())
        conn.execute(update(CallTask).where(CallTask.id == task_id).values(
            status="done", outcome="connected_ok", closed_at=clock.now()))

    def sweep():
        swept["out"] = svc.process_missed_calls(clock.now())

    postgresql = db.engine.dialect.name == "postgresql"
    waited = _while_held(the_callers_request, sweep, wait=10 if postgresql else 1)  # fixed: well under 1 s
    if postgresql:
        assert not waited, "the sweep waited for the caller instead of skipping the task"
    db.session.expire_all()
    assert db.session.get(CallTask, task_id).status == "done"
    assert swept["out"]["scheduled_expired"] == 0
    missed = db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "safety_call_missed"))
    assert missed == 0
    assert db.session.execute(text("SELECT consecutive_misses FROM call_enrollments WHERE id = :i"),
                              {"i": enr.id}).scalar() in (0, None)


def test_a_call_answered_while_the_sweep_counts_a_miss_is_not_overwritten(world):
    """The household answers a call (the count of misses goes back to 0) at the moment the sweep counts
    yesterday's unmade call as missed: the sweep waits and counts on from 0, so no visit is sent out on a
    stale count of 2."""
    from sqlalchemy import text, update

    from volnet.calls.models import CallEnrollment

    h, enr = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol"])
    svc.process_missed_calls(clock.now())
    enr.consecutive_misses = 1  # one miss already: the next one would call for a visit
    enr_id = enr.id
    db.session.commit()
    clock.advance(timedelta(days=1))

    def the_answered_call(conn):
        conn.execute(update(CallEnrollment).where(CallEnrollment.id == enr_id).values(consecutive_misses=0))

    postgresql = db.engine.dialect.name == "postgresql"
    waited = _while_held(the_answered_call, lambda: svc.process_missed_calls(clock.now()), wait=3 if postgresql else 1)
    if postgresql:
        assert waited, "the sweep did not wait for the answered call"
    db.session.expire_all()
    misses = db.session.execute(text("SELECT consecutive_misses FROM call_enrollments WHERE id = :i"),
                                {"i": enr_id}).scalar()
    assert misses == 1
    assert _open("visit") == []


def test_two_overlapping_list_preparations_give_one_call_per_day(world):
    """The sweep creates today's calls while a caseworker's "prepare the list" does the same: one call."""
    from sqlalchemy import update

    from volnet.calls.models import CallEnrollment

    h, enr = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol"])
    db.session.flush()
    enr_id, h_id, d_id, caller_id, due = enr.id, h.id, enr.dong_id, enr.caller_id, enr.next_due_on
    db.session.commit()
    today = due
    made = {}

    def the_other_run(conn):  # it has claimed the enrollment and written its task
        conn.execute(update(CallEnrollment).where(CallEnrollment.id == enr_id)
                     .values(next_due_on=today + timedelta(days=1)))
        conn.execute(CallTask.__table__.insert().values(
            enrollment_id=enr_id, household_id=h_id, dong_id=d_id, assignee_id=caller_id, kind="scheduled",
            attempt=0, due_on=today, due_at=clock.now(), status="open", created_at=clock.now()))

    def prepare():
        made["n"] = svc.ensure_tasks(clock.now())

    _while_held(the_other_run, prepare, wait=1.5)
    db.session.expire_all()
    tasks = list(db.session.scalars(select(CallTask).where(CallTask.enrollment_id == enr_id,
                                                           CallTask.kind == "scheduled")))
    assert [t.due_on for t in tasks] == [today] and made["n"] == 0


def test_one_household_that_cannot_be_processed_does_not_hold_up_the_others(world, monkeypatch):
    h1, enr1 = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol"], name="이순자")
    h2, enr2 = enrolled(world["dong"], world["cw"], tier="daily_risk", caller=world["vol"], name="박말순")
    svc.process_missed_calls(clock.now())
    db.session.commit()
    clock.advance(timedelta(days=1))
    real = svc._chain_missed

    def broken_for_the_first(task, now, result):
        if task.enrollment_id == enr1.id:
            raise RuntimeError("a bug for this one household")
        return real(task, now, result)

    monkeypatch.setattr(svc, "_chain_missed", broken_for_the_first)
    out = svc.process_missed_calls(clock.now())
    db.session.commit()
    assert out["scheduled_expired"] == 1 and enr2.consecutive_misses == 1
    first = db.session.scalar(select(CallTask).where(CallTask.enrollment_id == enr1.id, CallTask.kind == "scheduled",
                                                     CallTask.due_on < clock.seoul_today()))
    assert first.status == "open"  # left for the next sweep, nothing half-done
    monkeypatch.setattr(svc, "_chain_missed", real)
    assert svc.process_missed_calls(clock.now())["scheduled_expired"] == 1
    db.session.refresh(first)
    assert first.status == "missed" and enr1.consecutive_misses == 1


def test_the_enrolment_page_loads_its_household_and_callers_with_it(world, client):
    """The household, the caller and the backup shown on an enrolment's page come in the statement that
    loads the enrolment, not one query each."""
    backup = b.user("volunteer", [world["dong"]], name="윤보조")
    h, enr = enrolled(world["dong"], world["cw"], backup=backup)
    svc.ensure_tasks()
    db.session.commit()
    enr_id = enr.id
    b.login(client, world["cw"])
    sent, body = b.page_sql(client, f"/calls/enrollments/{enr_id}")
    assert "이순자" in body and "서하늘" in body and "윤보조" in body
    assert [s for s in sent if s.lstrip().upper().startswith("SELECT HOUSEHOLDS")] == []
    assert [s for s in sent if "FROM users" in s and "WHERE users.id =" in s and "notification_outbox" not in s] == []
    task_id = _open()[0].id  # and a call's recording page: its household with the task
    sent, body = b.page_sql(client, f"/calls/tasks/{task_id}")
    assert "이순자" in body and [s for s in sent if s.lstrip().upper().startswith("SELECT HOUSEHOLDS")] == []


def test_a_tier_change_moves_the_next_call_to_the_new_cadence(world, client):
    """A household called fortnightly is judged an emergency two days after its last call: its next call
    is today (daily cadence), on the caller's list now, not in twelve days; lowered again, the next call
    goes back to a fortnight after the last one."""
    h, enr = enrolled(world["dong"], world["cw"], tier="daily_life", caller=world["vol"])
    svc.ensure_tasks()
    (task,) = _open()
    svc.record(task, world["vol"], "connected_fine")
    assert enr.next_due_on == clock.seoul_today() + timedelta(days=14)
    db.session.commit()
    clock.advance(timedelta(days=2))
    today = clock.seoul_today()
    b.login(client, world["cw"])
    r = client.post(f"/risk/households/{h.id}/tier", data={"tier": "emergency", "reason": "단전, 연락두절"},
                    follow_redirects=True)
    assert "Safety calls now every day" in r.get_data(as_text=True)
    db.session.expire_all()
    assert [t.due_on for t in _open("scheduled")] == [today]  # on the caller's list today
    assert db.session.get(type(enr), enr.id).next_due_on == today + timedelta(days=1)
    r = client.post(f"/risk/households/{h.id}/tier", data={"tier": "daily_life", "reason": "안정됨"},
                    follow_redirects=True)
    db.session.expire_all()
    assert db.session.get(type(enr), enr.id).next_due_on == today + timedelta(days=14)
    assert "every 14 days" in r.get_data(as_text=True)


def test_reading_a_plan_s_records_and_a_call_page_is_audited(app, world, client):
    """The plan's page lists every call record (distress, arrears, notes) and a call's page the household's
    name, phone and address: both reads are written to the audit log, like a household's or concern's.
    Every row of the safety-call pages about a plan names the household (its read, a refused read, enrolling,
    changing the caller, a call recorded, the end), so a search for the household finds them all: the plan's
    page used to write the plan's number, which the search took for another household's."""
    from volnet.admin.audit_labels import OBJECT_GROUPS
    from volnet.audit.models import AuditLog

    b.household(world["dong"], name="먼저온집")
    b.household(world["dong"], name="또먼저온집")  # the plan's number and the household's differ
    nurse = b.user("nurse", [world["dong"]])
    elsewhere = b.user("caseworker", [b.dong()])
    h, enr = enrolled(world["dong"], world["cw"], caller=world["vol"])
    assert enr.id != h.id
    svc.ensure_tasks()
    (task,) = _open()
    db.session.commit()
    b.login(client, world["vol"])
    assert client.get(f"/calls/tasks/{task.id}").status_code == 200
    assert client.post(f"/calls/tasks/{task.id}", data={"outcome": "connected_fine"}).status_code == 302

    def signed_in(user):
        c = app.test_client()
        b.login(c, user)
        return c

    assert signed_in(nurse).get(f"/calls/enrollments/{enr.id}").status_code == 200
    assert signed_in(elsewhere).get(f"/calls/enrollments/{enr.id}").status_code == 404
    staff = signed_in(world["cw"])
    assert staff.post(f"/calls/enrollments/{enr.id}/people",
                      data={"caller_id": world["vol"].id, "backup_id": world["tong"].id}).status_code == 302
    assert staff.post(f"/calls/enrollments/{enr.id}/end").status_code == 302
    seen = {(r.actor_id, r.action, r.subject_type, r.subject_id) for r in db.session.scalars(select(AuditLog))}
    assert (nurse.id, "view", "call_enrollment", str(h.id)) in seen
    assert (elsewhere.id, "denied", "call_enrollment", str(h.id)) in seen
    assert (world["cw"].id, "update", "call_enrollment", str(h.id)) in seen
    assert (world["vol"].id, "create", "call_record", str(h.id)) in seen
    assert (world["vol"].id, "view", "call_tasks", str(task.id)) in seen
    plan_rows = [(r.action, r.subject_id) for r in db.session.scalars(
        select(AuditLog).where(AuditLog.subject_type.in_(OBJECT_GROUPS["calls"][1])))]
    assert len(plan_rows) == 5 and {sid for _action, sid in plan_rows} == {str(h.id)}, plan_rows
    admin = app.test_client()
    b.login(admin, b.user("admin"))
    admin.set_cookie("volnet_lang", "en")
    found = admin.get(f"/admin/audit?subject_type=calls&subject_id={h.id}").get_data(as_text=True)
    assert found.count("<tr") - 1 == len(plan_rows) and "Access refused" in found  # one row each, and a header
    assert "Safety calls (household)" in found
    # The admin's audit search names the call rows and finds them by their group.
    assert "call_tasks" in OBJECT_GROUPS["call_tasks"][1]
    assert {r.action for r in db.session.scalars(select(AuditLog).where(AuditLog.subject_type == "call_tasks"))} \
        == {"view"}


def test_a_retry_is_not_recorded_as_missed_before_its_wait_is_over(world, client):
    """Three 'no answer' taps within seconds used to use up both retries and send out a visit: a retry
    that reached nobody is refused until the retry wait (calls.retry_after, 15 min) has passed since the
    last try, with the time it may be made; a household reached early is recorded at once."""
    h, enr = enrolled(world["dong"], world["cw"], tier="emergency", caller=world["vol"], backup=world["tong"])
    svc.ensure_tasks()
    (task,) = _open()
    db.session.commit()
    b.login(client, world["vol"])
    client.post(f"/calls/tasks/{task.id}", data={"outcome": "no_answer", "client_token": "t1"})
    (retry,) = _open("retry")
    assert "Call again at 2026. 3. 2.(Mon) 10:15 or later" in client.get("/calls/").get_data(as_text=True)
    r = client.post(f"/calls/tasks/{retry.id}", data={"outcome": "no_answer", "client_token": "t2"})
    assert "Too early for the retry: call again in 15 minutes, at 10:15 or later" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CallTask, retry.id).status == "open" and _open("visit") == []
    assert db.session.scalar(select(func.count()).select_from(CallRecord)) == 1
    clock.advance(timedelta(minutes=15))
    client.post(f"/calls/tasks/{retry.id}", data={"outcome": "no_answer", "client_token": "t3"})
    db.session.expire_all()
    assert db.session.get(CallTask, retry.id).status == "missed"
    (retry2,) = _open("retry")
    client.post(f"/calls/tasks/{retry2.id}", data={"outcome": "connected_fine", "client_token": "t4"})
    db.session.expire_all()
    assert db.session.get(CallTask, retry2.id).status == "done"  # reached early: recorded


def test_a_household_without_a_phone_is_enrolled_only_for_visits(app, world, client):
    """A safety call needs a number: enrolling a household without one is refused with a message saying
    so, unless the caseworker ticks that the caller visits instead; the caller's list then says to visit,
    and the visit's outcomes are the only ones offered (no 'no answer' to a number that does not exist)."""
    from volnet.calls.models import CallEnrollment

    h = b.household(world["dong"], name="임대호", tier="daily_risk")
    db.session.commit()
    b.login(client, world["cw"])
    page = client.get(f"/calls/enroll?household_id={h.id}").get_data(as_text=True)
    assert "This household has no phone number to call." in page and f"/households/{h.id}/edit" in page
    data = {"household_id": h.id, "caller_id": world["vol"].id, "backup_id": 0}
    page = client.post(f"/calls/enroll?household_id={h.id}", data=data).get_data(as_text=True)
    assert "Add it on the household page, or tick" in page
    assert db.session.scalar(select(func.count()).select_from(CallEnrollment)) == 0
    r = client.post(f"/calls/enroll?household_id={h.id}", data={**data, "visits_instead": "y"},
                    follow_redirects=True)
    assert "Enrolled for visits (no phone number)" in r.get_data(as_text=True)
    (task,) = _open()
    caller = app.test_client()
    caller.set_cookie("volnet_lang", "en")
    b.login(caller, world["vol"])
    assert "No phone number: visit instead" in caller.get("/calls/").get_data(as_text=True)
    page = caller.get(f"/calls/tasks/{task.id}").get_data(as_text=True)
    assert 'value="visit_safe"' in page and 'value="no_answer"' not in page


def test_a_retry_time_after_midnight_carries_its_date(app):
    from datetime import UTC, datetime

    now = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # 23:30 in Seoul
    assert svc.retry_time(datetime(2026, 3, 2, 14, 45, tzinfo=UTC), now) == "23:45"
    later = svc.retry_time(datetime(2026, 3, 2, 16, 0, tzinfo=UTC), now)  # 01:00 the next day
    assert "3. 3." in later and "01:00" in later
