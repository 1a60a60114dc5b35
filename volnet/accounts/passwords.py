"""Password policy: at least 8 characters, long ones and Hangul welcome, common ones refused.

Refused as common (what a password guesser tries first): the 8,000 entries of ``volnet/data/
common_passwords.txt``, also spelt with symbols for letters (P@ssw0rd) or with digits and symbols around
them (dragon2024!, abc12345); keyboard and alphabet walks (qwer1234, 1q2w3e4r!, zaq12wsx, abcdefgh); one
part repeated (abcabcabcabc, 사랑해사랑해사랑해), each with its own message; and a password made of the
person's own login ID or name with little else.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from volnet.core.i18n import lazy_gettext as _l

MIN_LENGTH = 8
MAX_LENGTH = 200
LIST_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"


@lru_cache(maxsize=1)
def common() -> frozenset[str]:
    with LIST_FILE.open(encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip() and not line.startswith("#"))


_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s",
                       "7": "t", "+": "t", "9": "g"})
_SHIFTED = str.maketrans({"!": "1", "@": "2", "#": "3", "$": "4", "%": "5", "^": "6", "&": "7", "*": "8",
                          "(": "9", ")": "0"})
_AROUND = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$", re.DOTALL)

# Rows, columns and zig-zags of the keyboard, and the alphabet; a walk is a piece of one, either way round.
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz",
         "1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik", "9ol", "0p",
         "qazwsxedcrfvtgbyhnujmikolp", "1q2w3e4r5t6y7u8i9o0p", "q1w2e3r4t5y6u7i8o9p0", "1a2s3d4f5g6h7j8k9l",
         "a1s2d3f4g5h6j7k8l9", "qaz", "zaqxswcdevfrbgtnhymju")
_WALKS = frozenset(piece for row in _ROWS for r in (row, row[::-1])
                   for i in range(len(r)) for j in range(i + 2, len(r) + 1) for piece in (r[i:j],))


def _is_repeat(text: str) -> bool:
    """The whole text is one part again and again (abcabcabc, 사랑해사랑해사랑해, asdfasdf)."""
    if len(text) < 4:
        return False
    return any(len(text) % size == 0 and text[:size] * (len(text) // size) == text
               for size in range(1, len(text) // 2 + 1))


def _is_walk(text: str) -> bool:
    """The whole text is pieces of keyboard or alphabet walks, each at least 2 long (and some at least 3)."""
    if len(text) < 4:
        return False
    # best[i]: the pieces of text[:i] can be walks; longest[i]: the longest such piece used
    best = [True] + [False] * len(text)
    longest = [0] * (len(text) + 1)
    for end in range(2, len(text) + 1):
        for start in range(end - 2, -1, -1):
            if best[start] and text[start:end] in _WALKS:
                best[end] = True
                longest[end] = max(longest[end], end - start, longest[start])
    return best[len(text)] and longest[len(text)] >= 3


def _common(lowered: str) -> bool:
    words = common()
    candidates = {lowered, lowered.translate(_LEET)}
    for text in tuple(candidates):
        core = _AROUND.match(text).group(1)
        if len(core) >= 3:
            candidates |= {core, core.translate(_LEET)}
    return any(c in words for c in candidates)


def _own_name(lowered: str, idents: tuple[str, ...]) -> bool:
    """The login ID or the name is in the password and fewer than 6 other characters are."""
    for ident in idents:
        ident = re.sub(r"\s+", "", ident or "").lower()
        if len(ident) >= 2 and ident in lowered and len(lowered.replace(ident, "")) < 6:
            return True
    return False


def problem(password: str, login_id: str = "", name: str = "") -> str | None:
    """None if fine, else a (lazy) message explaining what is wrong."""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(n)d characters.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(n)d characters.", n=MAX_LENGTH)
    lowered = password.lower()
    if login_id and lowered == login_id.lower():
        return _l("The password must not be the same as the login ID.")
    if _own_name(lowered, (login_id, name)):
        return _l("The password must not be made of your login ID or name. Choose another one.")
    if len(set(password)) <= 2 or _common(lowered):
        return _l("This password is too common. Choose another one.")
    bare = re.sub(r"[\W_]", "", lowered.translate(_SHIFTED))
    # Without its symbols and spaces, and without one character at either end (abcabcabc1, 7zxcvasdfqwer).
    variants = [t for t in (bare, bare[:-1], bare[1:]) if len(t) >= MIN_LENGTH - 1]
    if any(_is_repeat(t) for t in variants):
        return _l("This password repeats the same part, so it is easy to guess. Choose another one.")
    if any(_is_walk(t) for t in variants):
        return _l("This password is a keyboard or alphabet pattern that is guessed first. Choose another one.")
    return None
