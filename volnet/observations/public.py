"""The public 'report a neighbour' page: no account, a reference code, nothing revealed."""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import time
from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from volnet.audit.services import client_ip
from volnet.concerns.models import COARSE_STATUS, Concern
from volnet.core import clock
from volnet.core.access import rule
from volnet.extensions import db
from volnet.observations import services as observations
from volnet.observations.forms import CitizenReportForm, StatusLookupForm
from volnet.observations.models import Observation
from volnet.observations.signals import WARNING_SIGNS
from volnet.observations.views import bp
from volnet.places.models import Dong
from volnet.security import throttle
from volnet.settings import services as settings

MIN_FILL_SECONDS = 3


def _signer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="citizen-report")


def dong_choices() -> list[tuple[int, str]]:
    """The dongs the citizen form offers (every active one, by 시군구 and name); also where a concern may be
    moved to (concerns.transfer)."""
    dongs = db.session.scalars(select(Dong).where(Dong.active.is_(True)).order_by(Dong.sigungu, Dong.name))
    return [(d.id, d.full_name) for d in dongs]


def _dong_choices():
    return [("", _("Choose…")), *dong_choices()]


def _render(form, status=200, wait_minutes=None):
    return render_template("public/report.html", form=form, warning=WARNING_SIGNS,
                           wait_minutes=wait_minutes), status


@bp.route("/report-a-neighbour", methods=["GET", "POST"])
@rule(public=True)
def public_report():
    form = CitizenReportForm()
    form.dong_id.choices = _dong_choices()
    if request.method == "GET":
        # A blank form is someone's new report (on a shared computer, perhaps someone else's): the code
        # of the report sent before it is not shown again.
        session.pop(SENT_KEY, None)
        form.started.data = _new_form_token()
        return _render(form)
    ip = client_ip() or "-"
    limit = int(settings.get("public_report.per_hour"))
    # Fails closed: the count lives in the database, so it holds in every process and without Redis.
    if throttle.count(f"public:{ip}", timedelta(hours=1)) >= limit:
        # Not sent, and not counted: the form again with what was typed, and when it can be sent (neighbours
        # behind one address share the limit).
        wait = throttle.retry_after(f"public:{ip}", limit, timedelta(hours=1))
        form.validate_on_submit()  # its choices bound, its messages shown if something is missing too
        return _render(form, 429, wait_minutes=max(1, math.ceil(wait.total_seconds() / 60)))
    if not form.validate_on_submit():
        return _render(form, 400)
    bot = bool(form.website.data)
    nonce = None
    try:
        payload, signed_at = _signer().loads(form.started.data or "", max_age=24 * 3600, return_timestamp=True)
        # Forms shown before form tokens existed carry their start time only (and no nonce to check).
        shown_at = payload if isinstance(payload, int) else signed_at.timestamp()
        bot = bot or (time.time() - shown_at < MIN_FILL_SECONDS)
        nonce = payload if isinstance(payload, str) and payload.isalnum() else None
    except (BadSignature, ValueError, TypeError):
        bot = True
    throttle.hit(f"public:{ip}")
    digest = _content_digest(form)
    earlier = _sent_before(digest)
    if earlier is not None:
        # "Back" and the same form sent again: the browser showed the form anew (a new form token), but
        # this browser sent exactly this a moment ago. Its report stands, with its code; nothing is saved.
        db.session.commit()
        session[SENT_KEY] = [earlier[0], earlier[1], int(clock.now().timestamp()), True]
        return redirect(url_for("observations.public_report_sent"), 303)
    if bot:
        db.session.commit()
        flash(_("Please take a moment to fill in the form, then send it again."), "error")
        form.started.data = _new_form_token()
        return _render(form, 400)
    obs = Observation(
        dong_id=form.dong_id.data, household_id=None, reporter_id=None, source="citizen",
        urgency=form.urgency.data, signals=list(form.signals.data or []), meals=form.meals.data or "",
        hygiene=form.hygiene.data or "", note=form.note.data or "", location_text=form.location_text.data,
        subject_sex=form.subject_sex.data, subject_age_band=form.subject_age_band.data,
        contact=form.contact.data or "", reference_code=observations.new_reference_code(),
        # The same form sent again unchanged (back and send, a double tap) is the first report: its code
        # stands. Changed after "back", it is a report of its own, with its own code.
        client_token=f"citizen-{nonce}-{digest}" if nonce else None,
    )
    try:
        obs, created = observations.submit(obs, None)
    except observations.DuplicateReport:  # its twin was saved a moment ago by a parallel request
        db.session.rollback()
        obs, created = observations.find_by_token(obs.client_token), False
        if obs is None:
            raise
    obs_id, code, urgency = obs.id, obs.reference_code, obs.urgency
    db.session.commit()
    from volnet.observations.views import _after_commit, hooks_urgencies

    if created and urgency in hooks_urgencies():
        _after_commit(obs_id)
    # Post/redirect/get: reloading the thank-you page shows the code again and sends nothing.
    session[SENT_KEY] = [code, urgency, int(clock.now().timestamp()), not created]
    _remember_sent(digest, code)
    return redirect(url_for("observations.public_report_sent"), 303)


# What this browser sent in the last REPEAT_SECONDS, as [content digest, code, sent at] (in its signed session
# cookie, so only its own reports are recognised, and in no process's memory): the same form sent again
# after "back", with a new form token, is recognised by its content. A blank form opened in between does
# not forget them (the back button shows the form anew): the same words sent again here within minutes are
# the same report.
RECENT_KEY = "citizen_reports_recent"
REPEAT_SECONDS = 10 * 60
RECENT_KEPT = 5


def _recent() -> list:
    now = clock.now().timestamp()
    kept = session.get(RECENT_KEY)
    if not isinstance(kept, list):
        return []
    return [e for e in kept if isinstance(e, list) and len(e) == 3 and isinstance(e[2], int)
            and 0 <= now - e[2] < REPEAT_SECONDS]


def _sent_before(digest: str) -> tuple[str, str] | None:
    """(code, urgency) of the report with this content that this browser sent a few minutes ago, if any and
    if it is still on record."""
    code = next((e[1] for e in reversed(_recent()) if e[0] == digest), None)
    if code is None:
        return None
    urgency = db.session.scalar(select(Observation.urgency).where(Observation.reference_code == code))
    return (code, urgency) if urgency is not None else None


def _remember_sent(digest: str, code: str) -> None:
    entries = [e for e in _recent() if e[0] != digest]
    session[RECENT_KEY] = [*entries, [digest, code, int(clock.now().timestamp())]][-RECENT_KEPT:]


SENT_KEY = "citizen_report_sent"
# How long the thank-you page can be reloaded: the citizen writes the code down. After that, or once a
# blank form is opened, the code is gone from this browser (the next person at a shared computer).
SENT_SHOWN_SECONDS = 10 * 60


@bp.route("/report-a-neighbour/sent")
@rule(public=True)
def public_report_sent():
    """The thank-you page with the reference code of the report this browser just sent (kept in its
    session cookie, so the address bar shows no code)."""
    sent = session.get(SENT_KEY)
    if not (isinstance(sent, list) and len(sent) == 4
            and 0 <= clock.now().timestamp() - sent[2] < SENT_SHOWN_SECONDS):
        session.pop(SENT_KEY, None)
        return redirect(url_for("observations.public_report"))
    code, urgency, _sent_at, again = sent
    g.personal_data = True  # not kept in the browser's cache either
    return render_template("public/report_sent.html", code=code, urgency=urgency, again=again)


def _content_digest(form) -> str:
    """What the citizen wrote, as a keyed digest (the note and contact are not to be guessed from it):
    the same form sent again unchanged has the same one."""
    content = [form.dong_id.data, form.urgency.data, sorted(form.signals.data or []), form.meals.data or "",
               form.hygiene.data or "", (form.note.data or "").strip(), (form.location_text.data or "").strip(),
               form.subject_sex.data or "", form.subject_age_band.data or "", (form.contact.data or "").strip()]
    key = f"{current_app.config['SECRET_KEY']}/citizen-report-content".encode()
    return hmac.new(key, json.dumps(content, ensure_ascii=False).encode(), hashlib.sha256).hexdigest()[:20]


def _new_form_token() -> str:
    """The form's signed start: when it was shown (the bot check) and a one-time nonce (a repeat check)."""
    return _signer().dumps(secrets.token_hex(12))


@bp.route("/report-a-neighbour/status", methods=["GET", "POST"])
@rule(public=True)
def public_status():
    form = StatusLookupForm()
    result = None
    if form.validate_on_submit():
        ip = client_ip() or "-"
        if not throttle.allow(f"status:{ip}", 20, timedelta(hours=1)):
            db.session.commit()
            return render_template("public/throttled.html"), 429
        db.session.commit()
        code = form.code.data.strip().upper().replace(" ", "")
        if len(code) == 8:
            code = f"{code[:4]}-{code[4:]}"
        obs = db.session.scalar(select(Observation).where(Observation.reference_code == code))
        if obs is None:
            form.code.errors.append(_("No report has this code. Check the code and try again."))
        else:
            from volnet.observations.views import coarse_statuses

            result = coarse_statuses([obs.concern_id])[obs.concern_id]
    return render_template("public/status.html", form=form, result=result)


__all__ = ["COARSE_STATUS", "Concern"]
