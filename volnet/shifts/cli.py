"""`flask volnet shifts-extend` (materialise recurring shifts) and `flask volnet shifts-check` (reminders, 48 h alert)."""
from __future__ import annotations

import click

from volnet.extensions import db


@click.command("shifts-extend")
def shifts_extend():
    """Create the occurrences of every running series up to the planning horizon (safe to run twice)."""
    from volnet.shifts import services

    n = services.extend_all_series()
    db.session.commit()
    click.echo(f"{n} shifts created")


@click.command("shifts-check")
def shifts_check():
    """Send the shift reminders that are due, and alert coordinators about shifts starting soon with open
    places (each shift once)."""
    from volnet.shifts import services

    reminders = services.send_due_reminders()
    n = services.check_unfilled()
    db.session.commit()
    notes = services._notifications()
    if notes is not None and hasattr(notes, "after_commit_dispatch"):
        notes.after_commit_dispatch()
    click.echo(f"{reminders} reminders sent, {n} shifts with open places reported")


COMMANDS = [shifts_extend, shifts_check]
