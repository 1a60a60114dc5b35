"""Moving a concern to another dong: a report (often a citizen's) about a place in another dong.

Many residents do not know their 행정동, so a report may land in the wrong dong's queue. While no household is
linked (a linked concern follows its household's dong: services.follow_household), a caseworker or team lead
of its dong sends it, with a reason, to any dong the citizen form offers. It leaves this dong's queue and
enters that one's as new (nobody's, its due times from now), with its reports and timeline; this dong's staff
no longer see it, and the other dong's caseworkers are told as of a new report.
"""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import update
from wtforms import StringField
from wtforms.validators import DataRequired, InputRequired, Length

from volnet.accounts.roles import CASEWORKER, TEAM_LEAD
from volnet.audit.services import record
from volnet.concerns import services as svc
from volnet.concerns import views
from volnet.concerns.models import Concern, ConcernEvent
from volnet.core import access, clock
from volnet.core.access import rule
from volnet.core.forms import clean_filter
from volnet.core.i18n import lazy_gettext as _l
from volnet.extensions import db
from volnet.observations.forms import ChosenField, int_or_none
from volnet.observations.models import Observation
from volnet.places.models import Dong

bp = views.bp


class MoveForm(FlaskForm):
    dong_id = ChosenField(_l("Dong to send it to"), coerce=int_or_none,
                          validators=[InputRequired(_l("Choose the dong."))])
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Write why it goes to another dong.")),
                                                   Length(max=300)], filters=[clean_filter])


def target_choices(concern: Concern) -> list:
    """Where it may go: the dongs the citizen form offers (every active one), but its own."""
    from volnet.observations.public import dong_choices

    return [("", _("Choose…")), *((i, name) for i, name in dong_choices() if i != concern.dong_id)]


@bp.app_template_global("concern_move_form")
def move_form(concern: Concern) -> MoveForm:
    form = MoveForm(formdata=None)
    form.dong_id.choices = target_choices(concern)
    return form


def move_to_dong(concern: Concern, target: Dong, actor, reason: str) -> ConcernEvent:
    """Send an open concern without a household to ``target``'s queue, as new. Never commits."""
    svc._require_open(concern)
    if concern.household_id is not None:
        raise svc.ConcernError(_l("Only a concern without a household can be sent to another dong: a "
                                  "household's concern follows the household's dong."))
    if target.id == concern.dong_id:
        raise svc.ConcernError(_l("Choose another dong than this one."))
    if not target.active:
        raise svc.ConcernError(_l("That dong does not take reports."))
    source = db.session.get(Dong, concern.dong_id)
    both_known = source is not None and source.sigungu == target.sigungu
    from_name = (source.name if both_known else source.full_name) if source is not None else ""
    to_name = target.name if both_known else target.full_name
    now = clock.now()
    concern.dong_id = target.id
    concern.tong = None
    concern.status = "new"
    concern.owner_id = None
    concern.acknowledged_at = concern.first_action_at = None
    concern.ack_due_at, concern.action_due_at = svc.due_times(concern.urgency, now)
    concern.alerted_due_at = concern.lead_alerted_due_at = None
    svc.refresh_next_due(concern)
    # Its reports go with it: the staff of the dong they are filed under are the ones who read them.
    db.session.execute(update(Observation).where(Observation.concern_id == concern.id)
                       .values(dong_id=target.id))
    event = svc.add_event(concern, "moved_dong", actor, note=reason, from_dong=source.id if source else None,
                          from_name=from_name, to_dong=target.id, to_name=to_name)
    db.session.flush()
    return event


@bp.route("/<int:concern_id>/move", methods=["POST"])
@rule(CASEWORKER, TEAM_LEAD)
def move(concern_id: int):
    concern = access.load(Concern, concern_id, "move", audit=False, lock=True)
    form = MoveForm()
    form.dong_id.choices = target_choices(concern)
    if not form.validate_on_submit():
        return views._failed(concern, form, keep="move_form")
    target = db.session.get(Dong, form.dong_id.data)
    from_id = concern.dong_id
    try:
        event = move_to_dong(concern, target, current_user, form.reason.data)
    except svc.ConcernError as exc:
        return views._failed(concern, exc=exc)
    record(current_user, "move", "concern", concern.id, detail=f"dong {from_id} -> {target.id}")
    told = _tell_the_dong(concern, event)
    db.session.commit()
    if told:
        from volnet.notifications import services as notifications

        notifications.after_commit_dispatch()
    flash(_("Concern #%(n)d has been sent to %(dong)s and is in its queue now.", n=concern.id,
            dong=event.data["to_name"]), "success")
    if access.can(current_user, "view", concern):  # staff of both dongs
        return redirect(url_for("concerns.detail", concern_id=concern.id))
    return redirect(url_for("concerns.queue"))


def _tell_the_dong(concern: Concern, event: ConcernEvent) -> bool:
    """The other dong's caseworkers hear of it as of a new report (in this transaction)."""
    try:
        from volnet.notifications import hooks
    except ModuleNotFoundError:  # pragma: no cover - the notifications domain is optional
        return False
    hooks.concern_moved_in(concern, event.data["from_name"], event.data["to_name"], event.id)
    return True
