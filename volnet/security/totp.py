"""Two-step login (TOTP, RFC 6238) with one-time recovery codes.

- The secret is stored encrypted (``User.totp_secret`` is an ``EncryptedText`` column).
- A code is accepted for the current 30-second step and one step either side; a step once used
  (``User.totp_last_step``) is never accepted again, so a code seen over a shoulder cannot be replayed.
- Ten recovery codes are shown once; only their SHA-256 hashes are stored, each works once.
- Between the password and the code the session is half-authenticated: it holds a signed, 5-minute
  token with the user id and session version, and ``login_user`` is not called until the code passes.
- ``security.totp_required`` (admin setting) makes enrolment mandatory for admins, team leads and
  caseworkers: until they enrol, every page sends them to the enrolment page.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
from flask import current_app, redirect, request, session, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from volnet.accounts.roles import TOTP_ROLES
from volnet.core import clock
from volnet.core.korean import ascii_digits
from volnet.core.qr import qr_svg  # noqa: F401  (the setup page's QR: totp.qr_svg(uri))
from volnet.settings import services as settings

settings.DEFAULTS.setdefault("security.totp_required", False)

ISSUER = "volnet"
STEP = 30
PENDING_KEY = "pending_2fa"
PENDING_SECONDS = 300
ENROL_KEY = "pending_totp_secret"
RECOVERY_COUNT = 10
# Pages a user who must enrol may still reach.
ENROL_ALLOWED = {"accounts.totp_setup", "accounts.logout", "main.set_language", "main.health", "main.index",
                 "accounts.session_status"}


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.login_id, issuer_name=ISSUER)


def _clean_code(code: str | None) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()[:40]


def matching_step(secret: str, code: str, at_ts: float | None = None) -> int | None:
    """The time step a 6-digit code belongs to (current step +-1), or None."""
    code = ascii_digits(_clean_code(code)) or ""  # full-width digits from a phone keyboard count
    if len(code) != 6:
        return None
    ts = clock.now().timestamp() if at_ts is None else at_ts
    totp = pyotp.TOTP(secret)
    step = int(ts // STEP)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.at(candidate * STEP), code):
            return candidate
    return None


def _lock_fresh(user) -> None:
    """Read the user's codes again with the row locked, until the request commits: two sign-ins with the
    same code (or two recovery codes) at once then take turns, and the second sees the first one's use."""
    from volnet.extensions import db

    if user in db.session:
        db.session.refresh(user, ["totp_secret", "totp_last_step", "recovery_codes"], with_for_update=True)


def verify_code(user, code: str, *, lock: bool = True) -> bool:
    """Check a TOTP code for an enrolled user; a code's time step is accepted once only."""
    if lock:
        _lock_fresh(user)
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code)
    if step is None:
        return False
    if user.totp_last_step is not None and step <= user.totp_last_step:
        return False  # reused (or older than the last accepted one)
    user.totp_last_step = step
    return True


def _hash_code(code: str) -> str:
    return hashlib.sha256(_clean_code(code).encode()).hexdigest()


def new_recovery_codes(user) -> list[str]:
    """Ten fresh codes (shown once); their hashes replace any earlier ones."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = ["".join(secrets.choice(alphabet) for _ in range(4)) + "-" + "".join(secrets.choice(alphabet)
             for _ in range(4)) for _ in range(RECOVERY_COUNT)]
    user.recovery_codes = [_hash_code(c) for c in codes]
    return codes


def use_recovery_code(user, code: str, *, lock: bool = True) -> bool:
    cleaned = _clean_code(code)
    if len(cleaned) != 8:
        return False
    if lock:
        _lock_fresh(user)
    wanted = _hash_code(cleaned)
    stored = list(user.recovery_codes or [])
    for h in stored:
        if hmac.compare_digest(h, wanted):
            stored.remove(h)
            user.recovery_codes = stored  # a new list, so the JSON column is marked changed
            return True
    return False


def check(user, code: str) -> str | None:
    """'totp' or 'recovery' when the code is right, else None."""
    _lock_fresh(user)
    if verify_code(user, code, lock=False):
        return "totp"
    if use_recovery_code(user, code, lock=False):
        return "recovery"
    return None


def enable(user, secret: str, code: str) -> list[str] | None:
    """Enrol: the first code proves the app is set up. Returns the recovery codes, or None."""
    step = matching_step(secret, code)
    if step is None:
        return None
    user.totp_secret = secret
    user.totp_last_step = step
    return new_recovery_codes(user)


def disable(user) -> None:
    user.totp_secret = None
    user.totp_last_step = None
    user.recovery_codes = None


def required_for(user) -> bool:
    return user.role in TOTP_ROLES and bool(settings.get("security.totp_required"))


# --- the half-authenticated step between password and code --------------------------------------------

def _signer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="volnet-two-step")


def begin_pending(user, next_url: str | None) -> None:
    session.clear()  # nothing of an earlier session survives
    session[PENDING_KEY] = _signer().dumps({"uid": user.id, "v": user.session_version, "next": next_url or "",
                                            "at": clock.now().timestamp()})


def pending_user():
    """(user, next) for a valid pending two-step token, else (None, None)."""
    from volnet.accounts.models import User
    from volnet.extensions import db

    token = session.get(PENDING_KEY)
    if not token:
        return None, None
    try:
        data = _signer().loads(token)
        fresh = 0 <= clock.now().timestamp() - float(data.get("at", 0)) <= PENDING_SECONDS
    except (BadSignature, TypeError, ValueError, AttributeError):
        fresh = False
    if not fresh:
        session.pop(PENDING_KEY, None)
        return None, None
    user = db.session.get(User, int(data.get("uid", 0)))
    if user is None or not user.active or user.session_version != data.get("v") or not user.totp_secret:
        session.pop(PENDING_KEY, None)
        return None, None
    return user, data.get("next") or None


def enrolment_redirect(user):
    """before_request: users who must enrol can reach only the enrolment page (and log out)."""
    if request.endpoint in ENROL_ALLOWED or not required_for(user) or user.totp_enrolled:
        return None
    return redirect(url_for("accounts.totp_setup"))
