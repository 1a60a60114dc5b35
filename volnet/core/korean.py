"""Korean conventions: phone numbers, initial-consonant (초성) search, address normalisation."""
from __future__ import annotations

import re
import unicodedata

CHOSUNG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_HANGUL_START, _HANGUL_END = 0xAC00, 0xD7A3


def chosung(text: str | None) -> str:
    """'김영희' -> 'ㄱㅇㅎ'; other characters are dropped except jamo already typed as 초성."""
    out = []
    for ch in text or "":
        code = ord(ch)
        if _HANGUL_START <= code <= _HANGUL_END:
            out.append(CHOSUNG[(code - _HANGUL_START) // 588])
        elif ch in CHOSUNG:
            out.append(ch)
    return "".join(out)


def is_chosung_query(text: str) -> bool:
    text = text.replace(" ", "")
    return bool(text) and all(ch in CHOSUNG for ch in text)


_PHONE_DIGITS = re.compile(r"\D")


def ascii_digits(value: str | None) -> str | None:
    """The value in ASCII digits when every character of it is a decimal digit, of any script a keyboard
    may give (full-width １２３ from a Korean IME, ١٢٣ …); else None. Digit-like signs that are not decimal
    digits ('²', '①') are not numbers: ``str.isdigit`` accepts them, ``int`` does not."""
    if not value or not value.isdecimal():
        return None
    return value if value.isascii() else "".join(str(unicodedata.decimal(ch)) for ch in value)


def phone_digits(value: str | None) -> str:
    """The digits of a phone number as typed or stored, in ASCII (full-width ones folded); '' if none."""
    return ascii_digits(_PHONE_DIGITS.sub("", value or "")) or ""


def normalize_phone(value: str | None) -> str | None:
    """Keep digits only; return None when the number cannot be a Korean phone number."""
    if not value:
        return None
    digits = phone_digits(value)
    if digits.startswith("82") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not digits.startswith("0") or not 9 <= len(digits) <= 11:
        return None
    return digits


_MOBILE = re.compile(r"010\d{8}|01[16789]\d{7,8}")


def is_mobile(digits: str | None) -> bool:
    """A Korean mobile number (010, 011, 016-019) as ``normalize_phone`` gives it: what SMS and KakaoTalk reach."""
    return bool(digits) and _MOBILE.fullmatch(digits) is not None


def format_phone(digits: str | None) -> str:
    """'01012345678' -> '010-1234-5678', '021234567' -> '02-123-4567', '0311234567' -> '031-123-4567'."""
    if not digits:
        return ""
    if digits.startswith("02"):
        rest = digits[2:]
        return f"02-{rest[:-4]}-{rest[-4:]}"
    if len(digits) == 8:  # 1588-1234 style
        return f"{digits[:4]}-{digits[4:]}"
    return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"


_SPACES = re.compile(r"\s+")
_BEONGIL = re.compile(r"(\d+)\s*번\s*길")
_GIL = re.compile(r"(\d+)\s*길")


def clean_text(value: str | None) -> str:
    """Trim, fold whitespace, drop NUL and other control characters (keeps every script)."""
    if value is None:
        return ""
    value = unicodedata.normalize("NFC", value)
    value = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
                    or unicodedata.category(ch) == "Cf")
    return value.strip()


_KEY_DROP = re.compile(r"[\s,.\-·()]+")


def _gil(m: re.Match) -> str:
    return m.group(1) + "길"  # a function: a template replacement (r"\1길") is parsed again on every call


# The 시·도 and 시·군·구 (and 읍·면) an address may begin with. A household's dong already says where it is, and
# people write the same address with or without them ("경기도 의정부시 민락로 106", "의정부시 민락로 106",
# "민락로 106"): the key leaves them out. Only whole words at the start, and never the last word (a search for
# "의정부시" alone stays a search for it); road names end in 로/길, so none is taken for a region.
_LEADING_REGION = re.compile(
    r"^\s*(?:(?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주"
    r"|[가-힣]+(?:특별시|광역시|특별자치시|특별자치도|도|시|군|구|읍|면))\s+)+(?=\S)")


def _without_region(part: str) -> str:
    return _LEADING_REGION.sub("", part, count=1)


def address_key(*parts: str | None) -> str:
    """A search key that forgives spacing, '번길'/'길' variants, punctuation, case and a leading 시·도 or
    시·군·구 (see _without_region)."""
    text = " ".join(_without_region(unicodedata.normalize("NFC", p)) for p in parts if p).lower()
    if "번" in text:
        text = _BEONGIL.sub(_gil, text)
    text = _KEY_DROP.sub("", text)
    text = text.replace("번지", "")
    return text


# ------------------------------------------------------------------------ particles (조사)

# How a final digit is read (일, 이, 삼, 사, 오, 육, 칠, 팔, 구, 영): 로 after a vowel or ㄹ, 으로 otherwise.
_DIGIT_RO = {"0": "으로", "1": "로", "2": "로", "3": "으로", "4": "로", "5": "로", "6": "으로", "7": "로", "8": "로",
             "9": "로"}
_CLOSING = ")]}>'\"’”」』》〉 "


def ro(word: str | None) -> str | None:
    """The particle 으로/로 for ``word`` by the final consonant (받침) of its last syllable: 로 after a vowel or
    ㄹ ('노인회관 2층 교실로', '조리실로'), 으로 otherwise ('경로당으로'). Closing brackets and quotes are
    skipped ('조리실(2층)으로'); a final digit counts as it is read ('3층으로', '2로'). None when the word
    does not end in Hangul or a digit (a Latin name: the caller keeps '(으)로')."""
    text = (word or "").rstrip(_CLOSING)
    if not text:
        return None
    last = text[-1]
    code = ord(last)
    if _HANGUL_START <= code <= _HANGUL_END:
        final = (code - _HANGUL_START) % 28  # 0: no final consonant, 8: ㄹ
        return "로" if final in (0, 8) else "으로"
    if last in _DIGIT_RO:
        return _DIGIT_RO[last]
    return None


_RO_HACK = "(으)로"


def fix_ro(text: str) -> str:
    """Each '(으)로' written after a filled-in word ('%(place)s(으)로' → '조리실(으)로') becomes the particle the
    word takes ('조리실로', '경로당으로'); where it cannot be told (a Latin name) it stays as it is."""
    if _RO_HACK not in text:
        return text
    parts = text.split(_RO_HACK)
    out = [parts[0]]
    for part in parts[1:]:
        out.append(ro("".join(out)) or _RO_HACK)
        out.append(part)
    return "".join(out)
