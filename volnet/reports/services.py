"""The dong's figures for a period: aggregate SQL only (no Python loops over rows).

Definitions (Asia/Seoul dates, the period includes its first and last day):
- initial consultations (초기상담): concerns of the dong acknowledged in the period (a first contact
  acknowledges a concern too, so "acknowledged or contacted" is counted once per concern);
- new integrated cases: cases opened in the period; closed cases: cases closed in the period;
- service linkages: linkages starting in the period that were not cancelled, and their value in won;
- concerns by source: concerns opened in the period; by outcome: concerns closed in the period
  (plus those put under regular monitoring in the period);
- safety calls made: attempts recorded in the period (calls and visits); reached / not reached;
  missed scheduled calls: scheduled calls of the period whose chain ended unanswered;
- shifts delivered and volunteer hours: from volnet.shifts when it is installed.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select

from volnet.calls.models import MISSED, REACHED, CallRecord, CallTask
from volnet.cases.models import Case, ServiceLinkage
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import clock
from volnet.extensions import db

MAX_DAYS = 366 * 3


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    lo = datetime.combine(start, time(0), tzinfo=clock.SEOUL)
    hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=clock.SEOUL)
    return lo.astimezone(clock.now().tzinfo), hi.astimezone(clock.now().tzinfo)


def _count(stmt) -> int:
    return int(db.session.scalar(stmt) or 0)


def _grouped(stmt) -> dict:
    return {k or "": int(n or 0) for k, n in db.session.execute(stmt).all()}


def figures(dong_id: int, start: date, end: date) -> dict:
    lo, hi = utc_bounds(start, end)
    in_dong = Concern.dong_id == dong_id
    f: dict = {"start": start, "end": end}
    f["initial_consultations"] = _count(select(func.count()).select_from(Concern).where(
        in_dong, Concern.acknowledged_at >= lo, Concern.acknowledged_at < hi))
    f["concerns_opened"] = _count(select(func.count()).select_from(Concern).where(
        in_dong, Concern.opened_at >= lo, Concern.opened_at < hi))
    f["concerns_by_source"] = _grouped(select(Concern.source, func.count()).where(
        in_dong, Concern.opened_at >= lo, Concern.opened_at < hi).group_by(Concern.source))
    by_outcome = _grouped(select(Concern.outcome, func.count()).where(
        in_dong, Concern.status == "closed", Concern.closed_at >= lo, Concern.closed_at < hi)
        .group_by(Concern.outcome))
    monitoring = _count(select(func.count()).select_from(ConcernEvent)
                        .join(Concern, Concern.id == ConcernEvent.concern_id)
                        .where(in_dong, ConcernEvent.kind == "monitoring", ConcernEvent.at >= lo, ConcernEvent.at < hi))
    if monitoring:
        by_outcome["monitoring"] = by_outcome.get("monitoring", 0) + monitoring
    f["concerns_by_outcome"] = by_outcome

    f["new_cases"] = _count(select(func.count()).select_from(Case).where(
        Case.dong_id == dong_id, Case.opened_at >= lo, Case.opened_at < hi))
    f["closed_cases"] = _count(select(func.count()).select_from(Case).where(
        Case.dong_id == dong_id, Case.closed_at >= lo, Case.closed_at < hi))
    f["open_cases"] = _count(select(func.count()).select_from(Case).where(
        Case.dong_id == dong_id, Case.status == "open"))

    link_cond = and_(ServiceLinkage.dong_id == dong_id, ServiceLinkage.start_on >= start,
                     ServiceLinkage.start_on <= end, ServiceLinkage.status != "cancelled")
    n, total = db.session.execute(select(func.count(), func.coalesce(func.sum(ServiceLinkage.value_won), 0))
                                  .where(link_cond)).one()
    f["linkages"], f["linkage_value"] = int(n or 0), int(total or 0)
    f["linkages_by_sector"] = {
        sector: {"count": int(c or 0), "value": int(v or 0)}
        for sector, c, v in db.session.execute(
            select(ServiceLinkage.sector, func.count(), func.coalesce(func.sum(ServiceLinkage.value_won), 0))
            .where(link_cond).group_by(ServiceLinkage.sector)).all()}

    by_call = _grouped(select(CallRecord.outcome, func.count()).where(
        CallRecord.dong_id == dong_id, CallRecord.at >= lo, CallRecord.at < hi).group_by(CallRecord.outcome))
    f["calls_by_outcome"] = by_call
    f["calls_made"] = sum(by_call.values())
    f["calls_reached"] = sum(v for k, v in by_call.items() if k in REACHED)
    f["calls_not_reached"] = sum(v for k, v in by_call.items() if k in MISSED)
    f["calls_missed_scheduled"] = _count(select(func.count()).select_from(CallTask).where(
        CallTask.dong_id == dong_id, CallTask.kind == "scheduled", CallTask.status == "missed",
        CallTask.due_on >= start, CallTask.due_on <= end))
    f["visits_due"] = _count(select(func.count()).select_from(CallTask).where(
        CallTask.dong_id == dong_id, CallTask.kind == "visit", CallTask.due_on >= start, CallTask.due_on <= end))
    f["shifts"] = shift_figures(dong_id, start, end, lo, hi)
    return f


def shift_figures(dong_id: int, start: date, end: date, lo: datetime, hi: datetime) -> dict | None:
    """Shifts delivered and volunteer hours, or None when the shifts domain is not installed.

    Delivered: occurrences of the dong's programmes starting in the period, not cancelled, already ended,
    with at least one volunteer marked present. Hours: the attended minutes of confirmed sign-ups / 60.
    """
    try:
        from volnet.shifts.models import Program, ShiftOccurrence, Signup
    except ImportError:
        return None
    try:
        occ_cond = and_(Program.dong_id == dong_id, ShiftOccurrence.starts_at >= lo, ShiftOccurrence.starts_at < hi,
                        ShiftOccurrence.status != "cancelled", ShiftOccurrence.ends_at <= clock.now())
        attended = and_(Signup.status == "confirmed", Signup.attended.is_(True))
        delivered = _count(
            select(func.count(func.distinct(ShiftOccurrence.id)))
            .select_from(ShiftOccurrence).join(Program, Program.id == ShiftOccurrence.program_id)
            .join(Signup, Signup.occurrence_id == ShiftOccurrence.id).where(occ_cond, attended))
        minutes = _count(
            select(func.coalesce(func.sum(Signup.minutes), 0))
            .select_from(ShiftOccurrence).join(Program, Program.id == ShiftOccurrence.program_id)
            .join(Signup, Signup.occurrence_id == ShiftOccurrence.id).where(occ_cond, attended))
    except AttributeError:  # the shifts models changed shape: say "not available" rather than guess
        return None
    return {"delivered": delivered, "volunteer_hours": round(minutes / 60, 1)}


# ---------------------------------------------------------------- CSV

def to_csv(rows: list[list]) -> bytes:
    """UTF-8 with BOM, formula cells neutralised: the one shared writer (volnet.core.csvutil)."""
    from volnet.core.csvutil import csv_bytes

    return csv_bytes(rows)


# ---------------------------------------------------------------- charts

def bars(items: list[tuple[str, int]], width: int = 400, bar_height: int = 22, gap: int = 8,
         label_width: int = 160) -> dict:
    """Geometry of a horizontal SVG bar chart (rendered by the template; no style attributes)."""
    top = max([v for _k, v in items] + [1])
    span = width - label_width - 90
    out = []
    for i, (label, value) in enumerate(items):
        w = 0 if value <= 0 else max(2, round(span * value / top))
        out.append({"label": label, "value": value, "y": i * (bar_height + gap), "w": w,
                    "x": label_width, "text_x": label_width + w + 6})
    return {"items": out, "width": width, "height": max(1, len(items) * (bar_height + gap) - gap),
            "bar_height": bar_height, "label_width": label_width}
