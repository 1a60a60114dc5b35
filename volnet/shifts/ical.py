"""iCalendar (RFC 5545) written by hand: CRLF line ends, folding at 75 octets, TEXT escaping,
a stable UID per occurrence, SEQUENCE that grows with every change, STATUS:CANCELLED, UTC 'Z' times."""
from __future__ import annotations

from datetime import UTC, datetime

from volnet.core import clock


def escape_text(value: str) -> str:
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch == "\n" or ch >= " " or ch == "\t")
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts, current, limit = [], b"", 75
    for ch in line:
        b = ch.encode("utf-8")
        if len(current) + len(b) > limit:
            parts.append(current.decode("utf-8"))
            current, limit = b"", 74  # continuation lines start with one space
        current += b
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event(*, uid: str, start: datetime, end: datetime, summary: str, location: str = "", description: str = "",
          sequence: int = 0, cancelled: bool = False, url: str = "", stamp: datetime | None = None) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{utc(stamp or clock.now())}",
        f"DTSTART:{utc(start)}",
        f"DTEND:{utc(end)}",
        f"SEQUENCE:{int(sequence)}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        f"SUMMARY:{escape_text(summary)}",
    ]
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    if url:
        lines.append(f"URL:{url}")
    lines.append("END:VEVENT")
    return lines


def calendar(events: list[list[str]], name: str = "volnet") -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//volnet//shifts//KO", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(name)}", "X-WR-TIMEZONE:Asia/Seoul"]
    for ev in events:
        lines.extend(ev)
    lines.append("END:VCALENDAR")
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")


def signup_event(signup, host: str = "volnet") -> list[str]:
    """One volunteer's view of an occurrence: cancelled when the shift or their place is cancelled."""
    occ = signup.occurrence
    cancelled = occ.status == "cancelled" or signup.status == "cancelled"
    from flask_babel import gettext as _

    summary = occ.program.name + (" (" + _("waiting list") + ")" if signup.status == "waitlisted" else "")
    return event(uid=f"shift-{occ.id}@{host}", start=occ.starts_at, end=occ.ends_at, summary=summary,
                 location=occ.meeting_place, description=occ.note or "",
                 sequence=(occ.sequence or 0) + (signup.sequence or 0), cancelled=cancelled,
                 stamp=max(occ.updated_at, signup.updated_at))


def occurrence_event(occ, host: str = "volnet") -> list[str]:
    return event(uid=f"shift-{occ.id}@{host}", start=occ.starts_at, end=occ.ends_at, summary=occ.program.name,
                 location=occ.meeting_place, description=occ.note or "", sequence=occ.sequence or 0,
                 cancelled=occ.status == "cancelled", stamp=occ.updated_at)
