"""Field encryption for sensitive free text (notes, contacts, TOTP secrets, screening answers ...).

``EncryptedText`` is a SQLAlchemy column type: values are encrypted with AES-256-GCM before they reach
the database and decrypted when the application reads them. The stored text is

    v1:<key id>:<base64(12-byte random nonce + ciphertext + tag)>

Keys come from the environment (``VOLNET_DATA_KEY``):

- ``"k2:<base64 32 bytes>,k1:<base64 32 bytes>"``: a list of ``id:key`` pairs. The first key encrypts;
  every listed key decrypts, so a key can be rotated by putting a new one first, re-saving the rows
  (``reencrypt``), then removing the old one.
- any other non-empty text: a passphrase; the key is derived from it (HKDF-SHA256), id ``k1``.
- empty: only in development and tests, a key is derived from ``SECRET_KEY`` with its own label (id ``dev``).
  Production mode refuses to start without ``VOLNET_DATA_KEY`` (see ``volnet.config``).

Empty strings are stored as empty strings (a blank note says nothing), ``None`` as NULL. A value that
does not start with ``v1:`` is returned as it is, so rows written before encryption stay readable
until they are re-saved.
"""
from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

PREFIX = "v1:"
_cache: dict[tuple, tuple[str, dict[str, bytes]]] = {}


class DecryptError(RuntimeError):
    """A stored value could not be decrypted (unknown key id, wrong key or damaged text)."""


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.encode("utf-8"))


def parse_keys(data_key: str, secret_key: str) -> tuple[str, dict[str, bytes]]:
    """(current key id, {key id: 32-byte key}) from the DATA_KEY text (or SECRET_KEY when empty)."""
    cache_key = (data_key, secret_key)
    if cache_key in _cache:
        return _cache[cache_key]
    keys: dict[str, bytes] = {}
    current = ""
    text = (data_key or "").strip()
    if not text:
        current = "dev"
        keys["dev"] = _derive(secret_key or "", b"volnet field encryption (development)")
    else:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        for part in parts:
            kid, sep, raw = part.partition(":")
            key = None
            if sep and kid and kid.isalnum() and len(kid) <= 16:
                try:
                    key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
                except (binascii.Error, ValueError):
                    key = None
            if key is None or len(key) != 32:
                keys = {"k1": _derive(text, b"volnet field encryption")}
                current = "k1"
                break
            keys[kid] = key
            current = current or kid
    _cache[cache_key] = (current, keys)
    return current, keys


def _keys() -> tuple[str, dict[str, bytes]]:
    from flask import current_app

    return parse_keys(str(current_app.config.get("DATA_KEY") or ""), str(current_app.config.get("SECRET_KEY") or ""))


def new_key_text(kid: str = "k1") -> str:
    """A fresh ``id:key`` entry for VOLNET_DATA_KEY."""
    return f"{kid}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"


def encrypt(plain: str | None) -> str | None:
    if plain is None or plain == "":
        return plain
    kid, keys = _keys()
    nonce = os.urandom(12)
    sealed = AESGCM(keys[kid]).encrypt(nonce, plain.encode("utf-8"), kid.encode())
    return f"{PREFIX}{kid}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def decrypt(stored: str | None) -> str | None:
    if stored is None or not stored.startswith(PREFIX):
        return stored
    try:
        kid, blob = stored[len(PREFIX):].split(":", 1)
        raw = base64.b64decode(blob, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise DecryptError("damaged encrypted value") from exc
    _current, keys = _keys()
    key = keys.get(kid)
    if key is None:
        raise DecryptError(f"unknown data key id {kid!r}")
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], kid.encode()).decode("utf-8")
    except InvalidTag as exc:
        raise DecryptError("wrong data key or damaged value") from exc


def key_id_of(stored: str | None) -> str | None:
    if not stored or not stored.startswith(PREFIX):
        return None
    return stored[len(PREFIX):].split(":", 1)[0]


class EncryptedText(TypeDecorator):
    """Text encrypted at rest (AES-GCM); readable only through the application."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt(str(value))

    def process_result_value(self, value, dialect):
        return decrypt(value)


class EncryptedJSON(TypeDecorator):
    """A JSON value (dict, list ...) encrypted at rest, e.g. screening answers. Not queryable in SQL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        import json

        if value is None:
            return None
        return encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value, dialect):
        import json

        if value is None or value == "":
            return None
        return json.loads(decrypt(value))


def reencrypt(model, column_name: str, batch: int = 500) -> int:
    """Re-save every value of ``model.column_name`` under the current key (after a key rotation).
    Returns the number of rows changed. The caller commits."""
    from sqlalchemy import select, update

    from volnet.extensions import db

    current, _keys_ = _keys()
    col = getattr(model, column_name)
    pk = model.__mapper__.primary_key[0]
    raw = db.session.execute(select(pk, col.expression.cast(Text))).all()  # stored text, not decrypted
    changed = 0
    for ident, stored in raw:
        if stored and key_id_of(stored) != current:
            plain = decrypt(stored)
            db.session.execute(update(model).where(pk == ident).values({column_name: plain}))
            changed += 1
    return changed
