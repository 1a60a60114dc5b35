from __future__ import annotations

import secrets
from collections import Counter
from datetime import date, datetime, timedelta

from flask import Blueprint as _Blueprint  # noqa: E402
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from volnet.accounts import tongs as account_tongs
from volnet.accounts.models import Invitation, Organization, User, user_dongs
from volnet.accounts.roles import ADMIN, ROLE_LABELS, TEAM_LEAD, TONG_LEADER
from volnet.admin import audit_labels
from volnet.admin.forms import (
    ORG_KIND_LABELS,
    DongForm,
    DongImportForm,
    DueRulesForm,
    InvitationForm,
    OrganizationForm,
    TimeRulesForm,
    TongForm,
    org_phone,
    user_edit_form,
)
from volnet.audit.models import AuditLog
from volnet.audit.services import record
from volnet.core import access, clock
from volnet.core.access import rule
from volnet.core.i18n import labels
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.korean import format_phone, normalize_phone
from volnet.core.qr import qr_svg
from volnet.core.sql import lock_rows, upsert
from volnet.extensions import db
from volnet.households.models import tong_ban_label
from volnet.places import services as places
from volnet.places.models import Dong, Tong
from volnet.security import crypto
from volnet.settings import services as settings

bp = _Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@rule(ADMIN)
def index():
    counts = {
        "dongs": db.session.scalar(select(func.count()).select_from(Dong).where(Dong.active.is_(True))),
        "organizations": db.session.scalar(select(func.count()).select_from(Organization)),
        "users": db.session.scalar(select(func.count()).select_from(User).where(User.active.is_(True))),
    }
    return render_template("admin/index.html", counts=counts)


# --- dongs and tongs ---------------------------------------------------------------------------

@bp.route("/dongs", methods=["GET", "POST"])
@rule(ADMIN)
def dongs():
    import_form = DongImportForm(prefix="imp")
    form = DongForm(prefix="new")
    if request.method == "POST" and request.form.get("action") == "import":
        if import_form.validate_on_submit():
            try:
                added = places.import_sigungu(import_form.sigungu.data)
            except places.AmbiguousSigungu as many:
                import_form.sigungu.errors.append(_(
                    "There is a %(name)s in several provinces: %(choices)s. Write the province and the district, "
                    "for example \"%(example)s\".", name=many.name, choices=", ".join(many.choices),
                    example=many.choices[0]))
            else:
                if added is None:
                    flash(_("No city or district of that name in the administrative code list."), "error")
                else:
                    record(current_user, "create", "dong", None, detail=f"imported={added}")
                    db.session.commit()
                    flash(_("%(n)d dongs added.", n=added), "success")
                    return redirect(url_for("admin.dongs"))
    elif request.method == "POST" and form.validate_on_submit():
        if db.session.scalar(select(Dong.id).where(Dong.code == form.code.data)):
            form.code.errors.append(_("A dong with this code exists already."))
        else:
            d = Dong(code=form.code.data, sido=form.sido.data, sigungu=form.sigungu.data, name=form.name.data)
            db.session.add(d)
            try:
                db.session.flush()
            except IntegrityError:  # the same code added a moment ago (a double tap, another admin)
                db.session.rollback()
                form.code.errors.append(_("A dong with this code exists already."))
            else:
                record(current_user, "create", "dong", d.id)
                db.session.commit()
                flash(_("The dong has been added."), "success")
                return redirect(url_for("admin.dongs"))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(select(Dong).order_by(Dong.sido, Dong.sigungu, Dong.name), page=page, per_page=50,
                             error_out=False)

    return render_template("admin/dongs.html", pagination=pagination, form=form, import_form=import_form)


@bp.route("/dongs/<int:dong_id>", methods=["GET", "POST"])
@rule(ADMIN)
def dong(dong_id: int):
    d = db.get_or_404(Dong, dong_id)
    form = TongForm()
    if request.method == "POST" and request.form.get("action") == "toggle":
        d.active = not d.active
        record(current_user, "update", "dong", d.id)
        db.session.commit()
        places.forget_active_dongs()
        return redirect(url_for("admin.dong", dong_id=d.id))
    if form.validate_on_submit():
        # One statement: the same tong saved twice at once is one tong with the later values.
        upsert(Tong, ["dong_id", "number"], {"dong_id": d.id, "number": form.number.data,
                                             "bans": form.bans.data or 0, "area": form.area.data or ""})
        record(current_user, "update", "dong", d.id, detail=f"tong={form.number.data}")
        db.session.commit()
        flash(_("The tong has been saved."), "success")
        return redirect(url_for("admin.dong", dong_id=d.id))
    return render_template("admin/dong.html", d=d, form=form), (400 if request.method == "POST" else 200)


# --- organizations -----------------------------------------------------------------------------

def _dong_choices(blank=True, keep=()):
    """Active dongs, and the inactive ones in ``keep`` (what the form's object has now), marked as inactive:
    a save that does not touch them keeps them. Names found in two 시도 (중구 중앙동) show the 시도."""
    keep = [i for i in keep if i]
    where = (Dong.active.is_(True) | Dong.id.in_(keep)) if keep else Dong.active.is_(True)
    rows = list(db.session.scalars(select(Dong).where(where).order_by(Dong.sigungu, Dong.name, Dong.sido)))
    names = Counter(d.full_name for d in rows)
    choices = []
    for d in rows:
        label = d.full_name if names[d.full_name] == 1 else f"{d.sido} {d.full_name}"
        choices.append((d.id, label if d.active else _("%(name)s (inactive)", name=label)))
    return ([(0, _("(none)"))] if blank else []) + choices


@bp.route("/organizations")
@rule(ADMIN)
def organizations():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(select(Organization).options(selectinload(Organization.dong))
                             .order_by(Organization.name), page=page, per_page=50, error_out=False)
    return render_template("admin/organizations.html", pagination=pagination, kinds=ORG_KIND_LABELS)


def _same_name_in_dong(form, org) -> bool:
    """Another organization of this name in the same dong (or with no dong either): refused, as two
    identical entries could not be told apart in the pickers."""
    dong_id = form.dong_id.data or None
    if dong_id is not None:
        # Saves into one dong take turns (a double tap, two admins): the second sees the first's organization.
        lock_rows(Dong, [dong_id])
    stmt = select(Organization.id).where(func.lower(Organization.name) == form.name.data.lower(),
                                         Organization.dong_id.is_(None) if dong_id is None
                                         else Organization.dong_id == dong_id)
    if org is not None:
        stmt = stmt.where(Organization.id != org.id)
    if db.session.scalar(stmt.limit(1)) is None:
        return False
    form.name.errors.append(_("An organization of this name exists already in this dong."))
    return True


@bp.route("/organizations/new", methods=["GET", "POST"], defaults={"org_id": None})
@bp.route("/organizations/<int:org_id>", methods=["GET", "POST"])
@rule(ADMIN)
def organization(org_id):
    org = db.get_or_404(Organization, org_id) if org_id is not None else None  # /organizations/0: 404
    form = OrganizationForm(obj=org)
    form.dong_id.choices = _dong_choices(keep=[org.dong_id] if org else [])
    if request.method == "GET" and org is not None:
        form.dong_id.data = org.dong_id or 0
        form.phone.data = format_phone(org.phone) if (org.phone or "").isdigit() else (org.phone or "")
    if form.validate_on_submit() and not _same_name_in_dong(form, org):
        if org is None:
            org = Organization()
            db.session.add(org)
        org.name, org.kind = form.name.data, form.kind.data
        org.dong_id = form.dong_id.data or None
        org.phone = org_phone(form.phone.data) if form.phone.data else None
        org.active = bool(form.active.data)
        db.session.flush()
        record(current_user, "update", "organization", org.id)
        db.session.commit()
        flash(_("The organization has been saved."), "success")
        return redirect(url_for("admin.organizations"))
    return render_template("admin/organization.html", form=form, org=org), (400 if request.method == "POST" else 200)


# --- accounts and invitations ------------------------------------------------------------------

@bp.route("/users")
@rule(ADMIN)
def users():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    q = request.args.get("q", "")[:60]
    role = request.args.get("role", "")
    stmt = select(User).options(selectinload(User.dongs), selectinload(User.organization)).order_by(User.name)
    if q:
        from volnet.households.services import escape_like

        like = f"%{escape_like(q)}%"
        # Login IDs are stored in lower case: "Kim" finds kim.one.
        stmt = stmt.where((User.name.like(like, escape="\\")) | (User.login_id.like(like.lower(), escape="\\")))
    if role in ROLE_LABELS:
        stmt = stmt.where(User.role == role)
    pagination = db.paginate(stmt, page=page, per_page=50, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/users.html", pagination=pagination, roles=ROLE_LABELS, q=q, args=args)


def _org_choices(keep: int | None = None):
    """Active organizations, and the inactive one ``keep`` (the account's own), marked as inactive."""
    where = Organization.active.is_(True)
    if keep:
        where = where | (Organization.id == keep)
    return [(0, _("(none)"))] + [(o.id, o.name if o.active else _("%(name)s (inactive)", name=o.name))
                                 for o in db.session.scalars(select(Organization).where(where)
                                                             .order_by(Organization.name))]


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@rule(ADMIN)
def user(user_id: int):
    # A save waits for another save of the same account (a double tap, two admins) and reads it afresh.
    # FOR NO KEY UPDATE: rows that refer to this account (audit entries) can still be written meanwhile.
    u = db.get_or_404(User, user_id, **({"with_for_update": {"key_share": True}, "populate_existing": True}
                                         if request.method == "POST" else {}))
    dong_choices = _dong_choices(blank=False, keep=[d.id for d in u.dongs])
    # A tongs field for each dong of the account: the dongs saved, or on a POST the dongs chosen.
    if request.method == "POST":
        chosen = set(request.form.getlist("dong_ids"))
        tong_dongs = [(i, name) for i, name in dong_choices if str(i) in chosen]
    else:
        tong_dongs = [(d.id, d.full_name) for d in u.dongs]
    form = user_edit_form(tong_dongs)(obj=u)
    form.mobile_needed = bool({"sms", "kakao"} & set(u.channels or ()))
    form.organization_id.choices = _org_choices(keep=u.organization_id)
    form.dong_ids.choices = dong_choices
    if request.method == "GET":
        form.dong_ids.data = [d.id for d in u.dongs]
        form.organization_id.data = u.organization_id or 0
        form.phone.data = format_phone(u.phone)
        for dong_id, numbers in account_tongs.of_user(u.id).items():
            if (f := getattr(form, f"tongs_{dong_id}", None)) is not None:
                f.data = account_tongs.shown(numbers)
    if form.validate_on_submit():
        if u.id == current_user.id and (form.role.data != ADMIN or not form.active.data):
            flash(_("You cannot remove your own administrator access."), "error")
            return redirect(url_for("admin.user", user_id=u.id))
        was_active, old_role = u.active, u.role
        u.name, u.role = form.name.data, form.role.data
        u.organization_id = form.organization_id.data or None
        u.dongs = list(db.session.scalars(select(Dong).where(Dong.id.in_(form.dong_ids.data or [-1]))))
        account_tongs.set_for_user(u.id, {int(f.name.removeprefix("tongs_")): f.numbers for f in form.tong_fields()
                                          if f.numbers and u.role == TONG_LEADER})
        u.active = bool(form.active.data)
        u.phone = normalize_phone(form.phone.data)
        u.email = (form.email.data or "").lower() or None
        if (was_active and not u.active) or old_role != u.role:
            u.end_all_sessions()
        record(current_user, "update", "user", u.id)
        db.session.commit()
        flash(_("The account has been saved."), "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/user.html", form=form, u=u, roles=ROLE_LABELS), \
        (400 if request.method == "POST" else 200)


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@rule(ADMIN)
def reset_password(user_id: int):
    from volnet.concerns.forms import ActionForm

    u = db.get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form has expired. Please submit it again."), "error")
        return redirect(url_for("admin.user", user_id=u.id))
    from volnet.security import throttle

    # Counted in the database: 10 resets an hour per administrator, in every process.
    if not throttle.allow(f"pwreset:{current_user.id}", 10, timedelta(hours=1)):
        db.session.commit()
        abort(429)
    temporary = "-".join(secrets.token_hex(2) for _ in range(4))
    u.set_password(temporary)
    u.must_change_password = True
    u.end_all_sessions()
    record(current_user, "password_reset", "user", u.id)
    db.session.commit()
    # Post/redirect/get: the password is held (encrypted) in this admin's session for one display and shown
    # by a GET page, so reloading that page does not reset the password again. Never put in a URL.
    session[_TEMPORARY_KEY] = {"uid": u.id, "pw": crypto.encrypt(temporary)}
    return redirect(url_for("admin.temporary_password", user_id=u.id))


_TEMPORARY_KEY = "admin_temporary_password"


@bp.route("/users/<int:user_id>/temporary-password")
@rule(ADMIN)
def temporary_password(user_id: int):
    """The temporary password of a reset, shown once: a reload finds it gone (and resets nothing)."""
    u = db.get_or_404(User, user_id)
    held = session.get(_TEMPORARY_KEY)
    temporary = None
    if isinstance(held, dict) and held.get("uid") == u.id:
        session.pop(_TEMPORARY_KEY, None)
        try:
            temporary = crypto.decrypt(held.get("pw"))
        except crypto.DecryptError:
            temporary = None
    return render_template("admin/password_reset.html", u=u, temporary=temporary)


@bp.route("/invitations", methods=["GET", "POST"])
@rule(ADMIN)
def invitations():
    form = InvitationForm()
    form.organization_id.choices = _org_choices()
    form.dong_ids.choices = _dong_choices(blank=False)
    if form.validate_on_submit():
        token, token_hash = Invitation.new_token()
        inv = Invitation(token_hash=token_hash, role=form.role.data,
                         organization_id=form.organization_id.data or None, note=form.note.data or "",
                         max_uses=form.max_uses.data, expires_at=clock.now() + timedelta(days=form.days.data),
                         created_by_id=current_user.id,
                         dongs=list(db.session.scalars(select(Dong).where(Dong.id.in_(form.dong_ids.data)))))
        db.session.add(inv)
        db.session.flush()
        account_tongs.set_for_invitation(inv.id, form.dong_ids.data[0], form.tongs.numbers)
        record(current_user, "create", "invitation", inv.id)
        db.session.commit()
        link = url_for("accounts.join", token=token, _external=True)
        return render_template("admin/invitation_created.html", inv=inv, link=link, qr_svg=qr_svg(link, scale=6),
                               roles=ROLE_LABELS, tongs=", ".join(tong_ban_label(n) for n in form.tongs.numbers))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(select(Invitation).options(selectinload(Invitation.organization),
                                                        selectinload(Invitation.dongs))
                             .order_by(Invitation.created_at.desc()), page=page, per_page=30, error_out=False)
    return render_template("admin/invitations.html", form=form, pagination=pagination, roles=ROLE_LABELS), \
        (400 if request.method == "POST" else 200)


@bp.route("/invitations/<int:inv_id>/revoke", methods=["POST"])
@rule(ADMIN)
def revoke_invitation(inv_id: int):
    from volnet.concerns.forms import ActionForm

    inv = db.get_or_404(Invitation, inv_id)
    if ActionForm().validate_on_submit():
        inv.revoked = True
        record(current_user, "update", "invitation", inv.id)
        db.session.commit()
        flash(_("The invitation has been revoked."), "success")
    return redirect(url_for("admin.invitations"))


# --- settings and audit ------------------------------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
@rule(ADMIN)
def settings_page():
    form = DueRulesForm()
    keys = {
        "emergency_ack": "due.emergency.ack", "emergency_action": "due.emergency.action",
        "urgent_ack": "due.urgent.ack", "urgent_action": "due.urgent.action",
        "routine_ack": "due.routine.ack", "routine_action": "due.routine.action",
        "public_per_hour": "public_report.per_hour",
    }
    if request.method == "GET":
        for field, key in keys.items():
            getattr(form, field).data = settings.get(key)
    if form.validate_on_submit():
        for field, key in keys.items():
            value = getattr(form, field).data
            settings.put(key, value.strip().lower() if isinstance(value, str) else value, current_user)
        record(current_user, "update", "settings", None)
        db.session.commit()
        flash(_("Settings saved. New due times apply to concerns from now on."), "success")
        return redirect(url_for("admin.settings_page"))
    return render_template("admin/settings.html", form=form), (400 if request.method == "POST" else 200)


# The time rules without a page of their own: (section, [(field, setting key, hint)]). The settings are
# read where they apply (cases, calls, shifts, notifications and accounts services); defaults live there.
TIME_RULES = [
    (_l("Integrated cases"), [
        ("case_assessment", "cases.due.assessment", None),
        ("case_selection", "cases.due.selection", None),
        ("case_planning", "cases.due.planning", None),
        ("case_total", "cases.due.total", _l("No step is due later than the whole case.")),
        ("case_escalate", "cases.escalate_lead_after", None),
        ("case_review", "cases.review_every", None),
        ("case_aftercare_early", "cases.aftercare_early", _l("In days: 7d.")),
    ]),
    (_l("Safety calls"), [
        ("call_retries", "calls.retries", _l("0: no second try.")),
        ("call_retry_after", "calls.retry_after", _l("Minutes or hours: 15m, 2h.")),
        ("call_retry_grace", "calls.retry_grace", _l("Minutes or hours: 15m, 2h.")),
        ("call_cadence_emergency", "calls.cadence_days/emergency", None),
        ("call_cadence_intensive", "calls.cadence_days/intensive", None),
        ("call_cadence_daily_risk", "calls.cadence_days/daily_risk", None),
        ("call_cadence_relationship", "calls.cadence_days/relationship", None),
        ("call_cadence_daily_life", "calls.cadence_days/daily_life", None),
        ("call_cadence_unassessed", "calls.cadence_days/unassessed", None),
        ("call_hour", "calls.call_hour", _l("Seoul time.")),
        ("call_visit_after_misses", "calls.visit_after_misses",
         _l("In the top two tiers a single missed call is enough.")),
        ("call_visit_hour", "calls.visit_hour", _l("The same or the next day, Seoul time.")),
    ]),
    (_l("Volunteer shifts"), [
        ("shift_reminders", "shifts.reminders", _l("Separate them with commas; leave empty for no reminders.")),
        ("shift_unfilled_hours", "shifts.unfilled_alert_hours", None),
        ("shift_outcome_early", "shifts.outcome_early_minutes", None),
    ]),
    (_l("Staff notices"), [
        ("lead_escalate_hours", "notify.escalate_lead_after_hours", None),
        ("digest_time", "notify.digest_time", _l("Seoul time.")),
    ]),
    (_l("Quiet hours for text and KakaoTalk messages"), [
        ("quiet_start", "notify.quiet_start", _l("Immediate alerts (an emergency report, a missed safety "
                                                 "call) are always sent, and so is a message about a shift that "
                                                 "starts before the quiet hours end. The same time twice: no quiet "
                                                 "hours.")),
        ("quiet_end", "notify.quiet_end", None),
    ]),
    (_l("Login locks"), [
        ("login_max_failures", "login.max_failures", None),
        ("login_lock_minutes", "login.lock_minutes", None),
        ("login_max_failures_per_address", "login.max_failures_per_address",
         _l("Offices and shops share one public address: keep this well above the number for one account.")),
    ]),
]


def _shown(value) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _rule_value(key: str, source=None):
    """A time rule's value; "table/entry" reads one entry of a table setting (the call cadence per tier)."""
    get = source or settings.get
    if "/" not in key:
        return get(key)
    table, entry = key.split("/", 1)
    return (get(table) or {}).get(entry)


@bp.route("/time-rules", methods=["GET", "POST"])
@rule(ADMIN)
def time_rules():
    form = TimeRulesForm()
    rows = [(name, key) for _section, fields in TIME_RULES for name, key, _hint in fields]
    if request.method == "GET":
        for name, key in rows:
            getattr(form, name).data = _rule_value(key)
    elif form.validate_on_submit():
        changed, tables = [], {}
        for name, key in rows:
            value = getattr(form, name).data
            if value == _rule_value(key):  # unchanged ones keep following the default in the code
                continue
            if "/" in key:  # one entry of a table: the table is saved whole, once
                table, entry = key.split("/", 1)
                tables.setdefault(table, dict(settings.get(table) or {}))[entry] = value
            else:
                settings.put(key, value, current_user)
            changed.append(key)
        for table, value in tables.items():
            settings.put(table, value, current_user)
        if changed:
            record(current_user, "update", "settings", None, detail=("time_rules " + ",".join(changed))[:300])
            db.session.commit()
        flash(_("Time rules saved. They apply from now on."), "success")
        return redirect(url_for("admin.time_rules"))
    sections = []
    for legend, fields in TIME_RULES:
        items = []
        for name, key, hint in fields:
            default = _("Default: %(value)s", value=_shown(_rule_value(key, settings.DEFAULTS.get)) or _("(none)"))
            items.append((getattr(form, name), f"{hint} {default}" if hint else default))
        sections.append((legend, items))
    return render_template("admin/time_rules.html", form=form, sections=sections), \
        (400 if request.method == "POST" else 200)


@bp.route("/audit")
@rule(ADMIN, TEAM_LEAD)
def audit():
    """Search the audit log. Team leads see what the people of their dongs did."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if current_user.role == TEAM_LEAD:
        colleagues = select(user_dongs.c.user_id).where(user_dongs.c.dong_id.in_(current_user.dong_ids or {-1}))
        # What the people of the dongs did, and what was tried on their accounts by no one signed in (failed
        # logins, lockouts): a brute-force attempt on a colleague's account is part of the monthly review.
        their_accounts = select(cast(user_dongs.c.user_id, String)).where(
            user_dongs.c.dong_id.in_(current_user.dong_ids or {-1}))
        stmt = stmt.where(or_(AuditLog.actor_id.in_(colleagues),
                              and_(AuditLog.actor_id.is_(None), AuditLog.subject_type == "user",
                                   AuditLog.subject_id.in_(their_accounts))))
    action = request.args.get("action", "")[:40]
    if action:
        stmt = stmt.where(AuditLog.action == action)
    actor = request.args.get("actor", type=int)
    if actor and 0 < actor < 2**31:
        stmt = stmt.where(AuditLog.actor_id == actor)
    subject_type = request.args.get("subject_type", "")[:40]
    if subject_type:
        # every spelling of the object's kind ("concerns" from a page view, "concern" from a change)
        stmt = stmt.where(AuditLog.subject_type.in_(audit_labels.subject_types(subject_type)))
    subject_id = request.args.get("subject_id", "")[:20]
    if subject_id:
        stmt = stmt.where(AuditLog.subject_id == subject_id)
    for name, op in (("since", ">="), ("until", "<")):
        value = request.args.get(name, "")
        try:
            day = date.fromisoformat(value) if value else None
        except ValueError:
            day = None
            flash(_("Enter a real date."), "error")
        if day is not None:
            try:
                start = clock.from_seoul_naive(datetime(day.year, day.month, day.day))
                if op == "<":
                    start += timedelta(days=1)
            except OverflowError:  # 0001-01-01 or 9999-12-31: no time in UTC
                flash(_("Enter a real date."), "error")
                continue
            stmt = stmt.where(AuditLog.at >= start if op == ">=" else AuditLog.at < start)
    pagination = db.paginate(stmt, page=page, per_page=50, error_out=False, count=False)
    actors = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({a.actor_id for a in pagination.items if a.actor_id} or {-1})))}
    accounts = {str(u.id): u for u in db.session.scalars(select(User).where(User.id.in_(
        {int(a.subject_id) for a in pagination.items if a.subject_type == "user" and (a.subject_id or "").isdecimal()
         and int(a.subject_id) < 2**31} or {-1})))}
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/audit.html", pagination=pagination, actors=actors, args=args, accounts=accounts,
                           objects=labels(audit_labels.OBJECT_LABELS), groups=labels(audit_labels.GROUP_LABELS),
                           actions=labels(audit_labels.ACTION_LABELS), action=action, subject_type=subject_type,
                           chosen_group=audit_labels.group_of(subject_type))


__all__ = ["access"]
