"""Privacy pages: the monthly audit review (team leads), access and deletion requests, retention and
security settings (admins)."""
from __future__ import annotations

import json

from flask import Blueprint as _Blueprint  # noqa: E402
from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from volnet.accounts.models import User, login_key
from volnet.accounts.roles import ADMIN, TEAM_LEAD, TOTP_ROLES
from volnet.audit.models import AuditReview
from volnet.audit.services import record
from volnet.core import clock, nav
from volnet.core.access import rule
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.sql import upsert
from volnet.extensions import db
from volnet.households.models import Household
from volnet.privacy import services as svc
from volnet.privacy.forms import (
    REQUEST_KINDS,
    ConfirmForm,
    PrivacyRequestForm,
    ReviewForm,
    SecuritySettingsForm,
    TotpResetForm,
)
from volnet.privacy.models import PrivacyRequest
from volnet.security import throttle, totp
from volnet.settings import services as settings

bp = _Blueprint("privacy", __name__, url_prefix="/privacy")

nav.register(_l("Access review"), "privacy.review", (TEAM_LEAD, ADMIN))
nav.register(_l("Privacy requests"), "privacy.requests", (ADMIN,))
nav.register(_l("Security"), "privacy.security_settings", (ADMIN,))
nav.register(_l("Two-step login"), "accounts.totp_setup", TOTP_ROLES)

FINDING_LABELS = {
    "offhours": _l("Reads at night (22:00-07:00)"),
    "volume": _l("Many households read in one day"),
    "outside": _l("Reads outside the person's dongs"),
    "denied": _l("Refused accesses"),
}


@bp.before_request
def _personal():
    g.personal_data = True  # every page here is about people: Cache-Control: no-store


# --- monthly review ---------------------------------------------------------------------------------

@bp.route("/review", methods=["GET", "POST"])
@rule(TEAM_LEAD, ADMIN)
def review():
    month = request.values.get("month", "") or svc.previous_month()
    try:
        svc.month_bounds(month)
    except (ValueError, TypeError):
        flash(_("Choose a month such as 2026-11."), "error")
        month = svc.previous_month()
    form = ReviewForm()
    findings = svc.unusual_access(current_user, month)
    done = db.session.scalar(select(AuditReview).where(AuditReview.reviewer_id == current_user.id,
                                                       AuditReview.month == month))
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("privacy/review.html", form=form, findings=findings, month=month, done=done,
                                   labels=FINDING_LABELS, months=_months()), 400
        # One statement: a double tap (the findings take a moment to compute) records one review.
        upsert(AuditReview, ["reviewer_id", "month"], {
            "reviewer_id": current_user.id, "month": month, "done_at": clock.now(), "note": form.note.data or "",
            "findings": len(findings)})
        review_id = db.session.scalar(select(AuditReview.id).where(AuditReview.reviewer_id == current_user.id,
                                                                   AuditReview.month == month))
        record(current_user, "audit_review", "audit_review", review_id, detail=f"month={month}")
        db.session.commit()
        flash(_("The review of %(month)s has been recorded.", month=month), "success")
        return redirect(url_for("privacy.review", month=month))
    return render_template("privacy/review.html", form=form, findings=findings, month=month, done=done,
                           labels=FINDING_LABELS, months=_months())


def _months(n: int = 12) -> list[str]:
    local = clock.now().astimezone(clock.SEOUL)
    out, y, m = [], local.year, local.month
    for _i in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


# --- access and deletion requests -------------------------------------------------------------------

def _household_or_none(hid) -> Household | None:
    """Admins handle requests for any dong; the household is loaded here and every read is audited."""
    try:
        hid = int(hid)
    except (TypeError, ValueError):
        return None
    if not 0 < hid < 2**31:
        return None
    return db.session.get(Household, hid)


@bp.route("/requests", methods=["GET", "POST"])
@rule(ADMIN)
def requests():
    form = PrivacyRequestForm()
    looked_up = None
    if request.method == "GET" and request.args.get("household_id"):
        looked_up = _household_or_none(request.args.get("household_id"))
        if looked_up is None:
            flash(_("No household has this number."), "error")
        else:
            record(current_user, "view", "households", looked_up.id, detail="privacy request lookup")
            db.session.commit()
            form.household_id.data = looked_up.id
    if form.validate_on_submit():
        h = _household_or_none(form.household_id.data)
        if h is None:
            form.household_id.errors.append(_("No household has this number."))
        elif form.kind.data == "access":
            if not throttle.throttle_export(current_user):
                abort(429)
            data = svc.household_export(h, current_user)
            svc.handle_request("access", h, current_user, form.reason.data)
            db.session.commit()
            body = json.dumps(data, ensure_ascii=False, indent=2)
            resp = Response(body, mimetype="application/json")
            resp.headers["Content-Disposition"] = f'attachment; filename="volnet-household-{h.id}.json"'
            resp.headers["Cache-Control"] = "no-store"
            return resp
        else:
            try:
                req = svc.handle_request(form.kind.data, h, current_user, form.reason.data)
            except svc.RequestRefused as refused:
                db.session.rollback()
                flash(_("Nothing was changed: %(what)s. Close the case and end the safety calls first (the "
                        "caseworkers still work with the household), then carry out the request.",
                        what=", ".join(refused.blockers)), "error")
            else:
                db.session.commit()
                if req.result == "anonymised_instead":
                    flash(_("The household could not be deleted: records the law and the dong's statistics need "
                            "(an integrated case, safety calls, a crisis list) refer to it. Its personal details "
                            "and the content of those records (notes, needs, plans, screenings, answers) were "
                            "removed; their dates, codes and amounts remain."), "warning")
                elif req.kind == "anonymise":
                    flash(_("The household's personal details and the content of its records were removed; "
                            "their dates, codes and amounts remain."), "success")
                else:
                    flash(_("The request has been carried out and recorded."), "success")
                return redirect(url_for("privacy.requests"))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(select(PrivacyRequest).order_by(PrivacyRequest.at.desc()), page=page, per_page=30,
                             error_out=False)
    handlers = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({r.handled_by_id for r in pagination.items if r.handled_by_id} or {-1})))}
    return render_template("privacy/requests.html", form=form, looked_up=looked_up, pagination=pagination,
                           kinds=REQUEST_KINDS, handlers=handlers), (400 if request.method == "POST" else 200)


# --- retention --------------------------------------------------------------------------------------

@bp.route("/retention", methods=["GET", "POST"])
@rule(ADMIN)
def retention():
    form = ConfirmForm()
    if form.validate_on_submit():
        stats = svc.run_retention(clock.now())
        db.session.commit()
        flash(_("Retention applied: %(c)d concerns and %(h)d households anonymised, %(a)d old audit rows removed.",
                c=stats["concerns"], h=stats["households"], a=stats["audit_rows"]), "success")
        return redirect(url_for("privacy.retention"))
    stats = svc.run_retention(clock.now(), dry_run=True)
    db.session.rollback()
    return render_template("privacy/retention.html", form=form, stats=stats,
                           years=settings.get("privacy.closed_concern_years"),
                           audit_years=settings.get("audit.retention_years"))


# --- security settings ------------------------------------------------------------------------------

KEYS = {
    "totp_required": "security.totp_required",
    "review_daily_households": "audit.review_daily_households",
    "closed_concern_years": "privacy.closed_concern_years",
    "audit_retention_years": "audit.retention_years",
}


@bp.route("/security", methods=["GET", "POST"])
@rule(ADMIN)
def security_settings():
    form = SecuritySettingsForm()
    reset_form = TotpResetForm(prefix="reset")
    if request.method == "GET":
        for field, key in KEYS.items():
            getattr(form, field).data = settings.get(key)
    elif form.validate_on_submit():
        for field, key in KEYS.items():
            value = getattr(form, field).data
            settings.put(key, bool(value) if field == "totp_required" else int(value), current_user)
        record(current_user, "update", "settings", None, detail="security")
        db.session.commit()
        flash(_("Security settings saved."), "success")
        return redirect(url_for("privacy.security_settings"))
    enrolled = db.session.scalar(select(func.count()).select_from(User).where(
        User.role.in_(TOTP_ROLES), User.active.is_(True), User.totp_secret.is_not(None))) or 0
    total = db.session.scalar(select(func.count()).select_from(User).where(
        User.role.in_(TOTP_ROLES), User.active.is_(True))) or 0
    return render_template("privacy/security.html", form=form, reset_form=reset_form, enrolled=enrolled,
                           total=total), (400 if request.method == "POST" else 200)


@bp.route("/security/reset-two-step", methods=["POST"])
@rule(ADMIN)
def reset_two_step():
    """A person lost their phone and their recovery codes: the admin turns two-step login off for them."""
    form = TotpResetForm(prefix="reset")
    if not form.validate_on_submit():
        flash(_("Please check the form."), "error")
        return redirect(url_for("privacy.security_settings"))
    u = db.session.scalar(select(User).where(User.login_id == login_key(form.login_id.data)))
    if u is None or not u.totp_secret:
        flash(_("No account with two-step login has this login ID."), "error")
        return redirect(url_for("privacy.security_settings"))
    totp.disable(u)
    u.end_all_sessions()
    record(current_user, "totp_reset", "user", u.id)
    db.session.commit()
    flash(_("Two-step login has been reset for %(name)s. They set it up again at their next login.", name=u.name),
          "success")
    return redirect(url_for("privacy.security_settings"))
