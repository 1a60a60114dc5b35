"""Risk pages: overview, household risk, screening, tier decisions, public list rounds, admin."""
from __future__ import annotations

import hashlib
import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from volnet.accounts.roles import ADMIN, CASEWORKER, STAFF, TEAM_LEAD
from volnet.audit.services import record, record_many
from volnet.core import access, clock, nav
from volnet.core.access import rule, visible
from volnet.core.i18n import labels
from volnet.core.i18n import lazy_gettext as _l
from volnet.core.web import seoul_date
from volnet.extensions import csrf, db
from volnet.households.forms import STATUS_CHOICES
from volnet.households.models import Household
from volnet.observations.signals import SIGNALS
from volnet.risk import importer, indicators, scoring, screening, services, staging
from volnet.risk import policy as risk_policy  # noqa: F401  (registers the access policies)
from volnet.risk.forms import (
    CHECK_LABELS,
    CheckForm,
    CsrfForm,
    IndicatorTypeForm,
    TierForm,
    UploadForm,
    mapping_form,
    screening_form,
    settings_form,
)
from volnet.risk.models import (
    CHECK_RESULTS,
    BadRow,
    CrisisRound,
    CrisisRow,
    HouseholdIndicator,
    IndicatorType,
    Screening,
    TierChange,
)
from volnet.risk.policy import IMPORTERS, SCREENERS, TIER_DECIDERS
from volnet.risk.rrn import mask_loose
from volnet.risk.tiers import SETTING_LABELS, TIER_BADGE, TIER_RANK, TIERS
from volnet.settings import services as settings

bp = Blueprint("risk", __name__, url_prefix="/risk")
PER_PAGE = 25

nav.register(_l("Risk"), "risk.overview", STAFF)
nav.register(_l("Crisis lists"), "risk.rounds", STAFF)
nav.register(_l("Crisis indicators"), "risk.admin_indicators", (ADMIN,))
nav.register(_l("Risk settings"), "risk.admin_settings", (ADMIN,))

UPLOAD_ERRORS = {
    "encoding": _l("The file is not readable text: save it as UTF-8 or CP949 (EUC-KR) CSV, or as .xlsx."),
    "encoding_at": _l("Row %(n)s cannot be read as text: the file mixes encodings (UTF-8 and CP949), or that row is "
                      "damaged. Type that row again, or save the whole list as UTF-8 CSV or as .xlsx."),
    "xlsx_damaged": _l("The Excel file is damaged or incomplete (perhaps cut off while copying). Save it again "
                       "and upload the whole file."),
    "xls": _l("Old Excel files (.xls) cannot be read. Save the list as .xlsx or CSV."),
    "empty": _l("The file is empty."),
    "no_header": _l("No header row was found in the first 20 rows."),
    "no_rows": _l("The file has a header but no data rows."),
    "malformed_csv": _l("The CSV file is malformed."),
}
BAD_REASONS = {
    "cut_off": _l("The file ends in the middle of this row (the file may be cut off)"),
    "missing_cells": _l("The row has fewer cells than the header"),
    "extra_cells": _l("The row has more cells than the header"),
    "name_too_long": _l("Name longer than 60 characters"),
    "bad_birth_date": _l("Birth date not understood (use 1990-01-01, 19900101 or 1990.01.01)"),
    "impossible_birth_date": _l("Impossible birth date"),
    "bad_rrn": _l("Not a valid resident registration number"),
    "address_too_long": _l("Address longer than 200 characters"),
    "unit_too_long": _l("Unit longer than 60 characters"),
    "no_indicator": _l("No known crisis indicator"),
    "no_identity": _l("No address, no name with birth date and no registration number"),
    "rrn_unread_only": _l("Registration number masked or unreadable, and no address or name with birth date"),
    "malformed": _l("The row could not be read"),
}
FIELD_LABELS = {
    "": _l("(ignore)"), "name": _l("Name"), "birth_date": _l("Birth date"), "address": _l("Road-name address"),
    "unit": _l("Unit (building, floor, number)"), "phone": _l("Phone"),
    "rrn": _l("Resident registration number (hashed, never stored)"),
    "indicator_code": _l("Indicator column (codes or names)"),
}
MAPPING_PROBLEMS = {
    "need_identity": _l("Choose the column for the name, the address or the registration number."),
    "need_indicator": _l("Choose an indicator column, or mark at least one column as an indicator."),
    "unknown_column": _l("Choose one of the offered options."),
}
HOUSEHOLD_STATUSES = dict(STATUS_CHOICES)
MATCH_LABELS = {"rrn": _l("Registration number"), "address": _l("Address"), "name_birth": _l("Name and birth date"),
                "created": _l("New (to locate)"),
                "shared_addr": _l("New (to locate): address shared with another recorded household")}
ROW_WARNINGS = {importer.RRN_UNREAD: _l("Registration number masked or unreadable: matched on name, birth date "
                                        "and address")}


@bp.app_template_global("risk_reason")
def risk_reason(data) -> str:
    """The reason of a risk_raised timeline entry (its data), in the reader's language."""
    return scoring.reason_text(data or {})


def _common():
    return {"tiers": TIERS, "tier_badge": TIER_BADGE, "check_labels": CHECK_LABELS}


# --- overview ------------------------------------------------------------------------------------

def _int_arg(name, lo=1, hi=2**31):
    try:
        n = int(request.args.get(name, ""))
    except ValueError:
        return None
    return n if lo <= n < hi else None


def _overview_stmt(user):
    stmt = select(Household).where(visible(user, Household))
    filters = {}
    dong = _int_arg("dong")
    if dong:
        stmt = stmt.where(Household.dong_id == dong)
        filters["dong"] = dong
    tong = _int_arg("tong", 1, 1000)
    if tong:
        stmt = stmt.where(Household.tong == tong)
        filters["tong"] = tong
    tier = request.args.get("tier", "")
    if tier in TIERS:
        stmt = stmt.where(Household.tier == tier)
        filters["tier"] = tier
    min_score = _int_arg("min_score", 0, 10000)
    if min_score is not None:
        stmt = stmt.where(Household.risk_score >= min_score)
        filters["min_score"] = min_score
    status = request.args.get("status", "")
    if status in ("active", "to_locate", "moved", "deceased"):
        stmt = stmt.where(Household.status == status)
        filters["status"] = status
    order = (Household.risk_score.desc().nulls_last(), Household.id)
    return stmt.order_by(*order), filters


@bp.route("/")
@rule(*STAFF)
def overview():
    stmt, filters = _overview_stmt(current_user)
    page = _int_arg("page") or 1
    pagination = db.paginate(stmt.options(joinedload(Household.dong)), page=page, per_page=PER_PAGE,
                             error_out=False)
    counts_stmt = (select(Household.dong_id, Household.tier, func.count())
                   .where(visible(current_user, Household)).group_by(Household.dong_id, Household.tier))
    counts: dict = {}
    for dong_id, tier, n in db.session.execute(counts_stmt):
        counts.setdefault(dong_id, {})[tier] = n
    dongs = {d.id: d for d in current_user.dongs}
    return render_template("risk/overview.html", pagination=pagination, filters=filters, args=filters,
                           counts=counts, dongs=dongs, **_common())


@bp.route("/export.csv")
@rule(*STAFF)
def export():
    from volnet.core.csvutil import csv_response
    from volnet.security.throttle import throttle_export

    if not throttle_export(current_user):
        db.session.commit()
        abort(429)
    stmt, _filters = _overview_stmt(current_user)
    record(current_user, "export", "households", None, "risk overview")
    db.session.commit()
    rows = db.session.execute(stmt.options(joinedload(Household.dong)).limit(100_000)).scalars()
    tiers, statuses = labels(TIERS), labels(HOUSEHOLD_STATUSES)
    data = [[h.dong.name if h.dong else "", h.tong or "", h.ban or "", h.display_name, h.address_line,
             tiers.get(h.tier, h.tier), "" if h.risk_score is None else f"{h.risk_score:g}",
             statuses.get(h.status, h.status)]
            for h in rows]
    header = [_("Dong"), _("Tong"), _("Ban"), _("Name"), _("Address"), _("Tier"), _("Risk score"), _("Status")]
    return csv_response([header, *data], "risk-overview.csv")


# --- household risk page --------------------------------------------------------------------------

def _factor_label(f, names: dict) -> str:
    kind = f["kind"]
    if kind == "indicator":
        return _("Public list: %(label)s", label=names.get(f["code"], f["label"]))
    if kind == "signal":
        return _("Reports: %(signal)s (%(n)s)", signal=SIGNALS.get(f["code"], f["code"]), n=f["detail"])
    if kind == "missed_calls":
        return _("Missed safety calls (%(n)s)", n=f["detail"])
    if kind == "screening":
        return f"{screening.KINDS[f['code']]['label']}: {screening.LEVELS.get(f['label'], f['label'])}"
    if kind == "lives_alone":
        return _("Lives alone")
    if kind == "age":
        return _("Aged 80 or older") if f["code"] == "80p" else _("Aged 70-79")
    return kind


FLOOR_REASONS = {
    "mohw_high": _l("Isolation form: high risk"), "mohw_medium": _l("Isolation form: medium risk"),
    "mohw_low": _l("Isolation form: low risk"), "suicidal_plan": _l("Suicide plan or attempt"),
    "suicidal_thought": _l("Suicidal thoughts"), "lsns_at_risk": _l("LSNS-6 at risk"),
    "ucla_lonely": _l("UCLA-3 lonely"),
}


@bp.route("/households/<int:household_id>")
@rule(*STAFF)
def household(household_id: int):
    h = access.load(Household, household_id, "view")
    res = scoring.evaluate(h)
    names = ({t.code: t.shown_label for t in db.session.scalars(select(IndicatorType))}
             if any(f["kind"] == "indicator" for f in res.factors) else {})
    factors = [{**f, "text": _factor_label(f, names)} for f in res.shares()]
    screenings = list(db.session.scalars(select(Screening).options(joinedload(Screening.by))
                                         .where(Screening.household_id == h.id)
                                         .order_by(Screening.at.desc()).limit(20)))
    record_many(current_user, "view", "risk_screenings", [s.id for s in screenings])  # every read is audited
    changes = list(db.session.scalars(select(TierChange).options(joinedload(TierChange.by))
                                      .where(TierChange.household_id == h.id)
                                      .order_by(TierChange.at.desc()).limit(50)))
    inds = list(db.session.execute(
        select(HouseholdIndicator, IndicatorType).join(IndicatorType, IndicatorType.id == HouseholdIndicator.indicator_type_id)
        .where(HouseholdIndicator.household_id == h.id).order_by(HouseholdIndicator.observed_on.desc()).limit(100)))
    form = TierForm(data={"tier": res.suggested})
    return render_template("risk/household.html", h=h, res=res, factors=factors, screenings=screenings,
                           changes=changes, inds=inds, form=form, kinds=screening.KINDS, levels=screening.LEVELS,
                           floor_reasons=[FLOOR_REASONS.get(r, r) for r in res.floor_reasons],
                           may_decide=current_user.role in TIER_DECIDERS,
                           may_screen=current_user.role in SCREENERS, **_common())


@bp.route("/households/<int:household_id>/tier", methods=["POST"])
@rule(*TIER_DECIDERS)
def set_tier(household_id: int):
    h = access.load(Household, household_id, "edit")
    form = TierForm()
    if form.validate_on_submit():
        try:
            services.confirm_tier(h, form.tier.data, form.reason.data or "", current_user)
        except services.RiskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("risk.household", household_id=household_id))
        record(current_user, "update", "household_tier", h.id)
        db.session.commit()
        flash(_("The tier has been saved."), "success")
        from volnet.calls import services as calls
        from volnet.calls.models import CallEnrollment

        plan = db.session.scalar(select(CallEnrollment).where(CallEnrollment.household_id == h.id,
                                                              CallEnrollment.active.is_(True)))
        if plan is not None:
            days = calls.cadence_days(h.tier)
            flash(_("Safety calls now every %(n)d days; the next call is on %(date)s.", n=days,
                    date=seoul_date(plan.next_due_on)) if days > 1 else
                  _("Safety calls now every day; the next call is on %(date)s.", date=seoul_date(plan.next_due_on)),
                  "info")
    else:
        flash(_("The form has expired or is incomplete. Please try again."), "error")
    return redirect(url_for("risk.household", household_id=household_id))


@bp.route("/households/<int:household_id>/screen/<kind>", methods=["GET", "POST"])
@rule(*SCREENERS)
def screen(household_id: int, kind: str):
    h = access.load(Household, household_id, "view")
    spec = screening.KINDS.get(kind)
    if spec is None:
        abort(404)
    form = screening_form(spec["items"])
    if form.validate_on_submit():
        answers = {key: int(getattr(form, "q_" + key).data) for key, *_r in spec["items"]}
        try:
            s, after = services.record_screening(h, kind, answers, current_user, form.note.data or "")
        except services.RiskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            record(current_user, "create", "risk_screenings", s.id)
            db.session.commit()
            flash(_("Screening saved: %(total)s points, %(level)s.", total=s.total,
                    level=screening.LEVELS.get(s.level, s.level)), "success")
            return redirect(url_for("risk.household", household_id=h.id))
    groups = []
    for key, domain, _q, _c in spec["items"]:
        if not groups or groups[-1][0] != str(domain):
            groups.append((str(domain), []))
        groups[-1][1].append(getattr(form, "q_" + key))
    return render_template("risk/screen.html", h=h, form=form, spec=spec, kind=kind, groups=groups), \
        (400 if request.method == "POST" else 200)


@bp.route("/screenings/<int:screening_id>")
@rule(*SCREENERS)
def screening_detail(screening_id: int):
    s = access.load(Screening, screening_id, "view")  # audited (sensitive)
    spec = screening.KINDS[s.kind]
    answers = []
    for key, domain, question, choices in spec["items"]:
        v = (s.answers or {}).get(key)
        answers.append((domain, question, dict(choices).get(v, v), v))
    return render_template("risk/screening.html", s=s, spec=spec, answers=answers, levels=screening.LEVELS)


# --- rounds (public crisis lists) -----------------------------------------------------------------

@bp.route("/rounds")
@rule(*STAFF)
def rounds():
    page = _int_arg("page") or 1
    stmt = (select(CrisisRound).where(visible(current_user, CrisisRound), CrisisRound.status != "uploaded")
            .options(joinedload(CrisisRound.dong)).order_by(CrisisRound.received_on.desc(), CrisisRound.id.desc()))
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    ids = [r.id for r in pagination.items]
    progress = {}
    if ids:
        for rid, result, n in db.session.execute(select(CrisisRow.round_id, CrisisRow.check_result, func.count())
                                                 .where(CrisisRow.round_id.in_(ids))
                                                 .group_by(CrisisRow.round_id, CrisisRow.check_result)):
            progress.setdefault(rid, {})[result] = n
    return render_template("risk/rounds.html", pagination=pagination, progress=progress, args={},
                           today=clock.seoul_today(), **_common())


def _in_memory_uploads():
    """Keep uploaded files in memory (never a temp file: they may hold raw RRNs). The size is capped by
    MAX_CONTENT_LENGTH. Must run before anything reads request.form."""
    request._get_file_stream = lambda *a, **k: io.BytesIO()  # noqa: SLF001


@bp.route("/rounds/new", methods=["GET", "POST"])
@rule(*IMPORTERS)
@csrf.exempt  # parsed after switching to in-memory uploads; the FlaskForm below checks the CSRF token
def upload():
    if request.method == "POST":
        _in_memory_uploads()
    form = UploadForm()
    form.dong_id.choices = [(d.id, d.full_name) for d in current_user.dongs]
    if request.method == "GET":
        form.received_on.data = clock.seoul_today()
    if form.validate_on_submit():
        f = form.file.data
        data = f.read()
        filename = (f.filename or "")[-200:]
        dong_id = form.dong_id.data
        file_hash = hashlib.sha256(data).hexdigest()

        def already_there():
            existing = db.session.scalar(select(CrisisRound).where(CrisisRound.dong_id == dong_id,
                                                                   CrisisRound.file_hash == file_hash))
            if existing is None:
                return None
            entered = form.received_on.data
            if existing.status == "uploaded":
                if existing.received_on != entered:  # not imported yet: the date is corrected
                    existing.received_on, existing.due_on = entered, importer.due_date(entered)
                    record(current_user, "update", "risk_rounds", existing.id, "received_on")
                    db.session.commit()
                    flash(_("The date the list arrived is now %(d)s.", d=seoul_date(entered)), "info")
                return redirect(url_for("risk.mapping", round_id=existing.id))
            if existing.received_on != entered:
                # Imported already with its date (its indicators carry it): say so, and keep the list as it is.
                db.session.rollback()
                return render_template("risk/upload.html", form=form, existing=existing, entered=entered), 409
            flash(_("This file was already imported (round of %(d)s). Nothing was changed.",
                    d=seoul_date(existing.received_on)), "info")
            return redirect(url_for("risk.round_detail", round_id=existing.id))

        seen = already_there()
        if seen is not None:
            return seen
        indicators.ensure_seeded()
        holder = {}

        def make_round(staged):
            r = CrisisRound(dong_id=dong_id, uploaded_by_id=current_user.id, filename=filename, file_hash=file_hash,
                            received_on=form.received_on.data, due_on=importer.due_date(form.received_on.data),
                            status="uploaded", header=staged.header, header_row=staged.header_row,
                            header_signature=staged.signature)
            db.session.add(r)
            db.session.flush()
            holder["r"] = r
            return r.id

        try:
            staged = staging.stage(data, filename, make_round)
        except IntegrityError:
            # The same file sent twice at once (a double click on a slow upload): the other request's
            # round was committed while this one waited; go there.
            db.session.rollback()
            return already_there() or redirect(url_for("risk.rounds"))
        except staging.UploadError as exc:
            db.session.rollback()
            msg = str(UPLOAD_ERRORS.get(exc.code, exc.code))
            if exc.code == "encoding_at":
                msg = msg % {"n": exc.row}
            elif exc.row:
                msg += " " + _("(row %(n)s)", n=exc.row)
            form.file.errors = [msg]
            return render_template("risk/upload.html", form=form), 400
        finally:
            del data
        r = holder["r"]
        r.file_kind, r.encoding = staged.kind, staged.encoding
        r.preview, r.total_rows = staged.preview, staged.total_rows
        r.header, r.header_row, r.header_signature = staged.header, staged.header_row, staged.signature
        record(current_user, "create", "risk_rounds", None, f"rows={staged.total_rows}")
        try:
            db.session.commit()
        except IntegrityError:  # the same file uploaded twice at once
            db.session.rollback()
            return already_there() or redirect(url_for("risk.rounds"))
        if staged.rrn_cells:
            flash(_("Resident registration numbers were replaced by a keyed hash; none were stored."), "info")
        return redirect(url_for("risk.mapping", round_id=r.id))
    return render_template("risk/upload.html", form=form), (400 if request.method == "POST" else 200)


def _size(n: int) -> str:
    return f"{n / 1048576:g} MB" if n >= 1048576 else f"{-(-n // 1024)} KB"


@bp.errorhandler(413)
def upload_too_large(e):
    """A list over MAX_CONTENT_LENGTH: the page says the limit and leads back to the upload."""
    limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    message = (_("A list may be at most %(size)s. Upload the list in parts, or save it as .xlsx, which is "
                 "smaller than CSV.", size=_size(limit)) if limit else _("The file or form is too large."))
    return render_template("errors/error.html", code=413, title=_("File too large"), message=message,
                           back_url=url_for("risk.upload"), back_label=_("Back to the upload")), 413


def _mapping_choices():
    types = list(db.session.scalars(select(IndicatorType).where(IndicatorType.active.is_(True))
                                    .order_by(IndicatorType.sort, IndicatorType.id)))
    choices = [(k, v) for k, v in FIELD_LABELS.items()]
    choices += [("ind:" + t.code, _("Indicator: %(label)s", label=t.shown_label)) for t in types]
    return choices


@bp.route("/rounds/<int:round_id>/map", methods=["GET", "POST"])
@rule(*IMPORTERS)
def mapping(round_id: int):
    r = access.load(CrisisRound, round_id, "map")
    if r.status != "uploaded":
        return redirect(url_for("risk.round_detail", round_id=r.id))
    initial = importer.saved_mapping(r.dong_id, current_user.id, r.header_signature)
    remembered = initial is not None
    if initial is None:
        initial = importer.guess_mapping(r.header, indicators.lookup())
    form = mapping_form(r.header, _mapping_choices(), initial)
    problems = []
    if form.validate_on_submit():
        chosen = {str(i): getattr(form, f"col_{i}").data for i in range(len(r.header))}
        chosen = {k: v for k, v in chosen.items() if v}
        problems = importer.check_mapping(chosen, len(r.header))
        if not problems:
            importer.remember_mapping(r.dong_id, current_user.id, r.header_signature, chosen)
            r.mapping = chosen
            r.status = "queued"
            r.progress_at = clock.now()
            record(current_user, "update", "risk_rounds", r.id, "mapped")
            db.session.commit()
            importer.start(r)  # Redis down: the sweep queues it again (importer.resume_stalled)
            return redirect(url_for("risk.round_detail", round_id=r.id))
    elif request.method == "POST":
        problems = ["unknown_column"]
    messages = []
    for p in problems:
        if p.startswith("twice:"):
            messages.append(_("%(field)s is chosen for more than one column.", field=FIELD_LABELS[p[6:]]))
        else:
            messages.append(str(MAPPING_PROBLEMS.get(p, p)))
    from volnet.risk.rrn import display

    columns = [(i, h, [display(row[i]) if i < len(row) else "" for row in (r.preview or [])],
                getattr(form, f"col_{i}")) for i, h in enumerate(r.header)]
    return render_template("risk/mapping.html", r=r, form=form, columns=columns, messages=messages,
                           remembered=remembered), (400 if problems else 200)


@bp.route("/rounds/<int:round_id>")
@rule(*STAFF)
def round_detail(round_id: int):
    r = access.load(CrisisRound, round_id, "view", options=(joinedload(CrisisRound.dong),))
    if r.status == "uploaded" and access.can(current_user, "map", r):
        return redirect(url_for("risk.mapping", round_id=r.id))
    record(current_user, "view", "risk_rounds", r.id)  # committed when the request ends
    progress = dict(db.session.execute(select(CrisisRow.check_result, func.count())
                                       .where(CrisisRow.round_id == r.id).group_by(CrisisRow.check_result)).all())
    result = request.args.get("result", "")
    page = _int_arg("page") or 1
    rows_stmt = select(CrisisRow).options(joinedload(CrisisRow.household)).where(CrisisRow.round_id == r.id)
    if result in CHECK_RESULTS:
        rows_stmt = rows_stmt.where(CrisisRow.check_result == result)
    rows = db.paginate(rows_stmt.order_by(CrisisRow.row_number), page=page, per_page=PER_PAGE, error_out=False)
    bad = list(db.session.scalars(select(BadRow).where(BadRow.round_id == r.id).order_by(BadRow.row_number)
                                  .limit(20)))
    # Counted, not the import's tally (r.bad_rows): an erasure deletes the problem rows that name the person
    # (risk.person_rows), and the page and its CSV say how many there are now.
    bad_count = len(bad) if len(bad) < 20 else db.session.scalar(
        select(func.count()).select_from(BadRow).where(BadRow.round_id == r.id))
    running = r.status in ("queued", "running")
    # The lists of one dong are imported one at a time (importer.run_import): this one may wait its turn.
    waiting = r.status == "queued" and db.session.scalar(
        select(func.count()).select_from(CrisisRound)
        .where(CrisisRound.dong_id == r.dong_id, CrisisRound.id != r.id, CrisisRound.status == "running")) > 0
    types = {t.code: t.shown_label for t in db.session.scalars(select(IndicatorType))}
    return render_template("risk/round.html", r=r, progress=progress, rows=rows, bad=bad, bad_count=bad_count,
                           running=running,
                           waiting=waiting, sharing=_sharing(r, rows.items),
                           may_merge=current_user.role in (CASEWORKER, TEAM_LEAD),
                           result=result, args={"result": result} if result else {}, bad_reasons=BAD_REASONS,
                           mask=mask_loose,
                           match_labels=MATCH_LABELS, row_warnings=ROW_WARNINGS, types=types, check_form=CheckForm(),
                           may_check=access.can(current_user, "check", r), today=clock.seoul_today(),
                           may_resume=r.status == "failed" and access.can(current_user, "map", r),
                           resume_form=CsrfForm(), **_common())


def _sharing(r: CrisisRound, rows) -> dict[int, list]:
    """Row id -> the other households recorded at its address, for the rows of the page that the import
    did not match by address because the name or birth date differs (match "shared_addr"). The households
    at an address are those of ``households.services.at_address`` (the one rule of "the same address",
    whatever else a household's stored key holds, e.g. its lot-number address), for the addresses of
    the page, all in one look-up; the ones this user may not see are left out (one query)."""
    from volnet.households.services import at_addresses

    shared = [row for row in rows if row.match == "shared_addr"]
    if not shared:
        return {}
    at = at_addresses(r.dong_id, {(row.address, row.unit or "") for row in shared}, limit=20)
    ids = {h.id for found in at.values() for h in found}
    seen = set(db.session.scalars(select(Household.id).where(visible(current_user, Household),
                                                             Household.id.in_(ids)))) if ids else set()
    return {row.id: [h for h in at.get((row.address, row.unit or ""), []) if h.id in seen
                     and h.id != row.household_id] for row in shared}


@bp.route("/rounds/<int:round_id>/resume", methods=["POST"])
@rule(*STAFF)
def resume_import(round_id: int):
    """An import that stopped with an error goes on after the rows it saved (they are kept)."""
    r = access.load(CrisisRound, round_id, "map", audit=False, lock=True)
    if not CsrfForm().validate_on_submit():
        abort(400)
    if r.status != "failed":
        return redirect(url_for("risk.round_detail", round_id=r.id))
    r.status, r.error, r.progress_at = "queued", "", clock.now()
    done = r.done_rows
    record(current_user, "update", "risk_rounds", r.id, "resumed")
    db.session.commit()
    flash(_("The import goes on after the %(n)d rows already done.", n=done), "info")
    importer.start(r)
    return redirect(url_for("risk.round_detail", round_id=r.id))


@bp.route("/rounds/<int:round_id>/bad-rows.csv")
@rule(*STAFF)
def bad_rows_csv(round_id: int):
    r = access.load(CrisisRound, round_id, "view")
    record(current_user, "export", "risk_rounds", r.id, "bad rows")
    db.session.commit()
    rows = db.session.execute(select(BadRow.row_number, BadRow.reason, BadRow.detail, BadRow.content)
                              .where(BadRow.round_id == r.id).order_by(BadRow.row_number))
    # Masked again as they are shown: a row stored before numbers of the RRN shape were masked at import.
    data = ([n, str(BAD_REASONS.get(reason, reason)), mask_loose(detail or ""), mask_loose(content or "")]
            for n, reason, detail, content in rows)
    from volnet.core.csvutil import csv_response

    return csv_response([[_("Row"), _("Reason"), _("Detail"), _("Row content")], *data], f"bad-rows-{r.id}.csv")


@bp.route("/rounds/<int:round_id>/rows/<int:row_id>/check", methods=["POST"])
@rule(*IMPORTERS)
def check_row(round_id: int, row_id: int):
    row = access.load(CrisisRow, row_id, "check")
    if row.round_id != round_id:
        abort(404)
    form = CheckForm()
    if form.validate_on_submit():
        row.check_result = form.result.data
        row.check_note = form.note.data or ""
        row.checked_by_id = current_user.id
        row.checked_at = clock.now()
        record(current_user, "update", "risk_rows", row.id, form.result.data)
        db.session.commit()
        flash(_("The check result has been saved."), "success")
    else:
        flash(_("Choose one of the offered options."), "error")
    return redirect(url_for("risk.round_detail", round_id=round_id, **({"page": request.args["page"]}
                                                                        if request.args.get("page", "").isdecimal()
                                                                        else {})))


# --- admin ---------------------------------------------------------------------------------------

def _signal_choices():
    return [(k, v) for k, v in SIGNALS.items()]


@bp.route("/admin/indicators")
@rule(ADMIN)
def admin_indicators():
    types = list(db.session.scalars(select(IndicatorType).order_by(IndicatorType.sort, IndicatorType.id)))
    return render_template("risk/admin_indicators.html", types=types, categories=indicators.CATEGORIES,
                           form=CsrfForm())


@bp.route("/admin/indicators/seed", methods=["POST"])
@rule(ADMIN)
def admin_seed():
    if CsrfForm().validate_on_submit():
        n = indicators.seed()
        record(current_user, "create", "risk_indicator_types", None, f"seeded {n}")
        db.session.commit()
        flash(_("%(n)s standard indicator types added.", n=n), "success")
    return redirect(url_for("risk.admin_indicators"))


@bp.route("/admin/indicators/new", methods=["GET", "POST"])
@bp.route("/admin/indicators/<int:type_id>", methods=["GET", "POST"])
@rule(ADMIN)
def admin_indicator(type_id: int | None = None):
    t = None
    if type_id is not None:
        t = db.session.get(IndicatorType, type_id) if 0 < type_id < 2**31 else None
        if t is None:
            abort(404)
    form = IndicatorTypeForm(obj=t) if t else IndicatorTypeForm()
    form.signal.choices = _signal_choices()
    if isinstance(form.aliases.data, list):  # from the object (a page, or a post without the field): joined
        form.aliases.data = ", ".join(form.aliases.data)
    if request.method == "GET" and t is not None:
        form.active.data = "1" if t.active else "0"
    if form.validate_on_submit():
        code = form.code.data.strip()
        clash = db.session.scalar(select(IndicatorType.id).where(IndicatorType.code == code))
        if clash is not None and (t is None or clash != t.id):
            form.code.errors = [_("This code is already used.")]
        else:
            if t is None:
                t = IndicatorType(sort=1000)
                db.session.add(t)
            t.code, t.label, t.label_en = code, form.label.data, form.label_en.data or ""
            t.category, t.weight, t.signal = form.category.data, float(form.weight.data), form.signal.data
            t.aliases = [a.strip() for a in (form.aliases.data or "").split(",") if a.strip()][:30]
            t.active = form.active.data == "1"
            db.session.flush()
            record(current_user, "update", "risk_indicator_types", t.id)
            db.session.commit()
            flash(_("The indicator type has been saved."), "success")
            return redirect(url_for("risk.admin_indicators"))
    return render_template("risk/admin_indicator.html", form=form, t=t), (400 if request.method == "POST" else 200)


def _list_urgent_choices(current: list[str]) -> list[tuple[str, str]]:
    """The chips of risk.list.urgent_signals: each signal that an active indicator type carries (or that the
    setting holds), in the signals' order, named with those indicator types in the reader's language:
    '자살·자해 언급: 자해·자살 시도 응급실 내원, 자살 고위험'."""
    carried: dict[str, list[str]] = {}
    for t in db.session.scalars(select(IndicatorType).where(IndicatorType.active.is_(True))
                                .order_by(IndicatorType.sort, IndicatorType.id)):
        carried.setdefault(t.signal or "other", []).append(t.shown_label)
    codes = [c for c in SIGNALS if c in carried or c in current]
    codes += [c for c in [*carried, *current] if c not in SIGNALS and c not in codes]
    return [(c, f"{SIGNALS.get(c, c)}: {', '.join(carried[c])}" if c in carried else str(SIGNALS.get(c, c)))
            for c in codes]


def _defaults_hint(key: str) -> str:
    value = settings.DEFAULTS.get(key)
    if key == scoring.LIST_URGENT_KEY:
        shown = ", ".join(str(SIGNALS.get(c, c)) for c in value or ())
    elif key == "risk.concern.tier":
        shown = str(TIERS.get(value, value))
    else:
        shown = f"{value:g}" if isinstance(value, int | float) else str(value or "")
    return _("Default: %(value)s", value=shown or _("(none)"))


@bp.route("/admin/settings", methods=["GET", "POST"])
@rule(ADMIN)
def admin_settings():
    keys = list(SETTING_LABELS)
    values = {k: float(settings.get(k)) for k in keys}
    list_urgent = [c for c in settings.get(scoring.LIST_URGENT_KEY) or [] if isinstance(c, str)]
    choices = _list_urgent_choices(list_urgent)
    form = settings_form(keys, SETTING_LABELS, values, choices, list_urgent)
    concern_tier = settings.get("risk.concern.tier") or "intensive"
    if form.validate_on_submit():
        new_tier = request.form.get("concern_tier", concern_tier)
        if new_tier not in TIER_RANK or TIER_RANK[new_tier] < 2:
            new_tier = concern_tier
        for k in keys:
            v = getattr(form, k.replace(".", "__")).data
            settings.put(k, int(v) if float(v).is_integer() else float(v), current_user)
        settings.put("risk.concern.tier", new_tier, current_user)
        detail = "risk"
        if form.list_urgent_shown.data:  # a post without the chips (not from this page) keeps the setting
            picked = set(form.list_urgent_signals.data or [])
            new = [c for c, _label in choices if c in picked]
            if set(new) != set(list_urgent):  # unchanged, it keeps following the default in the code
                settings.put(scoring.LIST_URGENT_KEY, new, current_user)
                detail += (f" {scoring.LIST_URGENT_KEY}: {','.join(list_urgent) or '-'} -> "
                           f"{','.join(new) or '-'}")
        record(current_user, "update", "settings", None, detail[:300])
        db.session.commit()
        flash(_("The risk settings have been saved."), "success")
        return redirect(url_for("risk.admin_settings"))
    fields = [(k, getattr(form, k.replace(".", "__")), _defaults_hint(k)) for k in keys]
    return render_template("risk/admin_settings.html", form=form, fields=fields, concern_tier=concern_tier,
                           tiers=TIERS, concern_tier_default=_defaults_hint("risk.concern.tier"),
                           list_urgent_default=_defaults_hint(scoring.LIST_URGENT_KEY)), \
        (400 if request.method == "POST" else 200)
