"""`flask volnet retention [--dry-run]`: apply the retention policy (also run by the periodic sweep)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="Only count what is due; change nothing.")
@with_appcontext
def retention(dry_run: bool):
    """Anonymise old closed concerns and purge audit rows past the retention period."""
    from volnet.core import clock
    from volnet.extensions import db
    from volnet.privacy.services import run_retention

    stats = run_retention(clock.now(), dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo(("would change: " if dry_run else "changed: ") + ", ".join(f"{k}={v}" for k, v in stats.items()))


COMMANDS = [retention]
