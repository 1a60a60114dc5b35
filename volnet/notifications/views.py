"""In-app notifications (list, unread count in the header, mark as read), channel choice, and the
admins' outgoing-message page with queue health."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from volnet.accounts.roles import ADMIN, ALL_ROLES
from volnet.core import access, clock, nav
from volnet.core.access import ANY_USER, rule
from volnet.core.i18n import labels
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.korean import format_phone, normalize_phone
from volnet.extensions import db
from volnet.notifications import policy as _policy  # noqa: F401  (registers the access rules)
from volnet.notifications import services
from volnet.notifications.forms import ChannelsForm, PostForm
from volnet.notifications.models import CHANNELS, STATES, Outbox

bp = Blueprint("notifications", __name__)
log = logging.getLogger(__name__)


class _UnreadLabel:
    """The header entry: "Notifications" with the unread count as a badge."""

    def _count(self) -> int:
        try:
            return services.unread_count(current_user) if current_user.is_authenticated else 0
        except Exception:  # noqa: BLE001 - the header must render even if the database hiccups
            db.session.rollback()
            return 0

    def __html__(self):
        n = self._count()
        label = escape(_("Notifications"))
        if not n:
            return str(label)
        shown = str(n) if n < 100 else "99+"
        return str(Markup('{0} <span class="badge badge-new nav-count" aria-label="{1}">{2}</span>').format(
            label, _("%(n)d unread", n=n), shown))

    def __str__(self):
        n = self._count()
        return _("Notifications") + (f" ({n})" if n else "")


nav.register(_UnreadLabel(), "notifications.inbox", ALL_ROLES)
nav.register(_l("Outgoing messages"), "notifications.admin_outbox", (ADMIN,))


# ------------------------------------------------------------------------------------------------ inbox

@bp.route("/notifications")
@rule(ANY_USER)
def inbox():
    g.personal_data = True
    page = request.args.get("page", 1, type=int)
    pagination = db.paginate(services.inbox_query(current_user), page=max(page or 1, 1), per_page=20,
                             error_out=False)
    items = []
    for row in pagination.items:
        subject, body = services.render(row.kind, row.params, current_user, (row.subject, row.body), "inapp")
        items.append((row, subject, body))
    return render_template("notifications/inbox.html", pagination=pagination, items=items,
                           unread=services.unread_count(current_user), form=PostForm())


def _safe_link(link: str) -> str | None:
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None


@bp.route("/notifications/<int:note_id>/read", methods=["POST"])
@rule(ANY_USER)
def read(note_id: int):
    row = access.load(Outbox, note_id, "read", audit=False)
    form = PostForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please submit it again."), "error")
        return redirect(url_for("notifications.inbox")), 303
    services.mark_read(current_user, row)
    db.session.commit()
    if request.form.get("go") == "1" and _safe_link(row.link):
        return redirect(_safe_link(row.link), 303)
    return redirect(url_for("notifications.inbox", page=request.args.get("page", 1, type=int)), 303)


@bp.route("/notifications/read-all", methods=["POST"])
@rule(ANY_USER)
def read_all():
    form = PostForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please submit it again."), "error")
        return redirect(url_for("notifications.inbox")), 303
    n = services.mark_read(current_user)
    db.session.commit()
    if n:
        flash(_("All notifications marked as read."), "success")
    return redirect(url_for("notifications.inbox"), 303)


@bp.route("/notifications/settings", methods=["GET", "POST"])
@rule(ANY_USER)
def preferences():
    from volnet.notifications.providers import CHANNELS as CH

    form = ChannelsForm()
    # The request loads only what every page needs of its user: read the contact fields in one statement.
    user = access.signed_in()
    unloaded = [a for a in ("email", "phone", "channels") if a in sa_inspect(user).unloaded]
    if unloaded:
        db.session.refresh(user, unloaded)
    chosen = set(user.channels or ["inapp"])
    if request.method == "GET":
        for name in ("email", "sms", "kakao"):
            getattr(form, name).data = name in chosen
        form.phone.data = format_phone(user.phone)
        form.email_address.data = user.email or ""
    if form.validate_on_submit():
        picked = ["inapp"] + [n for n in ("email", "sms", "kakao") if getattr(form, n).data]
        user.channels = picked
        if "phone" in request.form:  # a form without the fields (an older page) leaves them as they are
            user.phone = normalize_phone(form.phone.data)
        if "email_address" in request.form:
            user.email = (form.email_address.data or "").lower() or None
        has = {name: bool(CH[name].address(user)) for name in ("email", "sms", "kakao")}
        db.session.commit()
        missing = [n for n in picked if n != "inapp" and not has[n]]
        flash(_("Your message settings were saved."), "success")
        if missing:
            flash(_("Some channels need a phone number or email address on your account before messages "
                    "can go there."), "warning")
        return redirect(url_for("notifications.preferences"), 303)
    status = 400 if request.method == "POST" else 200
    has = {name: bool(CH[name].address(user)) for name in ("email", "sms", "kakao")}
    start, end = services.quiet_window()
    return render_template("notifications/preferences.html", form=form, has=has, channels=CHANNELS,
                           quiet_start=start.strftime("%H:%M"), quiet_end=end.strftime("%H:%M")), status


# ------------------------------------------------------------------------------------------------ admin

def queue_details() -> dict:
    """Redis, workers seen and queue lengths; never raises."""
    from volnet.core import queue

    info: dict = {"configured": bool(current_app.config.get("REDIS_URL")), "inline": queue.inline_mode(),
                  "workers": [], "queues": {}, "redis": "not_configured"}
    if not info["configured"]:
        return info
    try:
        from rq import Queue, Worker

        conn = queue.redis_conn()
        conn.ping()
        info["redis"] = "ok"
        for w in Worker.all(connection=conn):
            info["workers"].append({"name": w.name, "state": str(getattr(w.get_state(), "value", w.get_state())),
                                    "last_heartbeat": w.last_heartbeat})
        name = current_app.config.get("NOTIFY_QUEUE") or "default"
        q = Queue(name, connection=conn)
        info["queues"] = {
            "queued": q.count,
            "scheduled": q.scheduled_job_registry.count,
            "started": q.started_job_registry.count,
            "failed": q.failed_job_registry.count,
        }
    except Exception:  # noqa: BLE001
        info["redis"] = "down"
    return info


@bp.route("/admin/notifications")
@rule(ADMIN)
def admin_outbox():
    state = request.args.get("state", "")
    state = state if state in STATES else ""
    channel = request.args.get("channel", "")
    channel = channel if channel in CHANNELS else ""
    page = request.args.get("page", 1, type=int)
    stmt = select(Outbox).where(access.visible(current_user, Outbox))
    if state:
        stmt = stmt.where(Outbox.state == state)
    if channel:
        stmt = stmt.where(Outbox.channel == channel)
    pagination = db.paginate(stmt.order_by(Outbox.id.desc()), page=max(page or 1, 1), per_page=50,
                             error_out=False)
    args = {k: v for k, v in (("state", state), ("channel", channel)) if v}
    return render_template(
        "notifications/admin_outbox.html", pagination=pagination, args=args, states=STATES, channels=CHANNELS,
        kinds=labels(services.KIND_LABELS),
        counts=services.state_counts(), oldest=services.oldest_due_age(), last_sweep=services.last_sweep_at(),
        q=queue_details(), form=PostForm(), sweep_seconds=services.sweep_interval(), error_text=services.error_text,
        resend_history=services.resend_history)


@bp.route("/admin/notifications/<int:row_id>/resend", methods=["POST"])
@rule(ADMIN)
def resend(row_id: int):
    row = access.load(Outbox, row_id, "resend", audit=False)
    form = PostForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please submit it again."), "error")
    elif services.resend(row, by=current_user):
        db.session.commit()
        services.after_commit_dispatch()
        flash(_("The message will be sent again."), "success")
    else:
        flash(_("Only failed or cancelled messages can be sent again."), "error")
    return redirect(url_for("notifications.admin_outbox", state=request.args.get("state", "")), 303)


@bp.route("/admin/notifications/sweep", methods=["POST"])
@rule(ADMIN)
def run_sweep():
    from volnet.core import queue
    from volnet.notifications import tasks

    form = PostForm()
    if not form.validate_on_submit():
        flash(_("The form has expired. Please submit it again."), "error")
    elif queue.inline_mode():
        result = services.sweep()
        flash(_("Checked now: %(n)d messages were due.", n=result.get("due", 0)), "success")
    elif tasks.ensure_sweep():
        flash(_("A check was handed to the workers."), "success")
    else:
        flash(_("The queue is unreachable. Messages stay saved and go out when it is back."), "warning")
    return redirect(url_for("notifications.admin_outbox"), 303)


# ------------------------------------------------------------------------------------------------ sweep

_last_check = [0.0]


@bp.after_app_request
def _maybe_sweep(resp):
    """After a request, at most once a minute (database-held timestamp): run the sweep in-process
    (embedded mode), or re-seed the RQ sweep chain when no sweep ran for a while (Redis emptied)."""
    app = current_app._get_current_object()
    enabled = app.config.get("NOTIFY_OPPORTUNISTIC_SWEEP")
    if enabled is None:
        enabled = not app.testing
    if not enabled or request.path.startswith("/static/"):
        return resp
    gap = float(app.config.get("NOTIFY_OPPORTUNISTIC_SECONDS") or 60)
    mono = time.monotonic()
    if mono - _last_check[0] < gap:
        return resp
    _last_check[0] = mono
    resp.call_on_close(lambda: opportunistic_sweep(app, gap))
    return resp


def opportunistic_sweep(app, gap: float = 60) -> None:
    from volnet.core import queue
    from volnet.notifications import tasks

    with app.app_context():
        try:
            now = clock.now()
            if queue.inline_mode():
                if services.claim_clock("sweep", now, timedelta(seconds=gap)):
                    services.sweep(now)
            else:
                last = services.last_sweep_at()
                stale = timedelta(seconds=max(3 * services.sweep_interval(), gap))
                if (last is None or last < now - stale) and services.claim_clock(
                        "sweep-seed", now, timedelta(seconds=gap)):
                    tasks.ensure_sweep()
        except Exception:  # noqa: BLE001 - never disturb the web process
            db.session.rollback()
            log.exception("opportunistic sweep failed")
        finally:
            db.session.remove()
