"""Resident registration numbers (주민등록번호) at the edge: keyed hash or mask, never stored raw.

A cell that is a valid-looking RRN (YYMMDD-SNNNNNN, with or without the hyphen) becomes the token
``RRNH:<hmac-sha256 hex>:<YYMMDD-S>`` (what the mask shows anyway) before anything is written anywhere. An RRN inside other text is
masked (900101-1******). The key is config RRN_HASH_KEY or, when empty, derived from SECRET_KEY with a
label of its own, so the hash is not the session-signing key.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date

from flask import current_app

# YYMMDD, optional hyphen/space, gender-century digit 1-8, six more digits; not inside a longer number.
# ASCII digits only: other scripts' digits are folded first (``_fold``), so a number typed in full-width
# digits is found, hashed and masked like any other.
# Between the two halves: nothing, or up to three of hyphen, space, dot, slash, underscore or middle dot
# ("900101-1234567", "900101 1234567", "900101.1234567", "900101 - 1234567").
_SEP = r"[\s.\-_/\u00b7]{0,3}"
RRN_RE = re.compile(r"(?<!\d)(\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])" + _SEP + r"([1-8])(\d{6})(?!\d)", re.ASCII)
# The same shape without the checks (month 13, gender digit 0 ...): a number typed with a mistake is still
# someone's identifier, so it is masked too (511309-*******), never kept. RRN_RE is tried first.
SHAPE_RE = re.compile(r"(?<!\d)(\d{6})" + _SEP + r"\d{7}(?!\d)", re.ASCII)
# For the rows refused by an import (kept for the importer to see what was wrong): any run of 12 to 14
# digits, with or without a separator after the sixth (an RRN with a digit too few or too many), masked.
LOOSE_RE = re.compile(r"(?<!\d)(\d{6})" + _SEP + r"\d{6,8}(?!\d)", re.ASCII)
_ANY_DIGIT = re.compile(r"\d")  # any script's decimal digit (str patterns are Unicode-aware)
# What a number typed outside ASCII may hold: a decimal digit of another script (full-width, Arabic-Indic,
# Devanagari, Thai ...: every one lies in U+0660-U+ABF9, U+FF10-U+FF19 or U+10000-U+1FFFF, which a test
# checks against Unicode) or a dash or space look-alike. A few ranges, which skip Hangul syllables (from
# U+AC00): Korean text is scanned for them as fast as for ASCII. A cell that has one is folded and
# searched again; a false alarm (Hanja, say) costs only that.
_FOLD_HINT = re.compile("[\u0660-\uabf9\uff10-\uff19\U00010000-\U0001ffff"
                        "\uff0d\u2010-\u2014\u2212\ufe63\u3000\u00a0]")
_DASHES = str.maketrans({"\uff0d": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-", "\u2212": "-", "\ufe63": "-", "\u3000": " ", "\u00a0": " "})


def _fold(value: str) -> str:
    """Digits of any script as ASCII digits, dash and space look-alikes as '-' and ' ', one character for
    one (positions stay); ASCII text is returned as it is, at no cost."""
    if value.isascii():
        return value
    return _ANY_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), value.translate(_DASHES))


MIN_LENGTH = 13  # a cell shorter than this holds no RRN (13 digits)
TOKEN_PREFIX = "RRNH:"  # noqa: S105 - a marker, not a secret
_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}


def _key() -> bytes:
    key = current_app.config.get("RRN_HASH_KEY") or ""
    if key:
        return key.encode("utf-8")
    secret = str(current_app.config.get("SECRET_KEY") or "").encode("utf-8")
    return hmac.new(secret, b"volnet:rrn-hash-key:v1", hashlib.sha256).digest()


def hash_digits(digits: str, key: bytes | None = None) -> str:
    return hmac.new(key or _key(), digits.encode("ascii"), hashlib.sha256).hexdigest()


def mask(text: str) -> str:
    """Every RRN in ``text`` masked (900101-1******), and every number of its shape that is not a valid one
    (511309-*******); digits of other scripts come back as ASCII digits."""
    text = RRN_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}-{m.group(4)}******", _fold(text))
    return SHAPE_RE.sub(lambda m: f"{m.group(1)}-*******", text)


def mask_loose(text: str) -> str:
    """``display(text)``, and any run of 12-14 digits masked after its sixth (what a refused row keeps)."""
    return LOOSE_RE.sub(lambda m: f"{m.group(1)}-*******", display(text))


def mask_value(value: str) -> str:
    """A value of the column mapped as the registration number that is not a valid one: at most its first
    six digits are kept, every other digit masked (a number that is wrong is still a person's)."""
    if value.startswith(TOKEN_PREFIX):
        return display(value)
    seen = 0

    def hide(m):
        nonlocal seen
        seen += 1
        return m.group() if seen <= 6 else "*"

    return _ANY_DIGIT.sub(hide, _fold(value))


class Sanitizer:
    """Turns cells into safe cells. One instance per upload (the key is derived once)."""

    def __init__(self):
        self.key = _key()
        self.found = 0

    def cell(self, value: str) -> str:
        if not value or len(value) < MIN_LENGTH:
            return value
        m = RRN_RE.search(value)
        if m is None:  # this runs for every cell of a list: Hangul text costs one more quick scan
            if SHAPE_RE.search(value) is not None:  # an RRN with a mistake in it: masked, not kept
                self.found += 1
                return mask(value)
            if value.isascii() or _FOLD_HINT.search(value) is None:
                return value
            folded = _fold(value)
            m = RRN_RE.search(folded)
            if m is None:
                if SHAPE_RE.search(folded) is not None:
                    self.found += 1
                    return mask(folded)
                return value  # as it was, full-width letters and all
            value = folded
        self.found += 1
        stripped = value.strip()
        if m.start() == value.index(stripped[0]) and m.end() == len(value.rstrip()):
            yy, mm, dd, s, rest = m.groups()
            return f"{TOKEN_PREFIX}{hash_digits(yy + mm + dd + s + rest, self.key)}:{yy}{mm}{dd}-{s}"
        return mask(value)


def parse_token(value: str) -> tuple[str, date | None, str] | None:
    """'RRNH:<hex>:<YYMMDD-S>' -> (hash, birth date or None, masked form '900101-1******')."""
    if not value.startswith(TOKEN_PREFIX):
        return None
    parts = value.split(":")
    if len(parts) != 3 or len(parts[1]) != 64 or len(parts[2]) != 8:
        return None
    front = parts[2]
    born = None
    try:
        born = date(_CENTURY[front[7]] + int(front[:2]), int(front[2:4]), int(front[4:6]))
    except (KeyError, ValueError):
        born = None
    return parts[1], born, f"{front}******"


# A number whose back part is masked, as lists from other agencies arrive (440105-2******, 4401052xxxxxx):
# the front and the digit for the century tell the birth date, nothing is there to hash.
_MASKED_RE = re.compile(r"\s*(\d{6})" + _SEP + r"([1-8])[*xX#\u25cf\u25cb\u2022\uff0a]{6}\s*", re.ASCII)


def masked_birth(value: str) -> date | None:
    """The birth date that a masked number's front gives (440105-2****** -> 1944-01-05), or None."""
    m = _MASKED_RE.fullmatch(_fold(value))
    if m is None:
        return None
    front, s = m.groups()
    try:
        return date(_CENTURY[s] + int(front[:2]), int(front[2:4]), int(front[4:6]))
    except ValueError:
        return None


_TOKEN_RE = re.compile(r"RRNH:[0-9a-f]{64}:(\d{6}-\d)", re.ASCII)


def display(text: str) -> str:
    """Text for people and reports: tokens shown as their mask, stray numbers masked."""
    return mask(_TOKEN_RE.sub(lambda m: m.group(1) + "******", text))


def xlsx_number(value: int) -> str:
    """An RRN typed into Excel as a number loses its leading zero (2000s births): restore it."""
    text = str(value)
    if len(text) == 12:
        padded = "0" + text
        if RRN_RE.fullmatch(padded):
            return padded
    return text
