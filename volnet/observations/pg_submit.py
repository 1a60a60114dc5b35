"""PostgreSQL: a report about a known household saved in one statement.

The same rules as ``concerns.services.join_concern`` + ``observations.services.submit`` (the portable
path, which SQLite and every other caller use), as one statement of data-modifying CTEs, because on a
busy day round trips are what a report costs most:

1. ``cur``    the household's open concern, locked (``FOR UPDATE`` re-reads it if another report
              changed it meanwhile, so the urgency we compare with is the latest);
2. ``up``     it counts the report; a more urgent report raises it with new due times;
3. ``ins``    or, with no open concern, a new one (``ON CONFLICT`` on the one-open-concern-per-household
              index: if a parallel report opened one a moment ago, nothing is inserted, the statement
              returns no row and is run again, and then joins that concern);
4. ``obs``    the observation, with its concern; a second insert of the same ``client_token`` violates
              the unique index and the whole statement changes nothing (``DuplicateReport``);
5. ``ev``     the timeline: "opened" / "urgency raised" / "observation", in that order;
6. ``au``     the audit row of the creation (when asked).

The statement is atomic on its own, so it may run in autocommit mode. The test suite runs every report
test on SQLite (portable path) and PostgreSQL (this path), so the two cannot drift apart unnoticed.
"""
from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.exc import IntegrityError

from volnet.concerns.models import OPEN_STATUSES_SQL, Concern
from volnet.extensions import db
from volnet.observations.models import Observation

_OBS = Observation.__table__.c
_CON = Concern.__table__.c
# Columns of the observation row written here (the report form sets all of them).
OBS_COLUMNS = ("dong_id", "household_id", "reporter_id", "source", "urgency", "signals", "meals", "hygiene",
               "note", "seen_at", "created_at", "location_text", "subject_sex", "subject_age_band", "contact",
               "client_token")

# A step's due time when a report raises the urgency (concerns.services.set_urgency / pending_due): a step
# done, or already overdue, keeps it; a pending one may only come due sooner (the earlier of the two).
# Worked out once, in ``cur``, on the locked (latest) row.
_RAISED_DUE = ("CASE WHEN urgency_rank>:rank AND {done} IS NULL AND ({due} IS NULL OR {due}>:now) "
               "THEN LEAST(COALESCE({due},{new}),{new}) ELSE {due} END")

# Built from this module's constants only, never from input. Kept short (no indentation): psycopg caches
# the conversion of statements up to 4,096 characters and parses longer ones again on every run.
_SQL = f"""WITH cur AS (
SELECT id,urgency,urgency_rank,urgency_rank>:rank AS raised,
{_RAISED_DUE.format(due="ack_due_at", done="acknowledged_at", new=":ack_due")} AS ack,
{_RAISED_DUE.format(due="action_due_at", done="first_action_at", new=":action_due")} AS act
FROM concerns WHERE household_id=:household_id AND {OPEN_STATUSES_SQL} FOR UPDATE
),up AS (
UPDATE concerns AS c SET last_signal_at=:now,signal_count=c.signal_count+1,
summary=CASE WHEN c.summary='' THEN :summary ELSE c.summary END,
urgency=CASE WHEN cur.raised THEN :urgency ELSE c.urgency END,
urgency_rank=LEAST(c.urgency_rank,:rank),ack_due_at=cur.ack,action_due_at=cur.act,
next_due_at=CASE WHEN NOT cur.raised THEN c.next_due_at WHEN c.acknowledged_at IS NULL THEN cur.ack
WHEN c.first_action_at IS NULL THEN cur.act END
FROM cur WHERE c.id=cur.id
RETURNING c.id,cur.urgency AS old_urgency,cur.raised
),ins AS (
INSERT INTO concerns (dong_id,household_id,tong,status,urgency,urgency_rank,source,opened_at,
last_signal_at,ack_due_at,action_due_at,next_due_at,summary,signal_count)
SELECT :dong_id,:household_id,:tong,'new',:urgency,:rank,:source,:now,:now,:ack_due,:action_due,:ack_due,:summary,1
WHERE NOT EXISTS (SELECT 1 FROM cur)
ON CONFLICT (household_id) WHERE {OPEN_STATUSES_SQL} DO NOTHING
RETURNING id
),target AS (
SELECT id,old_urgency,raised,false AS opened FROM up UNION ALL SELECT id,NULL,false,true FROM ins
),obs AS (
INSERT INTO observations (concern_id,{",".join(OBS_COLUMNS)})
SELECT target.id,{",".join(":o_" + c for c in OBS_COLUMNS)} FROM target
RETURNING id,concern_id
),ev AS (
INSERT INTO concern_events (concern_id,household_id,actor_id,kind,at,observation_id,data,note)
SELECT target.id,:household_id,:actor_id,e.kind,:now,CASE WHEN e.kind='observation' THEN obs.id END,e.data,''
FROM target CROSS JOIN obs CROSS JOIN LATERAL (VALUES
(1,'opened',jsonb_build_object('urgency',CAST(:urgency AS text),'source',CAST(:source AS text)),target.opened),
(2,'urgency_raised',jsonb_build_object('old',target.old_urgency,'new',CAST(:urgency AS text),'by_report',true),
target.raised),
(3,'observation',jsonb_build_object('source',CAST(:source AS text)),true)
) AS e(ord,kind,data,wanted)
WHERE e.wanted ORDER BY e.ord
),au AS (
INSERT INTO audit_log (at,actor_id,action,subject_type,subject_id,ip,detail)
SELECT :now,:actor_id,'create','observation',CAST(obs.id AS text),:audit_ip,'' FROM obs WHERE CAST(:audit AS boolean)
)
SELECT obs.id,obs.concern_id FROM obs
"""  # noqa: S608


def _statement():
    types = {f"o_{c}": _OBS[c].type for c in OBS_COLUMNS}
    types.update(now=_CON.last_signal_at.type, ack_due=_CON.ack_due_at.type, action_due=_CON.action_due_at.type)
    return text(_SQL).bindparams(*(bindparam(k, type_=t) for k, t in types.items()))


_STATEMENT: list = []


class Conflict(Exception):
    """The observation's client_token is taken (the same form saved by a parallel request)."""


def submit(values: dict, *, tong, rank: int, summary: str, ack_due, action_due, actor_id, audit_ip,
           audit: bool) -> tuple[int, int, int]:
    """Run the statement; returns (observation id, concern id, household id). ``values`` are the
    observation's columns.

    The household's record may be merged into another after the report form read it and before this
    statement (a caseworker's merge commits in between, or holds the row and deletes it while the foreign
    key check waits): the foreign key refuses the write, and the report goes to the record kept
    (``merged_households``), in one more run of the statement. That is only possible in autocommit mode
    (the report form), where the refused statement is all there is to the transaction; in a transaction the
    error stands (a quick add takes the dong's additions lock first, which a merge takes too). A household
    erased meanwhile (a privacy request) has no record kept: the error stands (core.web answers 409)."""
    if not _STATEMENT:
        _STATEMENT.append(_statement())
    params = {f"o_{c}": values.get(c) for c in OBS_COLUMNS}
    params.update(household_id=values["household_id"], dong_id=values["dong_id"], tong=tong,
                  urgency=values["urgency"], rank=rank, source=values["source"], summary=summary,
                  now=values["created_at"], ack_due=ack_due, action_due=action_due, actor_id=actor_id,
                  audit_ip=audit_ip, audit=audit)
    redirected = False
    for _attempt in range(4):
        try:
            row = db.session.execute(_STATEMENT[0], params).first()
        except IntegrityError as exc:
            if "client_token" in str(exc.orig):
                raise Conflict(values.get("client_token")) from exc
            kept = None if redirected else _kept_record(exc, params["household_id"])
            if kept is None:
                raise
            redirected = True
            params.update(household_id=kept[0], o_household_id=kept[0], dong_id=kept[1], o_dong_id=kept[1],
                          tong=kept[2])
            continue
        if row is not None:
            return row[0], row[1], params["household_id"]
        # a parallel report opened the household's concern after our snapshot: join it
    raise RuntimeError("could not join or open a concern")  # pragma: no cover


def _kept_record(exc: IntegrityError, household_id: int) -> tuple[int, int, int | None] | None:
    """(id, dong, tong) of the record ``household_id`` was merged into, when the foreign key to households
    refused the statement in autocommit mode; None otherwise."""
    from sqlalchemy import select

    from volnet.core.sql import constraint_name
    from volnet.households.models import Household, MergedHousehold

    name = constraint_name(exc) or ""
    if getattr(exc.orig, "sqlstate", None) != "23503" or not name.endswith("_households"):
        return None
    if not getattr(db.session.connection().connection.dbapi_connection, "autocommit", False):
        return None
    row = db.session.execute(select(Household.id, Household.dong_id, Household.tong)
                             .join(MergedHousehold, MergedHousehold.into_id == Household.id)
                             .where(MergedHousehold.id == household_id)).first()
    return tuple(row) if row is not None else None
