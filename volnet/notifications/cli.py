"""`flask volnet worker`, `flask volnet run-sweeps`, `flask volnet sweep`."""
from __future__ import annotations

import logging
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from volnet.extensions import db


@click.command("worker")
@click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: default).")
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option("--name", default=None, help="Worker name (shown on the admin page).")
@with_appcontext
def worker(queues, burst: bool, name: str | None):
    """Run an RQ worker with the scheduler (needs VOLNET_REDIS_URL). Starts the periodic sweep."""
    from rq import Queue, SimpleWorker

    from volnet.core import queue
    from volnet.notifications import tasks

    conn = queue.redis_conn()
    if conn is None:
        raise click.ClickException("VOLNET_REDIS_URL is not set; without Redis run `flask volnet run-sweeps`.")
    logging.basicConfig(level=logging.INFO)
    names = list(queues) or [current_app.config.get("NOTIFY_QUEUE") or "default"]
    db.session.remove()
    tasks.ensure_sweep()
    # SimpleWorker: the app is built once and jobs run in this process (no fork per job). A killed worker
    # loses nothing: claims expire after NOTIFY_LEASE_SECONDS and the sweep hands the rows out again.
    w = SimpleWorker([Queue(n, connection=conn) for n in names], connection=conn, name=name)
    if not burst:
        _start_ticker(current_app._get_current_object())
    w.work(burst=burst, with_scheduler=True, logging_level="INFO")


def _start_ticker(app) -> threading.Thread:
    """Keep the sweep going even when the RQ scheduler is not (its lock outlives a killed worker by a
    minute, and a Redis restart drops the scheduled chain): when the database says no sweep ran for two
    intervals, enqueue one. The sweep's own guard keeps several workers from sweeping twice."""
    from datetime import timedelta

    from volnet.core import clock
    from volnet.notifications import services, tasks

    def loop():
        while True:
            with app.app_context():
                interval = services.sweep_interval()
                try:
                    last = services.last_sweep_at()
                    if last is None or last < clock.now() - timedelta(seconds=2 * interval):
                        tasks.ensure_sweep()
                except Exception:  # noqa: BLE001 - database or Redis briefly away: try next time
                    db.session.rollback()
                finally:
                    db.session.remove()
            time.sleep(interval)

    t = threading.Thread(target=loop, name="volnet-sweep-ticker", daemon=True)
    t.start()
    return t


@click.command("run-sweeps")
@click.option("--interval", type=float, default=None, help="Seconds between sweeps (default NOTIFY_SWEEP_SECONDS).")
@with_appcontext
def run_sweeps(interval: float | None):
    """Embedded mode (no Redis): sweep and deliver in this process, forever."""
    from volnet.notifications import services

    interval = interval or services.sweep_interval()
    click.echo(f"sweeping every {interval:g} s; Ctrl-C to stop")
    while True:
        try:
            result = services.sweep()
            if result.get("due"):
                click.echo(f"{result['due']} due, {result['dispatched']} handed over")
        except Exception:  # noqa: BLE001 - keep looping; the database holds the work
            db.session.rollback()
            logging.getLogger(__name__).exception("sweep failed")
        finally:
            db.session.remove()
        time.sleep(interval)


@click.command("sweep")
@with_appcontext
def sweep_once():
    """One sweep now: escalations, digests, other domains' checks, due messages."""
    from volnet.notifications import services

    result = services.sweep()
    click.echo(result)


COMMANDS = [worker, run_sweeps, sweep_once]
