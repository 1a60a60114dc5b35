"""Channels behind one interface, and the SMS/KakaoTalk provider classes.

A channel turns (row, user, subject, body) into a delivery and returns a provider reference, or raises
``TransientError`` (retry with backoff) or ``PermanentError`` (stop; the admin sees it).

SMS and KakaoTalk go through a provider named in the configuration (``SMS_PROVIDER``/``KAKAO_PROVIDER``,
"module:Class"). The default providers record the message in the database, in the same transaction that
marks the outbox row sent. A real gateway is one class with the same ``send`` method.
"""
from __future__ import annotations

import importlib
import smtplib
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app

from volnet.core.korean import phone_digits
from volnet.extensions import db


class DeliveryError(Exception):
    transient = True


class TransientError(DeliveryError):
    """The provider may accept the message later (connection refused, 4xx, timeout)."""


class PermanentError(DeliveryError):
    """Retrying will not help (bad address, 5xx, not configured)."""

    transient = False


def _absolute(link: str) -> str:
    if not link or link.startswith(("http://", "https://")):
        return link or ""
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    return base + link


def text_of(subject: str, body: str, link: str) -> str:
    out = f"[volnet] {subject}\n{body}".strip()
    url = _absolute(link)
    if url and url not in out:
        out += f"\n{url}"
    return out


# ------------------------------------------------------------------------------------------------ channels

class InAppChannel:
    name = "inapp"

    def address(self, user) -> str:
        return ""

    def send(self, row, user, subject: str, body: str) -> str:
        return ""  # the outbox row itself is the in-app notification


class EmailChannel:
    name = "email"

    def address(self, user) -> str:
        return (user.email or "").strip()

    def send(self, row, user, subject: str, body: str) -> str:
        cfg = current_app.config
        to = self.address(user)
        if not to:
            raise PermanentError("no email address")
        if not cfg.get("MAIL_SERVER"):
            raise PermanentError("MAIL_SERVER is not configured")
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = cfg.get("MAIL_FROM") or "volnet@localhost"
        msg["To"] = formataddr((user.name or "", to))
        # A stable Message-ID per outbox row: a receiving server may drop a re-delivered copy.
        msg["Message-ID"] = f"<volnet-outbox-{row.id}@{(cfg.get('MAIL_FROM') or 'volnet@localhost').split('@')[-1]}>"
        link = _absolute(row.link)
        msg.set_content(body + (f"\n\n{link}" if link else "") + "\n")
        timeout = float(cfg.get("MAIL_TIMEOUT", 10))
        try:
            with smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT") or 25), timeout=timeout) as smtp:
                if cfg.get("MAIL_USE_TLS"):
                    smtp.starttls()
                if cfg.get("MAIL_USERNAME"):
                    smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [c for c, _m in exc.recipients.values()]
            if all(c >= 500 for c in codes):
                raise PermanentError(f"recipient refused ({codes[0] if codes else '?'})") from exc
            raise TransientError(f"recipient deferred ({codes[0] if codes else '?'})") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"SMTP authentication failed ({exc.smtp_code})") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentError(f"SMTP refused ({exc.smtp_code})") from exc
            raise TransientError(f"SMTP deferred ({exc.smtp_code})") from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP unavailable: {type(exc).__name__}") from exc
        if refused:
            raise TransientError("recipient deferred")
        return msg["Message-ID"][1:-1][:100]


class ProviderChannel:
    """SMS or KakaoTalk through the configured provider class."""

    def __init__(self, name: str, config_key: str):
        self.name = name
        self.config_key = config_key

    def address(self, user) -> str:
        return phone_digits(user.phone)

    def provider(self):
        spec = current_app.config.get(self.config_key) or ""
        return load_provider(spec)

    def send(self, row, user, subject: str, body: str) -> str:
        to = self.address(user)
        if not to:
            raise PermanentError("no phone number")
        return self.provider().send(to, text_of(subject, body, row.link), outbox_id=row.id) or ""


_provider_cache: dict[str, object] = {}


def load_provider(spec: str):
    if spec in _provider_cache:
        return _provider_cache[spec]
    module, _sep, cls = spec.partition(":")
    if not module or not cls:
        raise PermanentError(f"provider not configured: {spec!r}")
    try:
        obj = getattr(importlib.import_module(module), cls)()
    except (ImportError, AttributeError) as exc:
        raise PermanentError(f"provider not found: {spec}") from exc
    _provider_cache[spec] = obj
    return obj


CHANNELS = {
    "inapp": InAppChannel(),
    "email": EmailChannel(),
    "sms": ProviderChannel("sms", "SMS_PROVIDER"),
    "kakao": ProviderChannel("kakao", "KAKAO_PROVIDER"),
}


# ------------------------------------------------------------------------------------------------ providers

class RecordingSmsProvider:
    """Records the message in ``notification_sent_messages`` (same transaction as the 'sent' state).

    The default until a real gateway is configured; also what the tests and the bench count.
    """

    channel = "sms"

    def send(self, to: str, text: str, *, outbox_id: int | None = None) -> str:
        from volnet.notifications.models import SentMessage

        m = SentMessage(outbox_id=outbox_id, channel=self.channel, to_address=to[:254], text=text)
        db.session.add(m)
        db.session.flush()
        return f"recorded-{m.id}"


class RecordingKakaoProvider(RecordingSmsProvider):
    channel = "kakao"


class FailingProvider:
    """A provider that always fails (tests and drills): transient unless configured otherwise."""

    transient = True

    def send(self, to: str, text: str, *, outbox_id: int | None = None) -> str:
        if self.transient:
            raise TransientError("gateway unavailable")
        raise PermanentError("gateway refused")
