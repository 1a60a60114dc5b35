from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from volnet.accounts import sessions
from volnet.accounts.forms import JoinForm, LoginForm, PasswordChangeForm, PledgeForm
from volnet.accounts.models import Invitation, User
from volnet.audit.services import client_ip, record
from volnet.core import clock
from volnet.core.access import ANY_USER, PUBLIC, rule
from volnet.core.korean import normalize_phone
from volnet.extensions import db
from volnet.security import throttle
from volnet.settings import services as settings
from flask import Blueprint as _Blueprint  # noqa: E402

bp = _Blueprint("accounts", __name__, url_prefix="/account")


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _locked(login_key: str, ip: str) -> bool:
    limit = int(settings.get("login.max_failures"))
    lock = timedelta(minutes=int(settings.get("login.lock_minutes")))
    for bucket in (f"login:acct:{login_key}", f"login:ip:{ip}"):
        # "6 in a minute" starts a lock; the lock lasts while the failures are recent.
        recent = throttle.count(bucket, timedelta(minutes=1))
        if recent >= limit:
            return True
        last = throttle.last(bucket)
        if last is not None and throttle.count(bucket, lock) >= limit and clock.now() - last < lock:
            return True
    return False


@bp.route("/login", methods=["GET", "POST"])
@rule(public=True)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        login_key = form.login_id.data.lower()
        ip = client_ip() or "-"
        if _locked(login_key, ip):
            record(None, "login_locked", "user", None, detail=f"ip={ip}")
            db.session.commit()
            flash(_("Too many failed attempts. Try again in %(m)d minutes.",
                    m=int(settings.get("login.lock_minutes"))), "error")

            return render_template("accounts/login.html", form=form), 429
        user = db.session.scalar(select(User).where(func.lower(User.login_id) == login_key))
        if user is None or not user.active or not user.check_password(form.password.data):
            throttle.hit(f"login:acct:{login_key}")
            throttle.hit(f"login:ip:{ip}")
            record(None, "login_failed", "user", user.id if user else None)
            db.session.commit()
            flash(_("The login ID or password is wrong."), "error")
            return render_template("accounts/login.html", form=form), 200
        session.clear()  # a new session at login
        login_user(user)
        sessions.start(user)
        user.last_login_at = clock.now()
        throttle.clear(f"login:acct:{login_key}")
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


@bp.route("/password", methods=["GET", "POST"])
@rule(ANY_USER, pledge=False)
def password():
    form = PasswordChangeForm()
    form._login_id = current_user.login_id
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
        login_id = form.login_id.data
        taken = db.session.scalar(select(User.id).where(func.lower(User.login_id) == login_id.lower()))
        if taken:
            form.login_id.errors.append(_("This login ID is taken. Choose another one."))
        else:
            # Guarded increment: a poster link used by two people at once never exceeds max_uses.
            from sqlalchemy import update

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
            db.session.flush()
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
