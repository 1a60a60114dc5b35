"""Password policy: at least 8 characters, long ones and Hangul welcome, common ones refused."""
from __future__ import annotations

from volnet.core.i18n import lazy_gettext as _l

COMMON = {
    "password", "password1", "password123", "12345678", "123456789", "1234567890", "qwerty123",
    "qwertyuiop", "11111111", "00000000", "abcd1234", "1q2w3e4r", "1q2w3e4r5t", "asdf1234",
    "iloveyou", "sunshine", "princess", "admin123", "welcome1", "qwer1234", "zxcvbnm1",
    "passw0rd", "letmein1", "football", "baseball", "88888888", "12341234", "q1w2e3r4",
    "a1234567", "1qaz2wsx", "volnet123", "사랑해사랑해", "비밀번호1234", "가나다라마바사아",
}
MIN_LENGTH = 8
MAX_LENGTH = 200


def problem(password: str, login_id: str = "") -> str | None:
    """None if fine, else a (lazy) message explaining what is wrong."""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(n)d characters.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(n)d characters.", n=MAX_LENGTH)
    lowered = password.lower()
    if lowered in COMMON or len(set(password)) <= 2:
        return _l("This password is too common. Choose another one.")
    if login_id and lowered == login_id.lower():
        return _l("The password must not be the same as the login ID.")
    return None
