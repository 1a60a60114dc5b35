"""RFC 5545 recurrence in Asia/Seoul wall-clock time (dateutil.rrule).

A rule is stored as its RRULE value (``FREQ=WEEKLY;INTERVAL=2;BYDAY=TU``) and expanded from a naive
Seoul wall-clock start, so 09:00 stays 09:00 whatever the month; each start is then stored in UTC.
"""
from __future__ import annotations

from datetime import UTC, date, datetime

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrulestr

from volnet.core import clock
from volnet.core.i18n import labels
from volnet.core.i18n import lazy_gettext as _l

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ALLOWED_FREQS = {DAILY, WEEKLY, MONTHLY, YEARLY}
MAX_RULE_LENGTH = 300
MAX_INTERVAL = 52  # "every 52 weeks" is the most a schedule needs; INTERVAL=0 or 1000 is a typo
# The most shifts one series makes at once (a daily rule over the 92-day horizon makes 93): a rule that would
# make more is refused, and the rolling extension never makes more than this in one run.
MAX_OCCURRENCES = 400
# The time of day comes from the form's start time; these would make several shifts a day.
TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")

KINDS = {
    "once": _l("One-off"),
    "weekly": _l("Every week"),
    "biweekly": _l("Every other week"),
    "monthly_nth": _l("Monthly on the same weekday (e.g. 2nd Tuesday)"),
    "custom": _l("Custom rule (RFC 5545 RRULE)"),
}

# "Monthly on the n-th weekday" (BYDAY=2SA), with the weekday's full name.
MONTHLY_NTH = {
    "1": _l("Monthly, first %(day)s"),
    "2": _l("Monthly, second %(day)s"),
    "3": _l("Monthly, third %(day)s"),
    "4": _l("Monthly, fourth %(day)s"),
    "-1": _l("Monthly, last %(day)s"),
}
WEEKDAY_NAMES = {"MO": _l("Monday"), "TU": _l("Tuesday"), "WE": _l("Wednesday"), "TH": _l("Thursday"),
                 "FR": _l("Friday"), "SA": _l("Saturday"), "SU": _l("Sunday")}


class RuleError(ValueError):
    """The rule cannot be used; ``args[0]`` is a lazy translated message."""


def nth_weekday_of(day: date) -> tuple[int, str]:
    """(n, 'TU') for the n-th weekday of the month of ``day``; n is -1 for a 5th (i.e. last) one."""
    n = (day.day - 1) // 7 + 1
    return (-1 if n == 5 else n), WEEKDAY_CODES[day.weekday()]


def build_rule(kind: str, first: date, until: date | None = None) -> str | None:
    """The RRULE value for a simple kind chosen in the form; None for a one-off shift."""
    if kind == "once":
        return None
    wd = WEEKDAY_CODES[first.weekday()]
    if kind == "weekly":
        rule = f"FREQ=WEEKLY;BYDAY={wd}"
    elif kind == "biweekly":
        rule = f"FREQ=WEEKLY;INTERVAL=2;BYDAY={wd}"
    elif kind == "monthly_nth":
        n, code = nth_weekday_of(first)
        rule = f"FREQ=MONTHLY;BYDAY={n:+d}{code}"
    else:
        raise RuleError(_l("Unknown repeat choice."))
    if until is not None:
        rule += f";UNTIL={until:%Y%m%d}T235959"
    return rule


def normalise(text: str) -> str:
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    return text.strip().upper()


def parse(text: str, dtstart_local: datetime):
    """Parse and check an RRULE value against a naive Seoul start. Raises RuleError with a clear message."""
    value = normalise(text)
    if not value or len(value) > MAX_RULE_LENGTH or "\n" in value or "\r" in value:
        raise RuleError(_l("The repeat rule is empty or too long."))
    if not value.startswith("FREQ=") and ";FREQ=" not in value:
        raise RuleError(_l("The repeat rule needs FREQ (for example FREQ=WEEKLY;BYDAY=TU)."))
    if any(part.startswith("UNTIL=") and part.endswith("Z") for part in value.split(";")):
        raise RuleError(_l("Give UNTIL as a local date and time without Z."))
    keys = {part.split("=", 1)[0].strip() for part in value.split(";")}
    if keys & set(TIME_PARTS):
        raise RuleError(_l("Leave out BYHOUR, BYMINUTE and BYSECOND: a shift repeats at most once a day, at the "
                           "start time above."))
    if dtstart_local.tzinfo is not None:
        dtstart_local = clock.to_seoul(dtstart_local).replace(tzinfo=None)
    try:
        rule = rrulestr(value, dtstart=dtstart_local, ignoretz=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise RuleError(_l("The repeat rule could not be read.")) from exc
    if getattr(rule, "_freq", None) not in ALLOWED_FREQS:
        raise RuleError(_l("Shifts can repeat daily, weekly, monthly or yearly, not more often."))
    if not 1 <= (getattr(rule, "_interval", 1) or 0) <= MAX_INTERVAL:
        raise RuleError(_l("INTERVAL must be a whole number from 1 to %(n)d (e.g. INTERVAL=2 for every other week).",
                           n=MAX_INTERVAL))
    try:
        first = rule.after(dtstart_local, inc=True)
    except (ValueError, OverflowError) as exc:
        raise RuleError(_l("The repeat rule could not be read.")) from exc
    if first is None:
        raise RuleError(_l("The repeat rule gives no dates."))
    return rule


def occurrences(rule_text: str, dtstart_utc: datetime, window_start: datetime, window_end: datetime,
                limit: int = MAX_OCCURRENCES) -> list[datetime]:
    """Aware UTC starts of the rule within [window_start, window_end] (both aware)."""
    local_start = clock.to_seoul(dtstart_utc).replace(tzinfo=None)
    rule = parse(rule_text, local_start)
    lo = clock.to_seoul(max(window_start, dtstart_utc)).replace(tzinfo=None)
    hi = clock.to_seoul(window_end).replace(tzinfo=None)
    out = []
    for local in rule.xafter(lo, count=limit, inc=True):
        if local > hi:
            break
        out.append(local.replace(tzinfo=clock.SEOUL).astimezone(UTC))
    return out


def _day_list(codes: list[str]) -> str:
    """'Thursday and Friday' / '목요일 및 금요일': the weekdays' full names, listed in the reader's language."""
    from babel.lists import format_list
    from flask_babel import get_locale

    names = labels(WEEKDAY_NAMES)
    return format_list([str(names[c]) for c in codes], locale=str(get_locale() or "ko"))


def describe(rule_text: str | None) -> str:
    """A short human label for a rule, in the reader's language ("Every week on Thursday and Friday"); a rule
    it cannot put in words reads "Custom repeat", never the RRULE text itself."""
    from flask_babel import gettext as _

    if not rule_text:
        return _("One-off")
    v = normalise(rule_text)
    parts = dict(p.split("=", 1) for p in v.split(";") if "=" in p)
    freq, byday = parts.get("FREQ"), parts.get("BYDAY", "")
    try:
        interval = int(parts.get("INTERVAL", "1"))
    except ValueError:
        interval = 0
    known = set(parts) - {"UNTIL", "COUNT", "WKST"}
    days = [d.strip() for d in byday.split(",") if d.strip()]
    if freq == "DAILY" and known <= {"FREQ", "INTERVAL"} and interval >= 1:
        return _("Every day") if interval == 1 else _("Every %(n)d days", n=interval)
    if freq == "WEEKLY" and known <= {"FREQ", "INTERVAL", "BYDAY"} and interval >= 1 \
            and all(d in WEEKDAY_CODES for d in days):
        ordered = sorted(set(days), key=WEEKDAY_CODES.index)
        if not ordered:
            return {1: _("Every week"), 2: _("Every other week")}.get(interval) or _("Every %(n)d weeks", n=interval)
        on = _day_list(ordered)
        if interval == 1:
            return _("Every week on %(days)s", days=on)
        if interval == 2:
            return _("Every other week on %(days)s", days=on)
        return _("Every %(n)d weeks on %(days)s", n=interval, days=on)
    if freq == "MONTHLY" and interval == 1 and known <= {"FREQ", "INTERVAL", "BYDAY"} and len(days) == 1 \
            and days[0][-2:] in WEEKDAY_CODES:
        # BYDAY=2SA is the second Saturday of the month (not "Saturday of week 2"): 매월 둘째 토요일.
        label = labels(MONTHLY_NTH).get(days[0][:-2].lstrip("+"))
        if label is not None:
            return label % {"day": labels(WEEKDAY_NAMES)[days[0][-2:]]}
    if freq == "MONTHLY" and interval == 1 and known <= {"FREQ", "INTERVAL", "BYMONTHDAY"}:
        monthdays = parts.get("BYMONTHDAY", "")
        if monthdays == "-1":
            return _("Monthly, on the last day")
        if monthdays and all(x.isdigit() and 1 <= int(x) <= 31 for x in monthdays.split(",")):
            return _("Monthly, on day %(days)s", days=", ".join(str(int(x)) for x in monthdays.split(",")))
    if freq == "YEARLY" and interval == 1 and known <= {"FREQ", "INTERVAL"}:
        return _("Every year")
    return _("Custom repeat")
