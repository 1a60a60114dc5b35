"""Saving an observation: one record per submission, joined to its household's concern."""
from __future__ import annotations

import secrets

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import load_only, make_transient_to_detached

from volnet.audit.services import client_ip, record
from volnet.concerns import services as concerns
from volnet.concerns.models import Concern
from volnet.core import clock
from volnet.core.sql import expire_cached, insert_ignoring, prebuilt
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations import pg_submit
from volnet.observations.models import Observation
from volnet.observations.signals import URGENCY_RANK, URGENT_SIGNALS

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


def new_reference_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def effective_urgency(urgency: str, signals: list[str], meals: str, hygiene: str) -> str:
    """The reporter's urgency, raised to 'urgent' by danger signs (never lowered)."""
    if urgency == "emergency":
        return urgency
    if set(signals or []) & URGENT_SIGNALS or "severe" in (meals, hygiene):
        return "urgent"
    return urgency


class ReportContext:
    """What the report form needs to know before saving, read in one statement."""

    def __init__(self, household, recent: int, existing_id: int | None, last_here_id: int | None = None):
        self.household = household
        self.recent = recent
        self.existing_id = existing_id
        # This person's latest report about this household within the window (a repeat after "back").
        self.last_here_id = last_here_id


_RECENT = (select(func.count()).select_from(Observation)
           .where(Observation.reporter_id == bindparam("p_reporter"), Observation.created_at >= bindparam("p_since"))
           .scalar_subquery())
# A token is never empty, so "" finds nothing (a NULL would match the citizen reports, which have none).
_REPEAT = select(Observation.id).where(Observation.client_token == bindparam("p_token")).limit(1).scalar_subquery()
# The reporter's latest report about the household in the window (the reporter + time index answers it).
_LAST_HERE = (select(func.max(Observation.id))
              .where(Observation.reporter_id == bindparam("p_reporter"), Observation.created_at >= bindparam("p_since"),
                     Observation.household_id == bindparam("p_household"))
              .scalar_subquery())
# Only what saving needs (access check, tong); a form shown again loads the rest when the page asks.
_CONTEXT_WITH_HOUSEHOLD = (select(Household, _RECENT, _REPEAT, _LAST_HERE)
                           .options(load_only(Household.id, Household.dong_id, Household.tong, Household.status))
                           .where(Household.id == bindparam("p_household")))
_CONTEXT = select(_RECENT, _REPEAT)


def report_context(household_id: int | None, reporter_id: int, client_token: str | None, window) -> ReportContext:
    """The household (when one was chosen), how many reports this person sent within ``window``
    (the per-reporter limit), the report already saved under this form's token (a repeat post) and this
    person's latest report about the household within ``window`` (see ``same_report``)."""
    params = {"p_reporter": reporter_id, "p_since": clock.now() - window, "p_token": (client_token or "")[:64]}
    if household_id is None:
        row = db.session.execute(_CONTEXT, params).one()
        return ReportContext(None, row[0] or 0, row[1])
    params["p_household"] = household_id
    row = db.session.execute(_CONTEXT_WITH_HOUSEHOLD, params).first()
    if row is None:
        return ReportContext(None, 0, None)
    return ReportContext(row[0], row[1] or 0, row[2], row[3])


def last_report_about(household_id: int, reporter_id: int, window) -> int | None:
    """This person's latest report about the household within ``window`` (for a report that found its
    household by address, after the form's first look-up)."""
    return db.session.execute(select(_LAST_HERE), {"p_reporter": reporter_id, "p_household": household_id,
                                                   "p_since": clock.now() - window}).scalar()


def same_report(earlier_id: int | None, obs: Observation) -> Observation | None:
    """The earlier report when ``obs`` says exactly what it said (the same form sent again after the
    back button, which gave it a new token): same urgency, signs, meals, hygiene and note. Otherwise None:
    anything new (another sign, a raised urgency, a word more) is a report of its own."""
    if earlier_id is None:
        return None
    earlier = db.session.get(Observation, earlier_id)
    if earlier is None:
        return None
    urgency = effective_urgency(obs.urgency, obs.signals, obs.meals, obs.hygiene)
    if (earlier.urgency, sorted(earlier.signals or []), earlier.meals or "", earlier.hygiene or "",
            (earlier.note or "").strip()) == (urgency, sorted(obs.signals or []), obs.meals or "",
                                               obs.hygiene or "", (obs.note or "").strip()):
        return earlier
    return None


def recent_count(reporter_id: int, window) -> int:
    """Reports by one person in the last ``window`` (the per-reporter limit; an index answers it)."""
    since = clock.now() - window
    return db.session.scalar(select(func.count()).select_from(Observation).where(
        Observation.reporter_id == reporter_id, Observation.created_at >= since)) or 0


def _with_defaults(obs: Observation) -> dict:
    """Fill in the column defaults the caller left unset (as the ORM would at INSERT; the concern rules
    read them first) and return the row's values."""
    out = {}
    for col in Observation.__table__.columns:
        if col.key == "id":
            continue
        value = obs.__dict__.get(col.key)
        if value is None and col.default is not None:
            value = col.default.arg if col.default.is_scalar else col.default.arg(None)
            setattr(obs, col.key, value)
        if col.key in obs.__dict__:
            out[col.key] = value
    return out


class DuplicateReport(Exception):
    """The same form (``client_token``) was saved by a concurrent request a moment ago.

    Raised only in that race; the caller's transaction must be rolled back (the web layer does so and
    answers that the report was already received)."""


def find_by_token(token: str) -> Observation | None:
    return db.session.scalar(select(Observation).where(Observation.client_token == token))


def submit(obs: Observation, actor=None, *, token_checked: bool = False,
           audit: bool = False, keep_urgency: bool = False) -> tuple[Observation, bool]:
    """Save the observation and count it into its household's concern. Returns (observation, created);
    use the returned instance. ``audit=True`` writes the audit row of the creation with it.

    A repeated ``client_token`` (a double tap, a retry on a weak signal) returns the first report and
    changes nothing. Callers that looked the token up already (the report form, in the same query as the
    household) pass ``token_checked=True``. The concern is settled first so that the report is written
    once, complete; a concurrent twin that wins the race raises ``DuplicateReport`` and the caller's
    transaction must be rolled back.

    On PostgreSQL a report about a known household is one statement (``pg_submit``); the rules are the
    same as below.
    """
    if obs.client_token and not token_checked:
        existing = find_by_token(obs.client_token)
        if existing is not None:
            return existing, False
    obs.created_at = clock.now()
    values = _with_defaults(obs)
    if not keep_urgency:  # a caller that has decided the urgency itself (a public crisis list) keeps it
        obs.urgency = values["urgency"] = effective_urgency(obs.urgency, obs.signals, obs.meals, obs.hygiene)
    actor_id = getattr(actor, "id", None)
    if (obs.household_id and obs.client_token and values.keys() <= PG_COLUMNS
            and db.session.get_bind().dialect.name == "postgresql"):
        new_id, concern_id, household_id = _submit_in_one_statement(obs, values, actor_id, audit)
        if household_id != obs.household_id:  # its record was merged into this one meanwhile (pg_submit)
            obs.__dict__.pop("household", None)
            obs.household_id = household_id
    else:
        join = concerns.join_concern(obs, actor)
        concern_id = obs.concern_id = values["concern_id"] = join.concern_id
        with_token = bool(obs.client_token)
        stmt = prebuilt(f"observations.insert.{with_token}", lambda d: _insert_observation(d, with_token))
        new_id = db.session.execute(stmt, values).scalar()
        if new_id is None:
            raise DuplicateReport(obs.client_token)
        join.write(new_id, actor_id, obs.source, obs.household_id)
        if audit:
            record(actor, "create", "observation", new_id)
    # The row is exactly what the instance holds: make it the session's persistent copy, no reload.
    obs.id, obs.concern_id = new_id, concern_id
    make_transient_to_detached(obs)
    db.session.add(obs)
    return obs, True


PG_COLUMNS = frozenset(pg_submit.OBS_COLUMNS)


def _submit_in_one_statement(obs: Observation, values: dict, actor_id, audit: bool) -> tuple[int, int, int]:
    household = obs.__dict__.get("household")
    if household is None or household.id != obs.household_id:
        household = db.session.get(Household, obs.household_id)
    ack, action = concerns.due_times(obs.urgency, values["created_at"])
    try:
        new_id, concern_id, household_id = pg_submit.submit(
            values, tong=household.tong if household is not None else None, rank=URGENCY_RANK[obs.urgency],
            summary=concerns.summary_of(obs), ack_due=ack, action_due=action, actor_id=actor_id,
            audit_ip=client_ip(), audit=audit)
    except pg_submit.Conflict as exc:
        raise DuplicateReport(obs.client_token) from exc
    expire_cached(Concern, concern_id)
    return new_id, concern_id, household_id


def _insert_observation(dialect: str, with_token):
    table = Observation.__table__
    stmt = insert_ignoring(table, ["client_token"]) if with_token else insert(table)
    return stmt.returning(table.c.id)
