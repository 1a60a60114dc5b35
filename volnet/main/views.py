from __future__ import annotations

from flask import Blueprint as _Blueprint  # noqa: E402
from flask import current_app, jsonify, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from volnet.accounts.roles import ADMIN, COORDINATOR, STAFF, TEAM_LEAD
from volnet.core.access import ANY_USER, rule
from volnet.core.i18n import COOKIE, LANGUAGES
from volnet.extensions import db

bp = _Blueprint("main", __name__)


@bp.route("/")
@rule(public=True)
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    return redirect(url_for("main.home"))


@bp.route("/home")
@rule(ANY_USER)
def home():
    role = current_user.role
    if role == ADMIN:
        return redirect(url_for("admin.index"))
    if role == TEAM_LEAD:
        return redirect(url_for("concerns.team"))
    if role in STAFF:
        return redirect(url_for("concerns.queue"))
    if role == COORDINATOR and "shifts" in current_app.blueprints:
        return redirect(url_for("shifts.coordinator_home"))
    return redirect(url_for("observations.mine"))


@bp.route("/lang", methods=["POST"])
@rule(public=True)
def set_language():
    lang = request.form.get("lang", "ko")
    if lang not in LANGUAGES:
        lang = "ko"
    from volnet.accounts.views import safe_next

    resp = make_response(redirect(safe_next(request.form.get("next")) or url_for("main.index")))
    resp.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                    secure=request.is_secure)

    if current_user.is_authenticated:
        current_user.locale = lang
        db.session.commit()
    return resp


@bp.route("/health")
@rule(public=True)
def health():
    """Database, Redis and worker state; degraded (not down) when only Redis is missing."""
    from volnet.core import queue

    status = {"database": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001
        db.session.rollback()
        status["database"] = "down"
    status.update(queue.health())
    overall = "ok"
    if status["database"] != "ok":
        overall = "down"
    elif status.get("redis") not in ("ok", "not_configured") or status.get("workers") == "none":
        overall = "degraded"
    status["status"] = overall
    return jsonify(status), (503 if overall == "down" else 200)
