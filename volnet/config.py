"""Configuration read from the environment (VOLNET_* variables) with safe embedded defaults."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

DEFAULT_SECRET = "dev-only-not-secret"  # noqa: S105 - refused in production mode below


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe for the chosen mode."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(app, overrides: dict | None = None) -> None:
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    cfg = app.config
    cfg.update(
        ENV_MODE="development",
        SECRET_KEY=DEFAULT_SECRET,
        DATABASE_URL=f"sqlite:///{instance / 'volnet.sqlite3'}",
        REDIS_URL="",
        BASE_URL="http://127.0.0.1:5000",
        MAIL_SERVER="",
        MAIL_PORT=25,
        MAIL_FROM="volnet@localhost",
        MAIL_USERNAME="",
        MAIL_PASSWORD="",
        MAIL_USE_TLS=False,
        SMS_PROVIDER="volnet.notifications.providers:RecordingSmsProvider",
        KAKAO_PROVIDER="volnet.notifications.providers:RecordingKakaoProvider",
        RRN_HASH_KEY="",
        DATA_KEY="",
        TRUST_PROXY=0,
        BABEL_DEFAULT_LOCALE="ko",
        BABEL_DEFAULT_TIMEZONE="Asia/Seoul",
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        REMEMBER_COOKIE_DURATION=timedelta(days=1),
        IDLE_TIMEOUT_MINUTES=30,
        ABSOLUTE_TIMEOUT_HOURS=12,
        RUN_JOBS_INLINE=None,  # None: inline when no Redis is configured
        TESTING=False,
    )
    # Everything prefixed VOLNET_ in the environment: VOLNET_DATABASE_URL, VOLNET_SECRET_KEY, ...
    cfg.from_prefixed_env("VOLNET")
    if overrides:
        cfg.update(overrides)
    cfg["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(cfg["DATABASE_URL"])
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(cfg["SQLALCHEMY_DATABASE_URI"]))
    cfg["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(app.root_path).parent / "translations")
    if isinstance(cfg.get("MAIL_USE_TLS"), str):
        cfg["MAIL_USE_TLS"] = _bool(cfg["MAIL_USE_TLS"])
    if cfg["ENV_MODE"] == "production":
        if cfg["SECRET_KEY"] in (DEFAULT_SECRET, "", None) or len(str(cfg["SECRET_KEY"])) < 16:
            raise ConfigError("VOLNET_SECRET_KEY must be set to a long random value in production mode")
        if not str(cfg.get("DATA_KEY") or "").strip():
            raise ConfigError("VOLNET_DATA_KEY must be set in production mode (field encryption key)")
        cfg["SESSION_COOKIE_SECURE"] = True
        cfg["REMEMBER_COOKIE_SECURE"] = True
    cfg["DEBUG"] = cfg["ENV_MODE"] == "development" and _bool(os.environ.get("VOLNET_DEBUG"))


def _normalise_db_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 10, "check_same_thread": False}}
    return {
        "pool_size": 5,  # idle connections are pinged before use (volnet.core.dbsetup)
        "max_overflow": 5,
        "pool_timeout": 5,
        "connect_args": {"connect_timeout": 3, "options": "-c statement_timeout=15000"},
    }
