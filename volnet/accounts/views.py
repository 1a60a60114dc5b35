from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint as _Blueprint  # noqa: E402
from flask import abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from volnet.accounts import sessions, tongs
from volnet.accounts.forms import (
    JoinForm,
    LoginForm,
    PasswordChangeForm,
    PledgeForm,
    TotpCodeForm,
    TotpDisableForm,
    TotpSetupForm,
)
from volnet.accounts.models import Invitation, User, login_key
from volnet.accounts.roles import TONG_LEADER, TOTP_ROLES
from volnet.audit.services import client_ip, record
from volnet.core import clock
from volnet.core.access import ANY_USER, rule
from volnet.core.korean import normalize_phone
from volnet.extensions import db
from volnet.security import throttle, totp
from volnet.settings import services as settings

bp = _Blueprint("accounts", __name__, url_prefix="/account")


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


# Failed logins (passwords and two-step codes) from one client address, within the lock time, before that
# address is locked out too. Much higher than the per-account limit (login.max_failures, 6): a dong office or a
# partner's shop works behind one shared public address, and one person's typos (or a prankster's) must not
# lock every colleague out. Default 50 failures in login.lock_minutes (30).
settings.DEFAULTS.setdefault("login.max_failures_per_address", 50)


def _lock_rules() -> tuple[int, timedelta]:
    return int(settings.get("login.max_failures")), timedelta(minutes=int(settings.get("login.lock_minutes")))


def _locked(account_bucket: str, address_bucket: str, own: tuple[int, ...]) -> bool:
    """The account's own limit, or the (much higher) limit of the client address."""
    limit, lock = _lock_rules()
    if throttle.locked((account_bucket,), own, limit, lock):
        return True
    return throttle.locked((address_bucket,), (), int(settings.get("login.max_failures_per_address")), lock)


def _refuse_locked(template: str, form, user_id: int | None, own: tuple[int, ...], detail: str | None = None):
    throttle.release(own)  # a refused guess does not prolong the lock
    record(None, "login_locked", "user", user_id, detail=detail)
    db.session.commit()
    flash(_("Too many failed attempts. Try again in %(m)d minutes.", m=int(settings.get("login.lock_minutes"))),
          "error")
    return render_template(template, form=form), 429


@bp.route("/login", methods=["GET", "POST"])
@rule(public=True)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        key = login_key(form.login_id.data)
        ip = client_ip() or "-"
        buckets = (f"login:acct:{key}", f"login:ip:{ip}")
        own = throttle.reserve(buckets[0])
        user = db.session.scalar(select(User).where(User.login_id == key))
        if _locked(*buckets, own):
            # The row names the account tried (when it exists): admins and the dong's team leads see it.
            return _refuse_locked("accounts/login.html", form, user.id if user else None, own, detail=f"ip={ip}")
        if user is None or not user.active or not user.check_password(form.password.data):
            throttle.hit(buckets[1])  # the account's reserved event stays: it is the failure
            record(None, "login_failed", "user", user.id if user else None)
            db.session.commit()
            flash(_("The login ID or password is wrong."), "error")
            return render_template("accounts/login.html", form=form), 200
        throttle.release(own)
        if user.totp_secret:
            # Half-authenticated: a signed 5-minute token, no login until the code passes.
            totp.begin_pending(user, safe_next(request.args.get("next")))
            record(None, "login_password_ok", "user", user.id)
            db.session.commit()
            return redirect(url_for("accounts.two_step"))
        session.clear()  # a new session at login
        login_user(user)
        sessions.start(user)
        user.last_login_at = clock.now()
        throttle.clear(f"login:acct:{key}")
        record(user, "login", "user", user.id)
        db.session.commit()
        nxt = safe_next(request.args.get("next"))
        return redirect(nxt or url_for("main.home"))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@rule(ANY_USER, pledge=False)
def logout():
    user = current_user._get_current_object()
    user.end_all_sessions()
    record(user, "logout", "user", user.id)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/session")
@rule(ANY_USER, pledge=False)
def session_status():
    """How many seconds the session has left before the idle timeout, for the page's warning (static/js/
    idle.js); with ?stay=1 (the warning's button) it counts as activity and the idle clock starts again."""
    return jsonify(left=sessions.idle_seconds_left())


@bp.route("/password", methods=["GET", "POST"])
@rule(ANY_USER, pledge=False)
def password():
    form = PasswordChangeForm()
    form._login_id, form._name = current_user.login_id, current_user.name
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            user = current_user._get_current_object()
            user.set_password(form.new_password.data)
            user.must_change_password = False
            user.end_all_sessions()
            record(user, "password_changed", "user", user.id)
            db.session.commit()
            login_user(user)  # this session continues with the new version; all others end
            sessions.start(user)
            flash(_("Your password has been changed. Other sessions have been ended."), "success")
            return redirect(url_for("main.home"))
    return render_template("accounts/password.html", form=form)


@bp.route("/join/<token>", methods=["GET", "POST"])
@rule(public=True)
def join(token: str):
    if len(token) > 100:
        abort(404)
    inv = db.session.scalar(select(Invitation).where(Invitation.token_hash == Invitation.hash_token(token)))
    if inv is None or not inv.usable:
        return render_template("accounts/join_invalid.html"), 404
    form = JoinForm()
    if form.validate_on_submit():
        login_id = login_key(form.login_id.data)
        if db.session.scalar(select(User.id).where(User.login_id == login_id)):
            form.login_id.errors.append(_("This login ID is taken. Choose another one."))
        else:
            # Guarded increment: a poster link used by two people at once never exceeds max_uses.
            res = db.session.execute(
                update(Invitation).where(Invitation.id == inv.id, Invitation.uses < Invitation.max_uses)
                .values(uses=Invitation.uses + 1)
            )
            if res.rowcount != 1:
                db.session.rollback()
                return render_template("accounts/join_invalid.html"), 404
            user = User(login_id=login_id, name=form.name.data, role=inv.role,
                        organization_id=inv.organization_id, phone=normalize_phone(form.phone.data),
                        dongs=list(inv.dongs))
            user.set_password(form.new_password.data)
            db.session.add(user)
            try:
                db.session.flush()
            except IntegrityError:
                # Someone took the same ID (in any case) a moment ago: the unique constraint said so.
                db.session.rollback()
                form.login_id.errors.append(_("This login ID is taken. Choose another one."))
                return render_template("accounts/join.html", form=form, invitation=inv)
            if user.role == TONG_LEADER:
                tongs.give_invitation_tongs(inv.id, user.id)  # a new tong leader starts with their tongs
            record(user, "joined", "user", user.id, detail=f"invitation={inv.id}")
            db.session.commit()
            session.clear()
            login_user(user)
            sessions.start(user)
            flash(_("Welcome to volnet."), "success")
            return redirect(url_for("accounts.pledge"))
    return render_template("accounts/join.html", form=form, invitation=inv)


@bp.route("/pledge", methods=["GET", "POST"])
@rule(ANY_USER, pledge=False)
def pledge():
    form = PledgeForm()
    if current_user.pledge_accepted_at is not None and request.method == "GET":
        return render_template("accounts/pledge.html", form=None)
    if form.validate_on_submit():
        current_user.pledge_accepted_at = clock.now()
        record(current_user, "pledge_accepted", "user", current_user.id)
        db.session.commit()
        flash(_("Thank you. The date of your pledge has been recorded."), "success")
        return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    return render_template("accounts/pledge.html", form=form)


# --- two-step login (TOTP) ---------------------------------------------------------------------------

@bp.route("/two-step", methods=["GET", "POST"])
@rule(public=True)
def two_step():
    """The second step after a correct password: a code from the authenticator app or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    user, nxt = totp.pending_user()
    if user is None:
        flash(_("Please log in again."), "info")
        return redirect(url_for("accounts.login"))
    form = TotpCodeForm()
    if form.validate_on_submit():
        ip = client_ip() or "-"
        buckets = (f"totp:acct:{user.id}", f"login:ip:{ip}")
        own = throttle.reserve(buckets[0])
        if _locked(*buckets, own):
            return _refuse_locked("accounts/two_step.html", form, user.id, own, detail="two-step")
        how = totp.check(user, form.code.data)
        if how is None:
            throttle.hit(buckets[1])
            record(None, "login_failed", "user", user.id, detail="two-step")
            db.session.commit()
            flash(_("The code is wrong or has been used already. Wait for a new code and try again."), "error")
            return render_template("accounts/two_step.html", form=form), 200
        session.clear()  # a new session at login
        login_user(user)
        sessions.start(user)
        user.last_login_at = clock.now()
        throttle.release(own)
        throttle.clear(f"totp:acct:{user.id}")
        throttle.clear(f"login:acct:{user.login_id}")
        record(user, "login", "user", user.id, detail=f"two-step={how}")
        db.session.commit()
        if how == "recovery":
            flash(_("You used a recovery code. %(n)d codes are left.", n=len(user.recovery_codes or [])), "warning")
        return redirect(safe_next(nxt) or url_for("main.home"))
    return render_template("accounts/two_step.html", form=form)


@bp.route("/two-step/setup", methods=["GET", "POST"])
@rule(ANY_USER, pledge=False)
def totp_setup():
    """Enrolment: scan the QR code, type the first code, keep the recovery codes."""
    user = current_user._get_current_object()
    if user.role not in TOTP_ROLES:
        abort(404)
    if user.totp_secret:
        return render_template("accounts/two_step_status.html", form=TotpDisableForm(),
                               required=totp.required_for(user), left=len(user.recovery_codes or []))
    form = TotpSetupForm()
    secret = session.get(totp.ENROL_KEY)
    if request.method == "GET" or not secret:
        secret = totp.new_secret()
        session[totp.ENROL_KEY] = secret
    if form.validate_on_submit():
        codes = totp.enable(user, secret, form.code.data)
        if codes is None:
            form.code.errors.append(_("The code does not match. Check the time on your phone and try again."))
        else:
            session.pop(totp.ENROL_KEY, None)
            user.end_all_sessions()  # other sessions end; this one continues with the new version
            record(user, "totp_enabled", "user", user.id)
            db.session.commit()
            login_user(user)
            sessions.start(user)
            return render_template("accounts/two_step_codes.html", codes=codes)
    uri = totp.provisioning_uri(user, secret)
    return render_template("accounts/two_step_setup.html", form=form, qr_svg=totp.qr_svg(uri), secret=secret,
                           required=totp.required_for(user)), (400 if request.method == "POST" else 200)


@bp.route("/two-step/disable", methods=["POST"])
@rule(ANY_USER, pledge=False)
def totp_disable():
    user = current_user._get_current_object()
    if user.role not in TOTP_ROLES or not user.totp_secret:
        abort(404)
    form = TotpDisableForm()
    if totp.required_for(user):
        flash(_("Two-step login is required for your role and cannot be turned off."), "error")
        return redirect(url_for("accounts.totp_setup"))
    if not form.validate_on_submit() or not user.check_password(form.password.data) \
            or totp.check(user, form.code.data) is None:
        db.session.commit()  # a used code step stays used
        flash(_("The password or code is wrong."), "error")
        return redirect(url_for("accounts.totp_setup"))
    totp.disable(user)
    user.end_all_sessions()
    record(user, "totp_disabled", "user", user.id)
    db.session.commit()
    login_user(user)
    sessions.start(user)
    flash(_("Two-step login has been turned off."), "success")
    return redirect(url_for("accounts.totp_setup"))


@bp.route("/two-step/recovery-codes", methods=["POST"])
@rule(ANY_USER, pledge=False)
def totp_new_codes():
    user = current_user._get_current_object()
    if user.role not in TOTP_ROLES or not user.totp_secret:
        abort(404)
    form = TotpDisableForm()
    if not form.validate_on_submit() or not user.check_password(form.password.data) \
            or totp.verify_code(user, form.code.data) is False:
        db.session.commit()
        flash(_("The password or code is wrong."), "error")
        return redirect(url_for("accounts.totp_setup"))
    codes = totp.new_recovery_codes(user)
    record(user, "totp_recovery_codes", "user", user.id)
    db.session.commit()
    return render_template("accounts/two_step_codes.html", codes=codes)
