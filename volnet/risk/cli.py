"""`flask volnet risk-seed`, `flask volnet risk-rescore`."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from volnet.extensions import db


@click.command("risk-seed")
@with_appcontext
def risk_seed():
    """Add the standard public crisis indicator types that are missing."""
    from volnet.risk import indicators

    n = indicators.seed()
    db.session.commit()
    click.echo(f"{n} indicator types added")


@click.command("risk-rescore")
@with_appcontext
def risk_rescore():
    """Recompute every household's risk score (after changing weights), opening concerns on crossings."""
    from volnet.households.models import Household
    from volnet.risk import scoring

    ids = list(db.session.scalars(select(Household.id).order_by(Household.id)))
    raised = 0
    for i in range(0, len(ids), 2000):
        raised += scoring.refresh(ids[i:i + 2000])
        db.session.commit()
    click.echo(f"{len(ids)} households rescored, {raised} concerns opened or raised")


COMMANDS = [risk_seed, risk_rescore]
