"""The dong's report: team leads and caseworkers of the dong; aggregated numbers only."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from volnet.accounts.roles import CASEWORKER, TEAM_LEAD
from volnet.audit.services import record
from volnet.cases.models import SECTORS
from volnet.concerns.models import CONTACT_OUTCOMES, OUTCOMES
from volnet.core import clock, nav
from volnet.core.access import rule
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db
from volnet.observations.signals import SOURCES
from volnet.places.models import Dong
from volnet.reports import services as svc

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = (TEAM_LEAD, CASEWORKER)
nav.register(_l("Reports"), "reports.index", READERS)


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
OUT_OF_RANGE = date.min  # _parse_date: a real date outside FIRST_DAY..LAST_DAY


def _parse_date(text: str) -> date | None:
    """The date typed, None when it is no date, OUT_OF_RANGE when it is one outside the reports' years."""
    try:
        d = date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None
    return d if FIRST_DAY <= d <= LAST_DAY else OUT_OF_RANGE


def _period(args) -> tuple[date, date, str, list[str]]:
    """(start, end, month value, errors). Month default: the current month in Asia/Seoul."""
    errors: list[str] = []
    today = clock.seoul_today()
    month = (args.get("month") or "").strip()
    if args.get("start") or args.get("end"):
        start, end = _parse_date(args.get("start", "")), _parse_date(args.get("end", ""))
        if start is None or end is None:
            errors.append(_("Enter real dates for the period (YYYY-MM-DD)."))
        elif OUT_OF_RANGE in (start, end):
            errors.append(_("The period must lie between %(first)s and %(last)s.", first=FIRST_DAY.isoformat(),
                            last=LAST_DAY.isoformat()))
        elif end < start:
            errors.append(_("The end of the period cannot be before its start."))
        elif (end - start).days > svc.MAX_DAYS:
            errors.append(_("The period can be at most three years."))
        else:
            return start, end, "", errors
    elif month:
        try:
            y, m = (int(x) for x in month.split("-", 1))
            start, end = svc.month_bounds(y, m)
            if not date(2000, 1, 1) <= start <= date(2100, 12, 1):
                raise ValueError(month)
            return start, end, f"{y:04d}-{m:02d}", errors
        except (ValueError, TypeError):
            errors.append(_("Choose a real month."))
    start, end = svc.month_bounds(today.year, today.month)
    return start, end, f"{today.year:04d}-{today.month:02d}", errors


def _dong(args) -> Dong:
    ids = sorted(current_user.dong_ids)
    if not ids:
        abort(404)
    raw = args.get("dong", "")
    if raw:
        try:
            dong_id = int(raw)
        except ValueError:
            abort(404)
        if dong_id not in current_user.dong_ids:
            abort(404)  # another dong's report
    else:
        dong_id = ids[0]
    dong = db.session.get(Dong, dong_id)
    if dong is None:
        abort(404)
    return dong


def _context():
    dong = _dong(request.args)
    start, end, month, errors = _period(request.args)
    figures = svc.figures(dong.id, start, end)
    return dong, start, end, month, errors, figures


@bp.route("/")
@rule(*READERS)
def index():
    dong, start, end, month, errors, f = _context()
    for e in errors:
        flash(e, "error")
    # A refused period: the fields keep what was typed (the figures shown are the current month's).
    typed = {k: request.args.get(k, "")[:10] for k in ("month", "start", "end")} if errors else None
    charts = {
        "summary": svc.bars([(str(_("Initial consultations")), f["initial_consultations"]),
                             (str(_("New integrated cases")), f["new_cases"]),
                             (str(_("Service linkages")), f["linkages"])]),
        "sources": svc.bars([(str(SOURCES.get(k, k)), v) for k, v in sorted(f["concerns_by_source"].items(),
                                                                              key=lambda kv: -kv[1])]),
        "outcomes": svc.bars([(str(OUTCOMES.get(k, k or "-")), v)
                              for k, v in sorted(f["concerns_by_outcome"].items(), key=lambda kv: -kv[1])]),
        "sectors": svc.bars([(str(SECTORS.get(k, k)), v["value"]) for k, v in f["linkages_by_sector"].items()]),
        "calls": svc.bars([(str(CONTACT_OUTCOMES.get(k, k)), v)
                           for k, v in sorted(f["calls_by_outcome"].items(), key=lambda kv: -kv[1])]),
    }
    prev_month = (start.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    next_month = (end + timedelta(days=1)).strftime("%Y-%m") if month else ""
    return render_template("reports/index.html", dong=dong, dongs=current_user.dongs, start=start, end=end,
                           month=month, f=f, charts=charts, sources=SOURCES, outcomes=OUTCOMES, sectors=SECTORS,
                           contact_outcomes=CONTACT_OUTCOMES, prev_month=prev_month, next_month=next_month,
                           generated=clock.now(), typed=typed,
                           export_args={"dong": dong.id, **({"month": month} if month else
                                                           {"start": start.isoformat(), "end": end.isoformat()})})


def csv_rows(dong: Dong, start: date, end: date, f: dict) -> list[list]:
    rows: list[list] = [
        [_("Dong"), dong.full_name], [_("Period"), f"{start.isoformat()} ~ {end.isoformat()}"], [],
        [_("Section"), _("Item"), _("Count"), _("Value (won)")],
        [_("Summary"), _("Initial consultations"), f["initial_consultations"], ""],
        [_("Summary"), _("Concerns opened"), f["concerns_opened"], ""],
        [_("Summary"), _("New integrated cases"), f["new_cases"], ""],
        [_("Summary"), _("Closed integrated cases"), f["closed_cases"], ""],
        [_("Summary"), _("Open integrated cases now"), f["open_cases"], ""],
        [_("Summary"), _("Service linkages"), f["linkages"], f["linkage_value"]],
    ]
    for k, v in f["linkages_by_sector"].items():
        rows.append([_("Service linkages by sector"), str(SECTORS.get(k, k)), v["count"], v["value"]])
    for k, v in f["concerns_by_source"].items():
        rows.append([_("Concerns by source"), str(SOURCES.get(k, k)), v, ""])
    for k, v in f["concerns_by_outcome"].items():
        rows.append([_("Concerns by outcome"), str(OUTCOMES.get(k, k)), v, ""])
    rows += [
        [_("Safety calls"), _("Calls and visits made"), f["calls_made"], ""],
        [_("Safety calls"), _("Reached"), f["calls_reached"], ""],
        [_("Safety calls"), _("Not reached"), f["calls_not_reached"], ""],
        [_("Safety calls"), _("Missed scheduled calls"), f["calls_missed_scheduled"], ""],
        [_("Safety calls"), _("Visits due after missed calls"), f["visits_due"], ""],
    ]
    for k, v in sorted(f["calls_by_outcome"].items(), key=lambda kv: -kv[1]):
        rows.append([_("Calls by outcome"), str(CONTACT_OUTCOMES.get(k, k)), v, ""])
    if f["shifts"] is None:
        rows.append([_("Volunteer shifts"), _("Not available: volunteer shifts are not set up."), "", ""])
    else:
        rows.append([_("Volunteer shifts"), _("Shifts delivered"), f["shifts"]["delivered"], ""])
        rows.append([_("Volunteer shifts"), _("Volunteer hours"), f["shifts"]["volunteer_hours"] or 0, ""])
    return rows


@bp.route("/export.csv")
@rule(*READERS)
def export():
    from volnet.security import throttle

    dong, start, end, month, errors, f = _context()
    if errors:  # say so on the report page, which shows the month it falls back to
        for e in errors:
            flash(e, "error")
        return redirect(url_for("reports.index", dong=dong.id))
    if not throttle.throttle_export(current_user):
        db.session.commit()
        abort(429)
    record(current_user, "export", "report", dong.id)
    db.session.commit()
    body = svc.to_csv(csv_rows(dong, start, end, f))
    name = f"volnet-report-{dong.code}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(body, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
