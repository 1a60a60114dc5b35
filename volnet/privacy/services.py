"""Personal-data lifecycle: retention, access and deletion requests, and the monthly audit review.

Scheduling: ``run_retention(now)`` is safe to run any number of times (it only acts on what is due and
marks what it has done). The lead wires it into the periodic sweep (once a day is plenty); by hand:
``flask volnet retention --dry-run`` shows the counts, ``flask volnet retention`` applies them.

A household with an open record (a concern, an integrated case, an active safety-call plan) keeps its
personal fields when its old concerns are anonymised (``household_has_open_records``).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from volnet.audit.models import AuditLog
from volnet.audit.services import record
from volnet.concerns.models import OPEN_STATUSES, Concern, ConcernEvent
from volnet.core import clock
from volnet.core.sql import insert_ignoring
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations.models import Observation
from volnet.privacy.models import PrivacyRequest, RetentionMark
from volnet.settings import services as settings

settings.DEFAULTS.setdefault("privacy.closed_concern_years", 5)
settings.DEFAULTS.setdefault("audit.retention_years", 2)
settings.DEFAULTS.setdefault("audit.review_daily_households", 50)
settings.DEFAULTS.setdefault("audit.offhours_start", 22)
settings.DEFAULTS.setdefault("audit.offhours_end", 7)

MIN_AUDIT_YEARS = 2
def household_has_open_records(household_id: int) -> bool:
    """An open concern, an open integrated case or an active safety-call plan: the caseworkers still need
    to know who lives there."""
    from volnet.calls.models import CallEnrollment
    from volnet.cases.models import Case

    return any(db.session.scalar(select(model.id).where(model.household_id == household_id, condition).limit(1))
               is not None for model, condition in ((Concern, Concern.status.in_(OPEN_STATUSES)),
                                                    (Case, Case.status == "open"),
                                                    (CallEnrollment, CallEnrollment.active.is_(True))))


# --- anonymising ------------------------------------------------------------------------------------

def blank_household(h: Household) -> None:
    """Clear the fields that identify a person; the address stays (it is the place, not the person)."""
    h.name = None
    h.alias = None
    h.phone = None
    h.birth_date = None
    h.sex = "unknown"
    h.lives_alone = None
    h.delivery_note = ""
    h.landmark = ""
    h.unit = ""
    h.refresh_keys()


def _blank_concern_details(concern_ids: list[int]) -> None:
    if not concern_ids:
        return
    # ORM updates, one object at a time, keep the encrypted columns' types in play.
    for obs in db.session.scalars(select(Observation).where(Observation.concern_id.in_(concern_ids))):
        obs.note, obs.contact, obs.location_text = "", "", ""
    for ev in db.session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id.in_(concern_ids))):
        if ev.note:
            ev.note = ""


def due_concerns(now: datetime, limit: int = 500) -> list[Concern]:
    years = max(int(settings.get("privacy.closed_concern_years") or 5), 1)
    cutoff = now - timedelta(days=365 * years)
    marked = select(RetentionMark.concern_id)
    return list(db.session.scalars(
        select(Concern).where(Concern.status.in_(("closed", "merged")), Concern.closed_at.is_not(None),
                              Concern.closed_at < cutoff, Concern.id.not_in(marked))
        .order_by(Concern.closed_at).limit(limit)))


def run_retention(now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Anonymise concerns closed longer than ``privacy.closed_concern_years`` ago, clear the household's
    personal fields when nothing about it is open, purge audit rows past ``audit.retention_years`` (at
    least 2) and old throttle counters. Does not commit (the job/CLI does)."""
    from volnet.audit.guard import purge_before
    from volnet.security import throttle

    now = now or clock.now()
    stats = {"concerns": 0, "households": 0, "audit_rows": 0, "throttle_rows": 0}
    concerns = due_concerns(now, limit=100_000 if dry_run else 500)
    stats["concerns"] = len(concerns)
    household_ids = {c.household_id for c in concerns if c.household_id}
    if not dry_run:
        _blank_concern_details([c.id for c in concerns])
        # ON CONFLICT DO NOTHING: the admin's button and the daily job may mark the same concern at once.
        if concerns:
            db.session.execute(insert_ignoring(RetentionMark.__table__, ["concern_id"]),
                               [{"concern_id": c.id, "at": now} for c in concerns])
    for hid in household_ids:
        if household_has_open_records(hid):
            continue
        recent_open = db.session.scalar(select(func.count()).select_from(Concern).where(
            Concern.household_id == hid, or_(Concern.closed_at.is_(None),
                                             Concern.closed_at >= now - timedelta(
                                                 days=365 * int(settings.get("privacy.closed_concern_years"))))))
        if recent_open:
            continue  # a more recent concern keeps the household's details for now
        stats["households"] += 1
        if not dry_run:
            h = db.session.get(Household, hid)
            if h is not None and (h.name or h.alias or h.phone or h.birth_date):
                blank_household(h)
    years = max(int(settings.get("audit.retention_years") or MIN_AUDIT_YEARS), MIN_AUDIT_YEARS)
    stats["audit_rows"] = purge_before(now - timedelta(days=365 * years), dry_run=dry_run)
    if dry_run:
        from volnet.security.models import ThrottleEvent

        stats["throttle_rows"] = db.session.scalar(select(func.count()).select_from(ThrottleEvent).where(
            ThrottleEvent.at < clock.now() - timedelta(days=2))) or 0
    else:
        stats["throttle_rows"] = throttle.purge()
        record(None, "retention", None, None,
               detail=" ".join(f"{k}={v}" for k, v in stats.items()))
    return stats


# --- access request ---------------------------------------------------------------------------------

def _iso(value):
    """Times as the person reads them (Asia/Seoul, with the offset), dates as they are."""
    if isinstance(value, datetime):
        return clock.to_seoul(value).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(obj, fields) -> dict:
    return {f: _iso(getattr(obj, f)) for f in fields}


HOUSEHOLD_FIELDS = ("id", "dong_id", "tong", "ban", "road_address", "unit", "jibun_address", "landmark", "name",
                    "alias", "phone", "birth_date", "sex", "age_band", "lives_alone", "status", "delivery_note",
                    "tier", "created_at", "updated_at")
OBSERVATION_FIELDS = ("id", "concern_id", "source", "urgency", "signals", "meals", "hygiene", "note", "seen_at",
                      "created_at", "location_text", "subject_sex", "subject_age_band", "contact")
CONCERN_FIELDS = ("id", "status", "urgency", "source", "opened_at", "acknowledged_at", "closed_at", "outcome",
                  "summary")
EVENT_FIELDS = ("id", "concern_id", "kind", "at", "data", "note")

def _labels() -> dict[str, dict]:
    """Field -> {code: label} for the coded values a person reading the export cannot know (translated)."""
    from volnet.concerns.models import OUTCOMES
    from volnet.households.forms import AGE_BAND_CHOICES, SEX_CHOICES
    from volnet.observations.signals import LEVELS, SIGNALS, URGENCIES
    from volnet.risk.tiers import TIERS

    return {"signals": SIGNALS, "urgency": URGENCIES, "meals": LEVELS, "hygiene": LEVELS, "outcome": OUTCOMES,
            "sex": dict(SEX_CHOICES), "age_band": dict(AGE_BAND_CHOICES), "tier": TIERS,
            "subject_sex": dict(SEX_CHOICES), "subject_age_band": dict(AGE_BAND_CHOICES)}


def _labelled(row: dict, labels: dict, status: dict | None = None) -> dict:
    """The row with a readable "<field>_label" beside each coded field."""
    out = dict(row)
    for field, value in row.items():
        names = status if field == "status" and status is not None else labels.get(field)
        if names is None or value in (None, "", []):
            continue
        if isinstance(value, list):
            out[f"{field}_label"] = [str(names.get(v, v)) for v in value]
        else:
            out[f"{field}_label"] = str(names.get(value, value))
    return out


def _concern_row(concern, labels: dict) -> dict:
    """A concern as exported: its summary (signal codes, or an older text) read as the labels beside it."""
    from volnet.concerns.models import STATUSES
    from volnet.observations.signals import summary_shown

    row = _labelled(_row(concern, CONCERN_FIELDS), labels, STATUSES)
    if row.get("summary"):
        row["summary_label"] = summary_shown(row["summary"], {k: str(v) for k, v in labels["signals"].items()})
    return row


def _all_columns(obj, leave_out: tuple[str, ...] = ()) -> dict:
    return {c.key: _iso(getattr(obj, c.key)) for c in obj.__table__.columns if c.key not in leave_out}


def _staff_columns(table) -> list[str]:
    """The columns of ``table`` that name a user account (author_id, caller_id, by_id ...)."""
    return [c.key for c in table.columns if any(fk.column.table.name == "users" for fk in c.foreign_keys)]


class _People:
    """Staff as the person reads them in the export: role and organisation, never an internal account number
    (loaded once for every row)."""

    def __init__(self):
        self.ids: set[int] = set()
        self.rows: list[tuple[dict, list[str]]] = []

    def later(self, row: dict, columns: list[str]) -> dict:
        self.ids |= {row[c] for c in columns if row.get(c)}
        self.rows.append((row, columns))
        return row

    def fill(self) -> None:
        from sqlalchemy.orm import selectinload

        from volnet.accounts.models import User
        from volnet.accounts.roles import ROLE_LABELS

        names = {}
        for u in db.session.scalars(select(User).options(selectinload(User.organization))
                                    .where(User.id.in_(self.ids or {-1}))):
            role = str(ROLE_LABELS.get(u.role, u.role))
            names[u.id] = f"{role} ({u.organization.name})" if u.organization is not None else role
        for row, columns in self.rows:
            for c in columns:
                value = row.pop(c, None)
                row[c[:-3] if c.endswith("_id") else c] = names.get(value, "") if value else None


def _section_labels() -> dict[str, dict[str, dict]]:
    """Section -> field -> {code: label}: every coded value of the other domains' records, translated."""
    from volnet.calls.models import CONTACT_FREQUENCIES, TASK_KINDS, TASK_STATUSES
    from volnet.cases import models as cm
    from volnet.concerns.models import CONTACT_OUTCOMES
    from volnet.core.i18n import lazy_gettext as _lz
    from volnet.observations.signals import LEVELS
    from volnet.risk.forms import CHECK_LABELS
    from volnet.risk.screening import KINDS
    from volnet.risk.screening import LEVELS as SCREENING_LEVELS
    from volnet.risk.tiers import TIERS
    from volnet.shifts.models import OUTCOMES as DOOR_OUTCOMES

    case_status = {"open": _lz("Open"), "closed": _lz("Closed")}
    goal = {"domain": cm.DOMAINS, "status": cm.GOAL_STATUSES}
    return {
        "cases": {"status": case_status, "step": cm.STEPS, "crisis_level": cm.CRISIS_LEVELS,
                  "selection": cm.SELECTION_DECISIONS, "closure_reason": cm.CLOSURE_REASONS},
        "case_needs": {"domain": cm.DOMAINS, "level": cm.NEED_LEVELS},
        "case_goals": goal,
        "case_conferences": {"agencies": cm.AGENCIES},
        "aftercare_checks": {"outcome": cm.AFTERCARE_OUTCOMES},
        "emergency_supports": {"kind": cm.EMERGENCY_KINDS, "decision": cm.EMERGENCY_DECISIONS},
        "case_closure_requests": {"reason": cm.CLOSURE_REASONS},
        "service_linkages": {"sector": cm.SECTORS, "service_type": cm.SERVICE_TYPES, "status": cm.LINKAGE_STATUSES},
        "call_tasks": {"kind": TASK_KINDS, "status": TASK_STATUSES, "outcome": CONTACT_OUTCOMES},
        "call_records": {"outcome": CONTACT_OUTCOMES, "meals": LEVELS, "hygiene": LEVELS,
                         "contact_frequency": CONTACT_FREQUENCIES},
        "risk_screenings": {"kind": {k: v["label"] for k, v in KINDS.items()}, "level": SCREENING_LEVELS},
        "risk_tier_changes": {"from_tier": TIERS, "to_tier": TIERS, "suggested_tier": TIERS},
        "risk_rows": {"check_result": CHECK_LABELS},
        "shift_route_stops": {"outcome": DOOR_OUTCOMES},
    }


def _answers_text(kind: str, answers: dict | None) -> list[dict]:
    """Screening answers as the questions and the answers chosen, not item codes and points."""
    from volnet.risk.screening import KINDS

    out = []
    for code, _topic, question, choices in (KINDS.get(kind) or {}).get("items", []):
        if code in (answers or {}):
            chosen = dict(choices).get(answers[code], answers[code])
            out.append({"question": str(question), "answer": str(chosen)})
    return out


def _case_event_texts(events) -> list[str]:
    """The case timeline's own sentences ("Need recorded: Health"), without staff names."""
    from volnet.cases.views import _history

    return [line["text"] for line in _history(events, {}, {}, {}, {})]


def _concern_event_label(kind: str, data: dict) -> str:
    from flask_babel import gettext as _

    from volnet.concerns.models import CONTACT_OUTCOMES, OUTCOMES
    from volnet.observations.signals import URGENCIES

    plain = {"observation": _("Neighbour report"), "opened": _("Concern opened"), "acknowledged": _("Acknowledged"),
             "assigned": _("Assigned"), "contact": _("Contact"), "visit": _("Visit"), "closed": _("Closed"),
             "monitoring": _("Regular monitoring"), "household_linked": _("Household linked"),
             "risk_raised": _("Risk score or tier crossed the alert line")}
    label = plain.get(kind, kind)
    detail = [str(names[data[key]]) for key, names in (("outcome", {**CONTACT_OUTCOMES, **OUTCOMES}),
                                                       ("urgency", URGENCIES), ("new", URGENCIES))
              if isinstance(data.get(key), str) and data[key] in names]
    return f"{label}: {', '.join(detail)}" if detail else str(label)


def _other_records(hid: int, people: _People | None = None) -> dict[str, list[dict]]:
    """The household's records in the other domains: cases (with what hangs on them), safety calls, the risk
    picture, crisis-list rows and shift visits. Every table that refers to a household is here (a test checks
    this against volnet.households.merge.HANDLED); only the keyed hash of a resident registration number is
    left out (it says nothing to the person and is not theirs to take away)."""
    from volnet.calls.models import CallEnrollment, CallRecord, CallTask
    from volnet.cases.models import (
        AftercareCheck,
        Case,
        CaseConference,
        CaseEvent,
        CaseGoal,
        CaseNeed,
        CaseNote,
        ClosureRequest,
        ConferenceTask,
        EmergencySupport,
        ServiceLinkage,
    )
    from volnet.risk.models import (
        CrisisRow,
        HouseholdIndicator,
        HouseholdRrnHash,
        IndicatorType,
        Screening,
        TierChange,
    )
    from volnet.shifts.models import RouteStop

    labels = _section_labels()
    people = people if people is not None else _People()
    loaded: dict[str, list] = {}

    def rows(name, model, where, leave_out=()):
        objs = loaded[name] = list(db.session.scalars(select(model).where(where).order_by(model.id)))
        staff = _staff_columns(model.__table__)
        return [people.later(_labelled(_all_columns(o, leave_out), labels.get(name, {})), staff) for o in objs]

    case_ids = list(db.session.scalars(select(Case.id).where(Case.household_id == hid))) or [-1]
    out = {"cases": rows("cases", Case, Case.household_id == hid)}
    for name, model in (("case_needs", CaseNeed), ("case_goals", CaseGoal), ("case_notes", CaseNote),
                        ("case_conferences", CaseConference), ("aftercare_checks", AftercareCheck),
                        ("emergency_supports", EmergencySupport), ("case_closure_requests", ClosureRequest),
                        ("case_events", CaseEvent)):
        out[name] = rows(name, model, model.case_id.in_(case_ids))
    for row, text in zip(out["case_events"], _case_event_texts(loaded["case_events"]), strict=True):
        row["kind_label"] = text
    conference_ids = [c["id"] for c in out["case_conferences"]] or [-1]
    out["conference_tasks"] = rows("conference_tasks", ConferenceTask, ConferenceTask.conference_id.in_(conference_ids))
    for name, model in (("service_linkages", ServiceLinkage), ("call_enrollments", CallEnrollment),
                        ("call_tasks", CallTask), ("call_records", CallRecord), ("risk_screenings", Screening),
                        ("risk_tier_changes", TierChange), ("risk_rows", CrisisRow),
                        ("risk_household_indicators", HouseholdIndicator), ("shift_route_stops", RouteStop)):
        out[name] = rows(name, model, model.household_id == hid, ("client_token",))
    out["risk_household_rrn_hashes"] = rows("risk_household_rrn_hashes", HouseholdRrnHash,
                                            HouseholdRrnHash.household_id == hid, ("rrn_hash",))
    for row in out["risk_screenings"]:
        row["answers_label"] = _answers_text(row["kind"], row.get("answers"))
    indicator_ids = {r["indicator_type_id"] for r in out["risk_household_indicators"]}
    codes = {c.strip() for r in out["risk_rows"] for c in (r.get("codes") or "").split(",") if c.strip()}
    types = list(db.session.scalars(select(IndicatorType).where(
        or_(IndicatorType.id.in_(indicator_ids or {-1}), IndicatorType.code.in_(codes or {""})))))
    by_id, by_code = {t.id: t.label for t in types}, {t.code: t.label for t in types}
    for row in out["risk_household_indicators"]:
        row["indicator_type_label"] = by_id.get(row["indicator_type_id"], "")
    for row in out["risk_rows"]:
        row["codes_label"] = [by_code.get(c.strip(), c.strip()) for c in (row.get("codes") or "").split(",")
                              if c.strip()]
    return out


def _list_rows_naming(h: Household, people: _People) -> dict[str, list[dict]]:
    """The rows of the dong's crisis lists that name the person beyond the household's own rows (risk_rows):
    the rounds' problem rows, rows stored under another household and the mapping page's preview rows
    (risk.person_rows), registration numbers masked."""
    from volnet.risk import person_rows
    from volnet.risk.forms import CHECK_LABELS
    from volnet.risk.models import CrisisRow
    from volnet.risk.rrn import display, mask_loose
    from volnet.risk.views import BAD_REASONS

    found = person_rows.find(h)
    received = {rid: _iso(r.received_on) for rid, r in found.rounds.items()}
    bad = [{"round_id": b.round_id, "round_received_on": received.get(b.round_id), "row_number": b.row_number,
            "reason": b.reason, "reason_label": str(BAD_REASONS.get(b.reason, b.reason)),
            "detail": mask_loose(b.detail or ""), "content": mask_loose(b.content or "")} for b in found.bad_rows]
    staff = _staff_columns(CrisisRow.__table__)
    rows = [people.later(_labelled(_all_columns(r, ("natural_key", "household_id")),
                                   {"check_result": CHECK_LABELS}), staff) for r in found.rows]
    previews = [{"round_id": rid, "round_received_on": received.get(rid),
                 "header": [display(str(c)) for c in (found.rounds[rid].header or [])],
                 "rows": [[display(str(c)) for c in (found.rounds[rid].preview or [])[i]] for i in hits]}
                for rid, hits in found.previews.items()]
    return {"risk_bad_rows": bad, "risk_rows_naming": rows, "risk_round_previews": previews}


def household_export(h: Household, actor) -> dict:
    """Everything volnet holds about one household, as plain JSON-ready data (the caller audits)."""
    concerns = list(db.session.scalars(select(Concern).where(Concern.household_id == h.id).order_by(Concern.id)))
    cids = [c.id for c in concerns] or [-1]
    observations = list(db.session.scalars(
        select(Observation).where(or_(Observation.household_id == h.id, Observation.concern_id.in_(cids)))
        .order_by(Observation.id)))
    events = list(db.session.scalars(
        select(ConcernEvent).where(or_(ConcernEvent.household_id == h.id, ConcernEvent.concern_id.in_(cids)))
        .order_by(ConcernEvent.id)))
    from volnet.households.forms import STATUS_CHOICES

    labels = _labels()
    people = _People()
    concern_events = []
    for e in events:
        row = _row(e, EVENT_FIELDS)
        data = dict(row.get("data") or {})
        data.pop("owner", None)  # an account number; owner_name says who
        row["data"], row["kind_label"] = data, _concern_event_label(e.kind, data)
        concern_events.append(row)
    data = {
        "format": "volnet-household-export/3",
        "exported_at": _iso(clock.now()),
        "exported_by": people.later({"exported_by_id": actor.id}, ["exported_by_id"]),
        "household": _labelled(_row(h, HOUSEHOLD_FIELDS), labels, dict(STATUS_CHOICES)),
        "concerns": [_concern_row(c, labels) for c in concerns],
        "observations": [_labelled(_row(o, OBSERVATION_FIELDS), labels) for o in observations],
        "concern_events": concern_events,
        **_other_records(h.id, people),
        **_list_rows_naming(h, people),
    }
    people.fill()
    data["exported_by"] = data["exported_by"]["exported_by"]
    return data


# --- deletion request -------------------------------------------------------------------------------

class RequestRefused(Exception):
    """A deletion request that cannot be carried out now. ``blockers``: what stands in the way (translated)."""

    def __init__(self, blockers: list[str]):
        super().__init__("; ".join(blockers))
        self.blockers = blockers


def deletion_blockers(hid: int) -> list[str]:
    """Why the household's data cannot be removed now: an open integrated case or an active safety-call plan
    (services are being given; the caseworkers still need to know who lives there, as for retention). The
    case is closed, or the plan ended, first; then the request is carried out."""
    from flask_babel import gettext as _

    from volnet.calls.models import CallEnrollment
    from volnet.cases.models import Case

    out = [_("integrated case #%(id)d is open", id=cid) for cid in db.session.scalars(
        select(Case.id).where(Case.household_id == hid, Case.status == "open").order_by(Case.id))]
    if db.session.scalar(select(CallEnrollment.id).where(CallEnrollment.household_id == hid,
                                                         CallEnrollment.active.is_(True)).limit(1)) is not None:
        out.append(_("safety calls are still planned for it"))
    return out


def erased_marker(now: datetime | None = None) -> str:
    """What a kept record (an integrated case) says instead of its content, in the office's language: the
    stored text is read by whoever opens the case later."""
    from flask import current_app
    from flask_babel import force_locale
    from flask_babel import gettext as _

    day = clock.to_seoul(now or clock.now()).date().isoformat()
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "ko"):
        return _("Erased on request of the person (%(date)s). Only what the law and the dong's statistics "
                 "need is kept.", date=day)[:300]


def _scrub_other_records(hid: int, marker: str) -> None:
    """Remove the content of the household's records in the other domains, keep what is counted.

    Kept (the minimum an integrated case, an emergency-support decision, a service linkage or a call must
    leave behind, and what the dong's report counts): the rows with their dates, steps, codes, amounts and
    outcomes. Gone: every free text (case summary, assessment, plan, closure note, needs, goals, conference
    minutes and tasks, emergency-support, linkage and aftercare notes, closure requests, call notes, tier
    reasons, route-stop notes, the crisis list's name, birth date, phone and check note) and the sensitive
    answers (a call's distress, arrears and support answers, meals and hygiene). Case notes and screenings
    (answers about health, mood, suicidal thoughts) are deleted: nothing counts them and no rule keeps them.
    """
    from volnet.calls.models import CallRecord
    from volnet.cases.models import (
        AftercareCheck,
        Case,
        CaseConference,
        CaseGoal,
        CaseNeed,
        CaseNote,
        ClosureRequest,
        ConferenceTask,
        EmergencySupport,
        ServiceLinkage,
    )
    from volnet.risk.models import CrisisRow, Screening, TierChange
    from volnet.shifts.models import RouteStop

    def blank(model, where, **values):
        db.session.execute(update(model).where(where).values(**values).execution_options(synchronize_session=False))

    case_ids = select(Case.id).where(Case.household_id == hid)
    blank(Case, Case.household_id == hid, summary=marker, assessment_note="", plan_text="", closure_note="")
    blank(CaseNeed, CaseNeed.case_id.in_(case_ids), description="")
    blank(CaseGoal, CaseGoal.case_id.in_(case_ids), text=marker)
    blank(CaseConference, CaseConference.case_id.in_(case_ids), attendees="", decisions="")
    blank(ConferenceTask, ConferenceTask.conference_id.in_(
        select(CaseConference.id).where(CaseConference.case_id.in_(case_ids))),
        text=marker, owner_name="")
    for model in (AftercareCheck, EmergencySupport, ServiceLinkage):
        blank(model, model.case_id.in_(case_ids), note="")
    blank(ClosureRequest, ClosureRequest.case_id.in_(case_ids), note="", return_note="")
    db.session.execute(delete(CaseNote).where(CaseNote.case_id.in_(case_ids))
                       .execution_options(synchronize_session=False))
    blank(CallRecord, CallRecord.household_id == hid, note="", meals="", hygiene="", arrears_2m=None, distress=None,
          support_network=None, contact_frequency="")
    db.session.execute(delete(Screening).where(Screening.household_id == hid)
                       .execution_options(synchronize_session=False))
    blank(TierChange, TierChange.household_id == hid, reason="")
    blank(RouteStop, RouteStop.household_id == hid, note="")
    # The unit goes as the household's does (blank_household): with it the row would still name the flat.
    blank(CrisisRow, CrisisRow.household_id == hid, name="", birth_date=None, phone=None, unit="", check_note="")
    db.session.expire_all()  # objects loaded before (the case on a page) are read again


def anonymise_household(h: Household) -> None:
    """Clear the household's personal fields and the content of everything recorded about it; the counts stay
    (see ``_scrub_other_records``). The caller has checked ``deletion_blockers``."""
    hid = h.id
    concern_ids = list(db.session.scalars(select(Concern.id).where(Concern.household_id == hid)))
    _blank_concern_details(concern_ids)
    for obs in db.session.scalars(select(Observation).where(Observation.household_id == hid)):
        obs.note, obs.contact, obs.location_text = "", "", ""
    for ev in db.session.scalars(select(ConcernEvent).where(ConcernEvent.household_id == hid)):
        ev.note = ""
    for c in db.session.scalars(select(Concern).where(Concern.household_id == hid)):
        c.summary = ""
    from volnet.risk import person_rows

    person_rows.forget(h)  # the crisis lists' other rows that name the person, while the household still says who
    blank_household(h)
    db.session.flush()
    _scrub_other_records(hid, erased_marker())


class _StillReferenced(Exception):
    pass


def _referenced_without_foreign_key(hid: int) -> bool:
    """Whether a crisis list's rows, indicators or RRN links refer to the household: these bulk tables have
    no foreign key (see risk.models.CrisisRow). Asked after the household's row is deleted in this
    transaction: an import batch that holds the household (FOR KEY SHARE) has committed by then, and one
    that comes later finds it gone."""
    from volnet.risk.models import CrisisRow, HouseholdIndicator, HouseholdRrnHash

    return any(db.session.scalar(select(m.id).where(m.household_id == hid).limit(1)) is not None
               for m in (CrisisRow, HouseholdIndicator, HouseholdRrnHash))


def erase_household(h: Household) -> str:
    """Delete the household and its observations, concerns and timeline. When other records still refer
    to it (an integrated case, a safety-call plan ...), anonymise instead: the content of those records goes
    too, their dates, codes and amounts stay (``_scrub_other_records``). Returns 'erased' or
    'anonymised_instead'. Does not commit."""
    from sqlalchemy.exc import IntegrityError

    from volnet.risk import person_rows

    hid = h.id
    person_rows.forget(h)  # the crisis lists' problem and preview rows that name the person (no foreign key)
    try:
        with db.session.begin_nested():
            cids = list(db.session.scalars(select(Concern.id).where(Concern.household_id == hid))) or [-1]
            db.session.execute(update(Concern).where(Concern.merged_into_id.in_(cids)).values(merged_into_id=None))
            db.session.execute(delete(ConcernEvent).where(
                or_(ConcernEvent.household_id == hid, ConcernEvent.concern_id.in_(cids))))
            db.session.execute(delete(Observation).where(
                or_(Observation.household_id == hid, Observation.concern_id.in_(cids))))
            db.session.execute(delete(Concern).where(Concern.id.in_(cids)))
            db.session.execute(delete(Household).where(Household.id == hid))
            db.session.flush()
            if _referenced_without_foreign_key(hid):  # after the delete: it holds the row (see below)
                raise _StillReferenced
    except (IntegrityError, _StillReferenced):
        h = db.session.get(Household, hid)
        anonymise_household(h)
        return "anonymised_instead"
    return "erased"


def handle_request(kind: str, h: Household, actor, reason: str) -> PrivacyRequest:
    """Record and carry out an access ('access'), 'anonymise' or 'erase' request. The caller commits.
    A deletion request for a household with an open case or an active call plan raises ``RequestRefused``
    (nothing is changed)."""
    result = "done"
    hid = h.id
    if kind in ("anonymise", "erase"):
        blockers = deletion_blockers(hid)
        if blockers:
            raise RequestRefused(blockers)
    if kind == "anonymise":
        anonymise_household(h)
    elif kind == "erase":
        result = erase_household(h)
    req = PrivacyRequest(kind=kind, household_id=hid, reason=reason,
                         result=result, handled_by_id=actor.id, at=clock.now())
    db.session.add(req)
    db.session.flush()
    record(actor, f"privacy_{kind}", "households", req.household_id, detail=f"request={req.id} result={result}")
    return req


# --- monthly audit review ---------------------------------------------------------------------------

READ_SUBJECTS = ("households", "concerns", "observations")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2026-11' -> [start, end) in UTC for that month in Asia/Seoul. ValueError on a bad month."""
    y, m = (int(p) for p in month.split("-", 1))
    if not (2000 <= y <= 2200 and 1 <= m <= 12) or len(month) != 7:
        raise ValueError(month)
    start = datetime(y, m, 1, tzinfo=clock.SEOUL)
    end = datetime(y + (m == 12), (m % 12) + 1, 1, tzinfo=clock.SEOUL)
    return start.astimezone(clock.now().tzinfo), end.astimezone(clock.now().tzinfo)


def current_month() -> str:
    return clock.now().astimezone(clock.SEOUL).strftime("%Y-%m")


def previous_month() -> str:
    first = clock.now().astimezone(clock.SEOUL).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def reviewable_actor_ids(reviewer) -> list[int] | None:
    """None: everyone (admin). A team lead reviews the people who work in their dongs."""
    from volnet.accounts.models import user_dongs

    if reviewer.role == "admin":
        return None
    ids = reviewer.dong_ids or {-1}
    return list(set(db.session.scalars(select(user_dongs.c.user_id).where(user_dongs.c.dong_id.in_(ids)))))


def unusual_access(reviewer, month: str, max_rows: int = 200_000) -> list[dict]:
    """Findings for one month: off-hours reads, many households read in a day, reads outside one's
    dongs, and denied accesses. Each: {actor_id, kind, day, count, detail}."""
    from volnet.accounts.models import User

    start, end = month_bounds(month)
    actor_ids = reviewable_actor_ids(reviewer)
    stmt = (select(AuditLog.actor_id, AuditLog.at, AuditLog.action, AuditLog.subject_type, AuditLog.subject_id)
            .where(AuditLog.at >= start, AuditLog.at < end, AuditLog.actor_id.is_not(None),
                   AuditLog.action.in_(("view", "denied"))))
    if actor_ids is not None:
        stmt = stmt.where(AuditLog.actor_id.in_(actor_ids or [-1]))
    rows = db.session.execute(stmt.order_by(AuditLog.at).limit(max_rows)).all()
    off_start = int(settings.get("audit.offhours_start"))
    off_end = int(settings.get("audit.offhours_end"))
    threshold = int(settings.get("audit.review_daily_households"))

    offhours: dict[tuple[int, date], int] = defaultdict(int)
    per_day: dict[tuple[int, date], set] = defaultdict(set)
    denied: dict[int, int] = defaultdict(int)
    reads: dict[str, set[int]] = defaultdict(set)
    read_by: dict[tuple[str, int], set[int]] = defaultdict(set)
    for actor_id, at, action, stype, sid in rows:
        if action == "denied":
            denied[actor_id] += 1
            continue
        local = clock.to_seoul(at)
        if local.hour >= off_start or local.hour < off_end:
            offhours[(actor_id, local.date())] += 1
        if stype == "households":
            per_day[(actor_id, local.date())].add(sid)
        if stype in READ_SUBJECTS and sid and sid.isdecimal():
            reads[stype].add(int(sid))
            read_by[(stype, int(sid))].add(actor_id)

    dong_of: dict[tuple[str, int], int] = {}
    for stype, model in (("households", Household), ("concerns", Concern), ("observations", Observation)):
        ids = list(reads.get(stype, ()))
        for chunk in range(0, len(ids), 900):
            for ident, dong_id in db.session.execute(
                    select(model.id, model.dong_id).where(model.id.in_(ids[chunk:chunk + 900]))):
                dong_of[(stype, ident)] = dong_id
    actors_needed = {a for a, _d in offhours} | {a for a, _d in per_day} | set(denied) | {
        a for ids in read_by.values() for a in ids}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actors_needed or [-1])))}
    outside: dict[int, int] = defaultdict(int)
    for (stype, ident), who in read_by.items():
        dong_id = dong_of.get((stype, ident))
        for actor_id in who:
            u = actors.get(actor_id)
            if u is not None and u.role != "admin" and dong_id is not None and dong_id not in u.dong_ids:
                outside[actor_id] += 1

    findings = []
    for (actor_id, day), n in sorted(offhours.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        findings.append({"actor": actors.get(actor_id), "actor_id": actor_id, "kind": "offhours", "day": day,
                         "count": n})
    for (actor_id, day), subjects in sorted(per_day.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if len(subjects) > threshold:
            findings.append({"actor": actors.get(actor_id), "actor_id": actor_id, "kind": "volume", "day": day,
                             "count": len(subjects)})
    for actor_id, n in sorted(outside.items()):
        findings.append({"actor": actors.get(actor_id), "actor_id": actor_id, "kind": "outside", "day": None,
                         "count": n})
    for actor_id, n in sorted(denied.items()):
        findings.append({"actor": actors.get(actor_id), "actor_id": actor_id, "kind": "denied", "day": None,
                         "count": n})
    return findings


def daily_retention(now: datetime | None = None) -> int:
    """The sweep's hook: run the retention policy at most once a day across all processes."""
    from datetime import timedelta

    from volnet.notifications.services import claim_clock

    now = now or clock.now()
    # Claimed in the sweep's transaction: a run that fails (or is killed) is tried again at the next
    # sweep, not skipped until tomorrow.
    if not claim_clock("retention", now, timedelta(hours=23), commit=False):
        return 0
    stats = run_retention(now)
    return sum(stats.values())
