"""Messages to people: a durable outbox, delivered exactly once as far as the channel allows.

How it works
- ``notify()`` adds one ``Outbox`` row per channel to ``db.session`` (never commits): the message exists
  if and only if the change that caused it was committed. ``dedupe_key`` + channel is unique, so calling
  ``notify`` again with the same key does nothing.
- ``after_commit_dispatch()`` (views call it after their commit) hands the rows due now to RQ, or delivers
  them in-process when there is no Redis (``volnet.core.queue.inline_mode()``).
- ``deliver(id)`` claims the row with a guarded UPDATE (pending/retrying and due, or 'sending' with an
  expired lease); only the winner sends. Transient errors retry with exponential backoff
  (``next_attempt_at``); permanent errors (and too many attempts) end in 'failed', visible to admins.
- ``sweep()`` runs periodically (RQ scheduler, ``flask volnet run-sweeps`` or after requests at most once a
  minute): concern escalations, the morning digest, other domains' periodic checks, then every due or
  stuck row is dispatched again. Redis holds nothing that cannot be rebuilt from the outbox.
- Quiet hours (default 21:00-08:00 Asia/Seoul): SMS and KakaoTalk wait until the end, unless urgent, or
  needed before then (``needed_by``: a message about a shift that starts before the end goes out at once).
  ``held_until()`` tells the view when the texts it just wrote will go out, so that the person who caused
  them can be told ("call them if it is urgent").
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from types import SimpleNamespace

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import and_, func, inspect, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from volnet.core import clock
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.korean import fix_ro
from volnet.extensions import db
from volnet.notifications.models import DUE_STATES_SQL, NotificationClock, Outbox
from volnet.settings import services as settings

log = logging.getLogger(__name__)

settings.DEFAULTS.setdefault("notify.quiet_start", "21:00")  # no SMS/KakaoTalk from ... (Asia/Seoul)
settings.DEFAULTS.setdefault("notify.quiet_end", "08:00")  # ... until, except urgent messages
settings.DEFAULTS.setdefault("notify.max_attempts", 8)  # then 'failed' (1+2+4+...+60 min, about 2 h)
settings.DEFAULTS.setdefault("notify.escalate_lead_after_hours", 2)  # overdue concern -> team lead
settings.DEFAULTS.setdefault("notify.digest_time", "08:30")  # morning digest for staff (Asia/Seoul)

SMS_LIKE = ("sms", "kakao")
ALL_CHANNELS = ("inapp", "email", "sms", "kakao")
_PENDING = "volnet_outbox_new"
_HELD = "volnet_outbox_held"  # session.info: when the texts written in this session that the quiet hours hold go
NEEDED_BY = "_needed_by"  # params key: the time a message is needed by (no placeholder starts with "_")


def _cfg(key: str, default):
    value = current_app.config.get(key)
    return default if value in (None, "") else value


def lease() -> timedelta:
    """How long a claim holds; longer than any send (SMTP timeout) so a slow send is never doubled."""
    return timedelta(seconds=float(_cfg("NOTIFY_LEASE_SECONDS", 300)))


def requeue_after() -> timedelta:
    """A row handed to RQ that is still due after this long is handed over again (Redis lost it)."""
    return timedelta(seconds=float(_cfg("NOTIFY_REQUEUE_SECONDS", 120)))


def sweep_interval() -> float:
    return float(_cfg("NOTIFY_SWEEP_SECONDS", 60))


# ------------------------------------------------------------------------------------------------ kinds

@dataclass
class Kind:
    subject: object
    body: object
    urgent: bool = False
    label: object = None
    # Params stored as codes, shown as their labels in the reader's language: {param: {code: lazy label}}.
    # A stored value that is not one of the codes (an older row's text) is shown as it is.
    labels: dict | None = None


KINDS: dict[str, Kind] = {}
# What each kind of message is, for the admin's outbox list (a kind without one is shown as it is). Filled only
# by ``register_kind``: a kind's label is given where the kind is declared.
KIND_LABELS: dict[str, object] = {}


def _urgency_labels() -> dict:
    from volnet.observations.signals import URGENCIES

    return URGENCIES


def register_kind(kind: str, subject, body, *, urgent: bool = False, label=None, labels=None) -> None:
    """Declare a message kind: lazy_gettext subject and body with %(name)s placeholders, and the label the
    admins' outbox page shows for it. ``labels`` ({param: {code: lazy label}}): params stored as codes, read
    as their labels in the recipient's language when the message is shown."""
    KINDS[kind] = Kind(subject, body, urgent, label, labels)
    if label is not None:
        KIND_LABELS[kind] = label
    else:
        KIND_LABELS.pop(kind, None)


register_kind("concern_emergency", _l("Emergency report in %(dong)s"),
              _l("An emergency report came in for concern #%(concern)s in %(dong)s. Please check on the "
                 "household now."), urgent=True, label=_l("Emergency report"))
register_kind("concern_urgent", _l("Urgent report in %(dong)s"),
              _l("An urgent report came in for concern #%(concern)s in %(dong)s. Please acknowledge it soon."),
              label=_l("Urgent report"))
register_kind("concern_overdue_ack", _l("Concern #%(concern)s is not yet acknowledged"),
              _l("Concern #%(concern)s in %(dong)s had to be acknowledged by %(due)s."),
              label=_l("Concern not acknowledged in time"))
register_kind("concern_overdue_action", _l("Concern #%(concern)s: first contact overdue"),
              _l("Concern #%(concern)s in %(dong)s needed a first contact or visit by %(due)s."),
              label=_l("Concern: first contact overdue"))
register_kind("concern_overdue_lead", _l("Overdue concern #%(concern)s (team lead)"),
              _l("Concern #%(concern)s in %(dong)s (owner: %(owner)s) passed its due time %(due)s without "
                 "the action it needed."), label=_l("Overdue concern (team lead)"))
register_kind("concern_moved_in", _l("Concern #%(concern)s passed on to %(dong)s"),
              _l("%(from_dong)s passed on concern #%(concern)s (%(urgency)s): the place it reports is in "
                 "%(dong)s. It is in your queue as new; please check it."),
              label=_l("Concern passed on from another dong"), labels={"urgency": _urgency_labels()})
register_kind("staff_digest", _l("Morning summary: %(new)s new, %(overdue)s overdue"),
              _l("Good morning. In your dongs on %(date)s: %(new)s new concerns waiting for acknowledgement "
                 "and %(overdue)s overdue concerns."), label=_l("Morning summary"))


class _Params(dict):
    def __missing__(self, key):
        return ""


def _locale_of(user) -> str:
    from volnet.core.i18n import LANGUAGES

    loc = getattr(user, "locale", None)
    return loc if loc in LANGUAGES else "ko"


_WALL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Params that may be missing: left empty (or the older "-"), they read as the words here, in the reader's
# language ("- 님이 전화했지만" and "-(으)로 바뀌었습니다" read as nothing a person would write).
MISSING_PARAMS = {"owner": _l("Unassigned"), "caller": _l("The assigned caller"),
                  "place": _l("meeting place not set")}


def _localise_when(values: dict) -> None:
    """Dates and times in the reader's language, as the rest of the UI shows them (core.web.seoul_datetime,
    seoul_date): ``when_at`` (aware ISO time) gives ``when``; ``dates_at`` (aware ISO times, space-separated)
    and ``dates_more`` (how many more there are) give ``dates`` ('2026. 12. 8.(화) 10:00, 2026. 12. 15.(화)
    10:00 외 3건'); a value that is a Seoul wall time or a date as ``_jsonable`` stores them
    ('2026-12-02 11:48', '2026-12-04') reads '2026. 12. 2.(수) 11:48', '2026. 12. 4.(Fri)'. A param left
    empty reads as MISSING_PARAMS says ('미배정')."""
    from volnet.core.web import seoul_date, seoul_datetime

    for key, value in list(values.items()):
        if not isinstance(value, str):
            continue
        try:
            if _WALL_TIME.fullmatch(value):
                values[key] = seoul_datetime(clock.from_seoul_naive(datetime.fromisoformat(value)))
            elif _DATE.fullmatch(value):
                values[key] = seoul_date(date.fromisoformat(value))
        except ValueError:
            continue
    for key, words in MISSING_PARAMS.items():
        if key in values and values[key] in ("", "-", None):
            values[key] = str(words)
    dates = _aware_times(values.get("dates_at"))
    if dates:
        text = ", ".join(seoul_datetime(d) for d in dates)
        more = values.get("dates_more")
        if isinstance(more, int) and not isinstance(more, bool) and more > 0:
            text += " " + str(_l("and %(n)d more", n=more))
        values["dates"] = text
    at = values.get("when_at")
    if not at:
        return
    try:
        parsed = datetime.fromisoformat(str(at))
    except ValueError:
        return
    if parsed.tzinfo is not None:
        values["when"] = seoul_datetime(parsed)


def _aware_times(value) -> list[datetime]:
    """Space-separated aware ISO times (``dates_at``) as datetimes; none when any of them is not one."""
    if not isinstance(value, str):
        return []
    try:
        times = [datetime.fromisoformat(v) for v in value.split()]
    except ValueError:
        return []
    return times if all(t.tzinfo is not None for t in times) else []


def _inapp_values(values: dict) -> None:
    """In the app a message's page is one tap away ('Go to page' under it): a full one-time URL in the text
    (``link``) is only noise there, so the text names that button instead."""
    link = values.get("link")
    if isinstance(link, str) and link.startswith(("http://", "https://")):
        values["link"] = str(_l("the “%(button)s” button below")) % {"button": _l("Go to page")}


def render(kind: str, params: dict, user, fallback: tuple[str, str] = ("", ""),
           channel: str | None = None) -> tuple[str, str]:
    """Subject and body in the recipient's language. Unknown kinds keep the text stored at notify().
    ``channel="inapp"``: the text as shown in volnet's own list (no raw one-time links; the stored text of
    every row, the record of what was sent, keeps them). A '(으)로' after a filled-in word becomes the
    particle the word takes (core.korean.fix_ro)."""
    spec = KINDS.get(kind)
    if spec is None:
        return fallback if any(fallback) else (kind, "")
    values = _Params(params or {})
    with force_locale(_locale_of(user)):
        for key, names in (spec.labels or {}).items():
            if isinstance(values.get(key), str) and values[key] in names:
                values[key] = str(names[values[key]])
        _localise_when(values)
        if channel == "inapp":
            _inapp_values(values)
        out = []
        for template in (spec.subject, spec.body):
            raw = str(template)
            try:
                out.append(fix_ro(raw % values))
            except (TypeError, ValueError):
                out.append(raw)
    return out[0][:300], out[1]


def _jsonable(params: dict | None) -> dict:
    out = {}
    for k, v in (params or {}).items():
        if v is None or isinstance(v, (bool, int, float, str)):
            out[str(k)] = v
        elif isinstance(v, datetime):
            out[str(k)] = clock.to_seoul(v).strftime("%Y-%m-%d %H:%M")
        else:
            out[str(k)] = str(v)
    return out


# ------------------------------------------------------------------------------------------------ quiet hours

def _parse_hhmm(value, default: str) -> dtime:
    for candidate in (value, default):
        try:
            h, m = str(candidate).strip().split(":")
            return dtime(int(h), int(m))
        except (ValueError, AttributeError):
            continue
    return dtime(0, 0)


def quiet_window() -> tuple[dtime, dtime]:
    return (_parse_hhmm(settings.get("notify.quiet_start"), "21:00"),
            _parse_hhmm(settings.get("notify.quiet_end"), "08:00"))


def quiet_until(at: datetime) -> datetime | None:
    """The end of the quiet hours ``at`` falls in (aware UTC), or None when ``at`` is not quiet."""
    start, end = quiet_window()
    if start == end:
        return None
    local = at.astimezone(clock.SEOUL)
    t = local.time()
    if start > end:  # overnight, e.g. 21:00-08:00
        if t >= start:
            day = local.date() + timedelta(days=1)
        elif t < end:
            day = local.date()
        else:
            return None
    elif start <= t < end:
        day = local.date()
    else:
        return None
    return datetime.combine(day, end, tzinfo=clock.SEOUL).astimezone(at.tzinfo)


def adjust_for_quiet(at: datetime, channel: str, urgent: bool, needed_by: datetime | None = None) -> datetime:
    """When a message due ``at`` may go out on ``channel``: SMS and KakaoTalk wait for the end of the quiet hours,
    unless urgent, or unless that end is not before ``needed_by`` (a text about a shift that starts before
    then goes now: it concerns that shift, and the quiet hours are for what can wait)."""
    if urgent or channel not in SMS_LIKE:
        return at
    until = quiet_until(at)
    if until is None or (needed_by is not None and until >= needed_by):
        return at
    return until


def needed_by_of(params) -> datetime | None:
    """The ``needed_by`` a message was written with (kept in its params), or None."""
    value = (params or {}).get(NEEDED_BY) if isinstance(params, dict) else None
    try:
        at = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return at if at is not None and at.tzinfo is not None else None


def held_until() -> datetime | None:
    """The latest time a text or KakaoTalk written in this session since the last call waits for (the end of the
    quiet hours), or None when none waits: the page that caused them says so ("texts go out at 08:00")."""
    held = db.session.info.pop(_HELD, None)
    return max(held) if held else None


# ------------------------------------------------------------------------------------------------ notify

def channels_for(user, channels: list[str] | None = None) -> list[str]:
    """In-app always; then the person's choice (or ``channels``), where they have an address."""
    from volnet.notifications.providers import CHANNELS

    wanted = list(channels) if channels is not None else list(user.channels or ["inapp"])
    out = ["inapp"]
    for ch in wanted:
        if ch in ALL_CHANNELS and ch not in out and CHANNELS[ch].address(user):
            out.append(ch)
    return out


def _key(dedupe_key: str | None) -> str:
    if not dedupe_key:
        return f"auto:{uuid.uuid4().hex}"
    if len(dedupe_key) <= 200:
        return dedupe_key
    return dedupe_key[:150] + ":" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]


def notify(recipient, kind: str, params: dict | None = None, *, send_at: datetime | None = None,
           dedupe_key: str | None = None, urgent: bool | None = None, channels: list[str] | None = None,
           link: str | None = None, not_after: datetime | None = None,
           needed_by: datetime | None = None) -> list:
    """Add the message's outbox rows (one per channel) to db.session. Never commits.

    Calling again with the same ``dedupe_key`` does nothing and returns the existing rows.
    ``not_after``: a message that is pointless later (a shift reminder after the shift has begun) is not
    written for a channel whose quiet hours would hold it past then; the in-app copy is always written.
    ``needed_by``: a message about something at that time (a shift's start, a change of it): a text the quiet
    hours would hold until then or later goes out at once instead (also when the quiet hours begin before it is
    delivered, and for its retries).
    """
    if recipient is None:
        return []
    key = _key(dedupe_key)
    existing = list(db.session.scalars(select(Outbox).where(Outbox.dedupe_key == key)))
    if existing:
        return existing
    spec = KINDS.get(kind)
    if urgent is None:
        urgent = bool(spec.urgent) if spec else False
    now = clock.now()
    when = send_at or now
    if when.tzinfo is None:
        raise ValueError("send_at must be timezone-aware")
    values = _jsonable(params)
    if needed_by is not None:
        values[NEEDED_BY] = needed_by.isoformat()
    subject, body = render(kind, values, recipient)
    rows = [Outbox(recipient_id=recipient.id, kind=kind[:60], channel=ch, params=values, link=(link or "")[:500],
                   dedupe_key=key, urgent=bool(urgent), state="pending", attempts=0, send_at=when,
                   next_attempt_at=at, subject=subject, body=body, created_at=now)
            for ch in channels_for(recipient, channels)
            if (at := adjust_for_quiet(when, ch, bool(urgent), needed_by)) and (not_after is None or ch == "inapp"
                                                                                 or at < not_after)]
    try:
        with db.session.begin_nested():
            db.session.add_all(rows)
            db.session.flush()
    except IntegrityError:  # the same key written at the same moment by another transaction
        return list(db.session.scalars(select(Outbox).where(Outbox.dedupe_key == key)))
    db.session.info.setdefault(_PENDING, []).extend((r, r.next_attempt_at) for r in rows)
    held = [r.next_attempt_at for r in rows if r.channel in SMS_LIKE and r.next_attempt_at > when]
    if held:
        db.session.info.setdefault(_HELD, []).extend(held)
    return rows


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def cancel(dedupe_key_prefix: str, reason: str = "cancelled") -> int:
    """Pending/retrying rows whose key starts with the prefix become cancelled. Never commits. ``reason`` is kept
    as the row's error and shown to the admins (``ERROR_TEXTS``): why a message held by the quiet hours was not
    sent ("dropped: place cancelled")."""
    if not dedupe_key_prefix:
        return 0
    res = db.session.execute(
        update(Outbox)
        .where(text(DUE_STATES_SQL), Outbox.dedupe_key.like(_like_prefix(dedupe_key_prefix), escape="\\"))
        .values(state="cancelled", last_error=(reason or "cancelled")[:500])
        .execution_options(synchronize_session="fetch"))
    return res.rowcount or 0


# ------------------------------------------------------------------------------------------------ dispatch

def after_commit_dispatch() -> None:
    """Hand the rows written in this session and due now to the workers (inline: deliver them now)."""
    pending = db.session.info.pop(_PENDING, [])
    if not pending:
        return
    now = clock.now()
    ids = []
    for obj, due in pending:
        ident = inspect(obj).identity
        if ident and due <= now:
            ids.append(ident[0])
    try:
        dispatch(ids)
    except Exception:  # noqa: BLE001 - the rows stay due; the sweep sends them
        db.session.rollback()
        log.exception("dispatch after commit failed; the sweep will retry")


def dispatch(ids: list[int]) -> int:
    """Deliver (inline) or enqueue the given rows. Returns how many were handed over."""
    from volnet.core import queue

    ids = list(dict.fromkeys(ids))
    if not ids:
        return 0
    if queue.inline_mode():
        n = 0
        for chunk in _chunks(ids, int(_cfg("NOTIFY_BATCH_SIZE", 20))):
            try:
                n += sum(1 for state in deliver_many(chunk).values() if state == "sent")
            except Exception:  # noqa: BLE001 - the rows stay due or claimed; the sweep retries them
                db.session.rollback()
                log.exception("delivery of outbox rows %s failed", chunk)
        return n
    return enqueue_rows(ids)


def _chunks(seq, n):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def enqueue_rows(ids: list[int]) -> int:
    """Mark the rows handed over (enqueued_at) and enqueue delivery jobs. Redis down: unmark, return 0."""
    from rq import Queue

    from volnet.core import queue
    from volnet.notifications import tasks

    now = clock.now()
    for chunk in _chunks(ids, 1000):
        db.session.execute(update(Outbox).where(Outbox.id.in_(chunk)).values(enqueued_at=now)
                           .execution_options(synchronize_session=False))
    db.session.commit()
    batch = int(_cfg("NOTIFY_BATCH_SIZE", 20))
    try:
        conn = queue.redis_conn()
        q = Queue(_cfg("NOTIFY_QUEUE", "default"), connection=conn)
        jobs = [Queue.prepare_data(tasks.deliver_job, args=(chunk,), result_ttl=0, failure_ttl=300,
                                   timeout=int(lease().total_seconds()) + 60)
                for chunk in _chunks(ids, batch)]
        with conn.pipeline() as pipe:
            q.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
        return len(ids)
    except Exception as exc:  # noqa: BLE001 - Redis down: the database still holds the work
        log.warning("could not enqueue %d notifications: %s", len(ids), type(exc).__name__)
        db.session.rollback()
        for chunk in _chunks(ids, 1000):
            db.session.execute(update(Outbox).where(Outbox.id.in_(chunk), Outbox.enqueued_at == now)
                               .values(enqueued_at=None).execution_options(synchronize_session=False))
        db.session.commit()
        return 0


# ------------------------------------------------------------------------------------------------ deliver

def _claim(ids: list[int], now: datetime) -> tuple[str, list[int]]:
    """One guarded UPDATE for a batch: rows due (or whose claim expired) become 'sending' with our token."""
    token = uuid.uuid4().hex
    claimed = list(db.session.scalars(
        update(Outbox)
        .where(Outbox.id.in_(ids),
               or_(and_(text(DUE_STATES_SQL), Outbox.next_attempt_at <= now),
                   and_(Outbox.state == "sending", Outbox.claimed_at < now - lease())))
        .values(state="sending", claimed_at=now, claim_token=token, attempts=Outbox.attempts + 1)
        .returning(Outbox.id)
        .execution_options(synchronize_session=False)))
    db.session.commit()
    return token, claimed


def _finish(row_id: int, token: str, **values) -> bool:
    res = db.session.execute(update(Outbox).where(Outbox.id == row_id, Outbox.state == "sending",
                                                  Outbox.claim_token == token)
                             .values(**values).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        db.session.rollback()  # the lease ran out and someone else holds the row: record nothing
        log.warning("outbox row %s: claim lost before finishing", row_id)
        return False
    db.session.commit()
    return True


def _renew(row_id: int, token: str) -> bool:
    res = db.session.execute(update(Outbox).where(Outbox.id == row_id, Outbox.state == "sending",
                                                  Outbox.claim_token == token)
                             .values(claimed_at=clock.now()).execution_options(synchronize_session=False))
    db.session.commit()
    return res.rowcount == 1


def backoff(attempts: int) -> timedelta:
    base = float(_cfg("NOTIFY_BACKOFF_SECONDS", 60))
    cap = float(_cfg("NOTIFY_BACKOFF_MAX_SECONDS", 3600))
    return timedelta(seconds=min(base * (2 ** max(attempts - 1, 0)), cap))


def deliver(row_id: int) -> str:
    """Claim, send and record one row. Returns sent, retrying, failed, deferred, cancelled or skipped."""
    return deliver_many([row_id]).get(row_id, "skipped")


def deliver_many(ids: list[int]) -> dict[int, str]:
    """Claim a batch in one statement, then send and record each row in its own transaction."""
    from sqlalchemy.orm import joinedload

    out = {int(i): "skipped" for i in ids}
    if not out:
        return out
    token, claimed = _claim(list(out), clock.now())
    if not claimed:
        return out
    loaded = list(db.session.scalars(select(Outbox).options(joinedload(Outbox.recipient))
                                     .where(Outbox.id.in_(claimed)).order_by(Outbox.id)
                                     .execution_options(populate_existing=True)))
    items = []
    for row in loaded:
        user = row.recipient
        subject, body = render(row.kind, row.params, user, (row.subject, row.body)) if user else ("", "")
        # Plain snapshots, then end the read transaction: no database lock is held while the provider
        # talks to the outside world (on SQLite every transaction holds the write lock).
        items.append((
            SimpleNamespace(id=row.id, channel=row.channel, link=row.link, kind=row.kind, urgent=row.urgent,
                            attempts=row.attempts, needed_by=needed_by_of(row.params)),
            SimpleNamespace(id=user.id, name=user.name, email=user.email, phone=user.phone, active=user.active)
            if user is not None else None,
            subject, body))
    db.session.rollback()
    for row, user, subject, body in items:
        out[row.id] = _send_one(row, user, subject, body, token)
    return out


def _send_one(row, user, subject: str, body: str, token: str) -> str:
    from volnet.notifications.providers import CHANNELS, DeliveryError, PermanentError

    row_id = row.id
    if user is None or not user.active:
        _finish(row_id, token, state="cancelled", last_error="recipient inactive", claimed_at=None)
        return "cancelled"
    if not row.urgent and row.channel in SMS_LIKE:
        until = quiet_until(clock.now())
        if until is not None and not (row.needed_by is not None and until >= row.needed_by):
            # quiet hours began since it was written: wait, without using an attempt
            _finish(row_id, token, state="pending", next_attempt_at=until, attempts=Outbox.attempts - 1,
                    claimed_at=None, enqueued_at=None)
            return "deferred"
    channel = CHANNELS.get(row.channel)
    # Renew the lease just before this row goes out: a slow provider may have used up the batch's lease on
    # the rows before it, and another worker may have taken this row over meanwhile. Then it is theirs:
    # sending it here too would deliver it twice. (Committing also ends any read transaction, so no lock
    # is held while the provider talks to the outside world; on SQLite every transaction holds the
    # write lock.)
    if not _renew(row_id, token):
        log.warning("outbox row %s: taken over by another worker before sending", row_id)
        return "skipped"
    delay = float(_cfg("NOTIFY_SEND_DELAY", 0))  # test hook: a slow provider, to kill a worker mid-send
    if delay and row.channel != "inapp":
        time.sleep(delay)
    try:
        if channel is None:
            raise PermanentError(f"unknown channel {row.channel}")
        ref = channel.send(row, user, subject, body)
    except DeliveryError as exc:
        db.session.rollback()
        max_attempts = int(settings.get("notify.max_attempts") or 8)
        err = str(exc)[:500] or type(exc).__name__
        if exc.transient and row.attempts < max_attempts:
            nxt = adjust_for_quiet(clock.now() + backoff(row.attempts), row.channel, row.urgent, row.needed_by)
            _finish(row_id, token, state="retrying", next_attempt_at=nxt, last_error=err, claimed_at=None,
                    enqueued_at=None)
            return "retrying"
        _finish(row_id, token, state="failed", last_error=err, claimed_at=None)
        return "failed"
    except Exception as exc:  # noqa: BLE001 - unexpected: treat as transient, keep the trace in the log
        db.session.rollback()
        log.exception("outbox row %s: unexpected error", row_id)
        max_attempts = int(settings.get("notify.max_attempts") or 8)
        state = "retrying" if row.attempts < max_attempts else "failed"
        _finish(row_id, token, state=state, next_attempt_at=clock.now() + backoff(row.attempts),
                last_error=type(exc).__name__, claimed_at=None, enqueued_at=None)
        return state
    ok = _finish(row_id, token, state="sent", sent_at=clock.now(), subject=subject, body=body, last_error="",
                 to_address=(channel.address(user) or "")[:254], provider_ref=(ref or "")[:100])
    return "sent" if ok else "skipped"


RESENDS = "_resends"  # params key: the attempts before each "send again" (no placeholder starts with "_")


def resend(row: Outbox, by=None) -> bool:
    """A failed (or cancelled) message goes out again: fresh attempts, due now. What came before (the
    attempts, the last error, who sent it again and when) is kept in the row's params (``RESENDS``) and
    shown on the admins' page. Never commits."""
    if row.state not in ("failed", "cancelled"):
        return False
    earlier = list((row.params or {}).get(RESENDS) or [])
    earlier.append({"at": clock.now().isoformat(), "by": getattr(by, "id", None), "by_name": getattr(by, "name", ""),
                    "state": row.state, "attempts": row.attempts, "error": row.last_error or ""})
    row.params = {**(row.params or {}), RESENDS: earlier[-20:]}
    row.state = "pending"
    row.attempts = 0
    row.next_attempt_at = clock.now()
    row.enqueued_at = None
    row.claimed_at = None
    row.last_error = ""
    db.session.info.setdefault(_PENDING, []).append((row, row.next_attempt_at))
    return True


def resend_history(row: Outbox) -> list[dict]:
    """The earlier rounds of a re-sent message, latest first: at (aware), by_name, state, attempts, error."""
    out = []
    for item in reversed((row.params or {}).get(RESENDS) or []):
        if not isinstance(item, dict):
            continue
        try:
            at = datetime.fromisoformat(str(item.get("at")))
        except ValueError:
            at = None
        out.append({"at": at, "by_name": item.get("by_name") or "", "state": item.get("state") or "",
                    "attempts": int(item.get("attempts") or 0), "error": str(item.get("error") or "")})
    return out


# What the admins read for the errors channels and providers record (``last_error``): prefix -> explanation.
# The raw text stays visible next to it. Anything else is a provider's own text: "Provider error: <raw>".
ERROR_TEXTS: list[tuple[str, object]] = [
    ("gateway unavailable", _l("The text message gateway was unavailable")),
    ("gateway refused", _l("The text message gateway refused the message")),
    ("no phone number", _l("No phone number on the recipient's account")),
    ("no email address", _l("No email address on the recipient's account")),
    ("MAIL_SERVER is not configured", _l("Mail is not set up (no mail server configured)")),
    ("recipient refused", _l("The mail server refused the address")),
    ("recipient deferred", _l("The mail server deferred the address")),
    ("SMTP authentication failed", _l("The mail server refused volnet's login")),
    ("SMTP refused", _l("The mail server refused the message")),
    ("SMTP deferred", _l("The mail server asked to try again later")),
    ("SMTP unavailable", _l("The mail server could not be reached")),
    ("provider not configured", _l("The message provider is not set up")),
    ("provider not found", _l("The message provider is not set up")),
    ("unknown channel", _l("Unknown channel")),
    ("recipient inactive", _l("The recipient's account is disabled")),
    ("cancelled", _l("Cancelled")),
    # A message held by the quiet hours whose reason went away before it went out (shifts.services).
    ("dropped: place cancelled", _l("Not sent: the place was cancelled before it went out")),
    ("dropped: shift cancelled", _l("Not sent: the shift was cancelled before it went out")),
    ("dropped: superseded", _l("Not sent: a newer message about the shift replaced it")),
    ("stopped while sending", _l("Delivery stopped again and again while sending")),
]


def error_text(raw: str | None) -> tuple[str, str]:
    """(explanation in the reader's language, raw detail or ''): what the outbox page shows for an error."""
    raw = (raw or "").strip()
    if not raw:
        return "", ""
    for prefix, label in ERROR_TEXTS:
        if raw == prefix or raw.startswith(prefix + " ") or raw.startswith(prefix + ":"):
            return str(label), ("" if raw == prefix else raw)
    if re.fullmatch(r"[A-Z]\w*(Error|Exception|Exit|Interrupt)", raw):  # unexpected, logged with its trace
        return str(_l("Unexpected error (see the server log)")), raw
    return str(_l("Provider error: %(raw)s")) % {"raw": raw}, ""


# ------------------------------------------------------------------------------------------------ sweep

def due_ids(now: datetime, limit: int = 5000, *, for_queue: bool = True) -> list[int]:
    """Rows due now, and rows whose claim expired (the worker died). Uses the partial indexes."""
    due = select(Outbox.id).where(text(DUE_STATES_SQL), Outbox.next_attempt_at <= now)
    stuck = select(Outbox.id).where(Outbox.state == "sending", Outbox.claimed_at < now - lease())
    if for_queue:
        fresh = or_(Outbox.enqueued_at.is_(None), Outbox.enqueued_at < now - requeue_after())
        due = due.where(fresh)
        stuck = stuck.where(fresh)
    ids = list(db.session.scalars(due.order_by(Outbox.next_attempt_at).limit(limit)))
    ids += list(db.session.scalars(stuck.order_by(Outbox.claimed_at).limit(limit)))
    return ids


def claim_clock(name: str, now: datetime, min_gap: timedelta, commit: bool = True) -> bool:
    """True for exactly one caller per ``min_gap`` across all processes (DB-held timestamp).

    ``commit=False``: the claim stays in the caller's transaction, so that it counts only if the work it
    guards commits too (a run that fails is tried again at the next sweep instead of a day later); a
    second caller meanwhile waits on the clock's row and then finds it claimed."""
    res = db.session.execute(update(NotificationClock)
                             .where(NotificationClock.name == name,
                                    or_(NotificationClock.last_run_at.is_(None),
                                        NotificationClock.last_run_at <= now - min_gap))
                             .values(last_run_at=now).execution_options(synchronize_session=False))
    if res.rowcount == 1:
        if commit:
            db.session.commit()
        return True
    exists = db.session.scalar(select(NotificationClock.name).where(NotificationClock.name == name))
    if exists:
        if commit:
            db.session.rollback()
        return False
    try:
        with db.session.begin_nested():
            db.session.add(NotificationClock(name=name, last_run_at=now))
        if commit:
            db.session.commit()
        return True
    except IntegrityError:
        if commit:
            db.session.rollback()
        return False


def last_sweep_at() -> datetime | None:
    return db.session.scalar(select(NotificationClock.last_run_at).where(NotificationClock.name == "sweep"))


PERIODIC: list[str] = [
    "volnet.notifications.services:escalate_concerns",
    "volnet.notifications.services:morning_digest",
    # Other domains' periodic checks, run when those domains are installed.
    "volnet.shifts.services:check_unfilled",
    "volnet.shifts.services:send_due_reminders",
    "volnet.cases.services:escalate_overdue",
    "volnet.calls.services:process_missed_calls",
    "volnet.privacy.services:daily_retention",
    "volnet.risk.importer:resume_stalled",
]


def register_periodic(path: str) -> None:
    """Add a "module:function(now)" check to the sweep (it may call notify(); the sweep commits)."""
    if path not in PERIODIC:
        PERIODIC.append(path)


def _periodic_functions():
    for path in PERIODIC:
        module, _sep, name = path.partition(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        fn = getattr(mod, name, None)
        if fn is not None:
            yield path, fn


def sweep(now: datetime | None = None, *, limit: int | None = None, guard: bool = False) -> dict:
    """Periodic checks, then dispatch every due or stuck row. Commits. Safe to run twice at once.

    ``guard=True`` skips the run when another process swept less than half an interval ago.
    """
    from volnet.core import queue

    now = now or clock.now()
    if guard and not claim_clock("sweep", now, timedelta(seconds=sweep_interval() / 2)):
        return {"skipped": True}
    if not guard:
        claim_clock("sweep", now, timedelta(0))
    result: dict = {"skipped": False, "checks": {}}
    for path, fn in _periodic_functions():
        try:
            out = fn(now)
            db.session.commit()
            result["checks"][path] = out if isinstance(out, int) else (len(out) if hasattr(out, "__len__") else 1)
        except Exception:  # noqa: BLE001 - one domain's bug must not stop the deliveries
            db.session.rollback()
            log.exception("periodic check %s failed", path)
            result["checks"][path] = "error"
    # A row whose worker died while sending it, again and again (a message that crashes the worker):
    # failed and visible to admins, instead of "sending" for ever.
    max_attempts = int(settings.get("notify.max_attempts") or 8)
    db.session.execute(update(Outbox).where(Outbox.state == "sending", Outbox.claimed_at < now - lease(),
                                            Outbox.attempts >= max_attempts)
                       .values(state="failed", last_error="stopped while sending", claimed_at=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    inline = queue.inline_mode()
    if limit is None:
        limit = int(_cfg("NOTIFY_SWEEP_LIMIT", 500 if inline else 10000))
    # Rows the checks just wrote are due "now" by the (possibly later) clock: include them.
    ids = due_ids(max(now, clock.now()), limit, for_queue=not inline)
    db.session.rollback()  # end the read transaction (SQLite: release the write lock)
    db.session.info.pop(_HELD, None)  # nobody to tell (held_until): a long-running sweeper keeps no list
    result["due"] = len(ids)
    result["dispatched"] = dispatch(ids)
    return result


# ------------------------------------------------------------------------------------------------ concerns

def _dong_staff(dong_id: int, roles: tuple[str, ...]):
    from volnet.accounts.models import User, user_dongs

    return list(db.session.scalars(
        select(User).join(user_dongs, user_dongs.c.user_id == User.id)
        .where(user_dongs.c.dong_id == dong_id, User.role.in_(roles), User.active.is_(True))
        .order_by(User.id)))


def _existing_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(list(keys), 500):
        found.update(db.session.scalars(select(Outbox.dedupe_key).where(Outbox.dedupe_key.in_(chunk),
                                                                       Outbox.channel == "inapp")))
    return found


def _seoul_text(value: datetime) -> str:
    return clock.to_seoul(value).strftime("%Y-%m-%d %H:%M")


ESCALATE_BATCH = 2000  # concerns per sweep; the rest are reached by the next sweeps


def _mark_alerted(column: str, concerns) -> None:
    """``column`` = the due time alerted for, in one executemany; a concern whose due time moved meanwhile
    is left unmarked (its new due time gets its own alerts)."""
    from sqlalchemy import bindparam

    from volnet.concerns.models import Concern

    if concerns:
        t = Concern.__table__
        db.session.execute(update(t).where(t.c.id == bindparam("cid"), t.c.next_due_at == bindparam("due"))
                           .values({column: bindparam("due")}),
                           [{"cid": c.id, "due": c.next_due_at} for c in concerns])


def escalate_concerns(now: datetime | None = None) -> int:
    """Open concerns past their due time: the owner (or the dong's caseworkers) once per due time, then
    the team leads once the grace period has also passed. Returns how many messages were written."""
    from volnet.accounts.models import User
    from volnet.concerns.models import OPEN_STATUSES, Concern

    now = now or clock.now()
    grace = timedelta(hours=float(settings.get("notify.escalate_lead_after_hours") or 2))
    # Only concerns not yet alerted for their current due time (owner stage, or lead stage once the grace
    # has passed), in batches: every overdue concern is reached, whatever their number.
    not_alerted = or_(Concern.alerted_due_at.is_(None), Concern.alerted_due_at != Concern.next_due_at)
    lead_due = and_(Concern.next_due_at < now - grace,
                    or_(Concern.lead_alerted_due_at.is_(None), Concern.lead_alerted_due_at != Concern.next_due_at))
    concerns = list(db.session.scalars(
        select(Concern).where(Concern.status.in_(OPEN_STATUSES), Concern.next_due_at.is_not(None),
                              Concern.next_due_at < now, or_(not_alerted, lead_due))
        .order_by(Concern.next_due_at).limit(ESCALATE_BATCH)))
    if not concerns:
        return 0
    plans = []  # (user, kind, params, key, urgent, link)
    staff_cache: dict[tuple, list] = {}

    def staff(dong_id, roles):
        k = (dong_id, roles)
        if k not in staff_cache:
            staff_cache[k] = _dong_staff(dong_id, roles)
        return staff_cache[k]

    for c in concerns:
        which = "ack" if c.acknowledged_at is None else "action"
        stamp = int(c.next_due_at.timestamp())
        base = f"concern:{c.id}:due:{which}:{stamp}"
        owner = db.session.get(User, c.owner_id) if c.owner_id else None
        params = {"concern": c.id, "dong": c.dong.name if c.dong else "", "due": _seoul_text(c.next_due_at),
                  "owner": owner.name if owner else ""}
        urgent = c.urgency == "emergency"
        link = f"/concerns/{c.id}"
        first = [owner] if owner is not None and owner.active else staff(c.dong_id, ("caseworker",))
        for u in first:
            plans.append((u, f"concern_overdue_{which}", params, f"{base}:owner:{u.id}", urgent, link))
        if now >= c.next_due_at + grace:
            for u in staff(c.dong_id, ("team_lead",)):
                plans.append((u, "concern_overdue_lead", params, f"{base}:lead:{u.id}", urgent, link))
    done = _existing_keys([p[3] for p in plans])
    n = 0
    for u, kind, params, key, urgent, link in plans:
        if key in done:
            continue
        notify(u, kind, params, dedupe_key=key, urgent=urgent, link=link)
        n += 1
    # Marked in the same transaction as the messages.
    _mark_alerted("alerted_due_at", concerns)
    _mark_alerted("lead_alerted_due_at", [c for c in concerns if now >= c.next_due_at + grace])
    return n


def morning_digest(now: datetime | None = None, *, any_time: bool = False) -> int:
    """Once a day after the digest time (Asia/Seoul): each caseworker and team lead gets the counts of new
    and overdue concerns in their dongs. Nothing when both are zero. ``any_time`` sends today's digest even
    before the digest time (the demo data)."""
    from volnet.accounts.models import User, user_dongs
    from volnet.concerns.models import OPEN_STATUSES, Concern

    now = now or clock.now()
    local = now.astimezone(clock.SEOUL)
    if not any_time and local.time() < _parse_hhmm(settings.get("notify.digest_time"), "08:30"):
        return 0
    day: date = local.date()
    staff = list(db.session.execute(
        select(User.id, user_dongs.c.dong_id).join(user_dongs, user_dongs.c.user_id == User.id)
        .where(User.role.in_(("caseworker", "team_lead")), User.active.is_(True))))
    if not staff:
        return 0
    dongs_of: dict[int, set[int]] = {}
    for uid, did in staff:
        dongs_of.setdefault(uid, set()).add(did)
    keys = {uid: f"digest:{day.isoformat()}:{uid}" for uid in dongs_of}
    done = _existing_keys(list(keys.values()))
    todo = [uid for uid, k in keys.items() if k not in done]
    if not todo:
        return 0
    all_dongs = set().union(*(dongs_of[u] for u in todo))
    new = dict(db.session.execute(select(Concern.dong_id, func.count()).where(
        Concern.dong_id.in_(all_dongs), Concern.status == "new").group_by(Concern.dong_id)).all())
    overdue = dict(db.session.execute(select(Concern.dong_id, func.count()).where(
        Concern.dong_id.in_(all_dongs), Concern.status.in_(OPEN_STATUSES), Concern.next_due_at.is_not(None),
        Concern.next_due_at < now).group_by(Concern.dong_id)).all())
    n = 0
    for uid in todo:
        n_new = sum(new.get(d, 0) for d in dongs_of[uid])
        n_over = sum(overdue.get(d, 0) for d in dongs_of[uid])
        if not n_new and not n_over:
            continue
        u = db.session.get(User, uid)
        notify(u, "staff_digest", {"new": n_new, "overdue": n_over, "date": day.isoformat()},
               dedupe_key=keys[uid], link="/concerns/")
        n += 1
    return n


# ------------------------------------------------------------------------------------------------ reading

def unread_count(user) -> int:
    loaded = getattr(user, "__dict__", {}).get("unread_inapp_count")
    if loaded is not None:  # read with the signed-in user (accounts.sessions.load_user)
        return loaded
    return db.session.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.recipient_id == user.id, Outbox.channel == "inapp", Outbox.state == "sent",
        Outbox.read_at.is_(None))) or 0


def inbox_query(user):
    return (select(Outbox).where(Outbox.recipient_id == user.id, Outbox.channel == "inapp",
                                 Outbox.state == "sent")
            .order_by(Outbox.sent_at.desc(), Outbox.id.desc()))


def mark_read(user, row: Outbox | None = None) -> int:
    """Mark one (or every) in-app notification of ``user`` read. Never commits."""
    stmt = update(Outbox).where(Outbox.recipient_id == user.id, Outbox.channel == "inapp",
                                Outbox.state == "sent", Outbox.read_at.is_(None))
    if row is not None:
        stmt = stmt.where(Outbox.id == row.id)
    res = db.session.execute(stmt.values(read_at=clock.now()).execution_options(synchronize_session="fetch"))
    return res.rowcount or 0


def state_counts() -> dict[str, int]:
    return dict(db.session.execute(select(Outbox.state, func.count()).group_by(Outbox.state)).all())


def oldest_due_age(now: datetime | None = None) -> timedelta | None:
    now = now or clock.now()
    oldest = db.session.scalar(select(func.min(Outbox.next_attempt_at)).where(text(DUE_STATES_SQL)))
    if oldest is None or oldest > now:
        return None
    return now - oldest
