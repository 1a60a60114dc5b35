"""Flask CLI: `flask volnet create-admin`, `flask volnet demo`, `flask translate ...`."""
from __future__ import annotations

import getpass
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from volnet.extensions import db

volnet_cli = AppGroup("volnet", help="volnet administration.")
translate_cli = AppGroup("translate", help="Translation catalogues (Korean first).")


def init_app(app):
    app.cli.add_command(volnet_cli)
    app.cli.add_command(translate_cli)
    for extra in _extra_commands():
        volnet_cli.add_command(extra)


def _extra_commands():
    import importlib

    out = []
    for name in ("notifications", "shifts", "risk", "cases", "calls", "reports", "privacy"):
        try:
            mod = importlib.import_module(f"volnet.{name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"volnet.{name}", f"volnet.{name}.cli"):
                raise
            continue
        out.extend(getattr(mod, "COMMANDS", []))
    return out


@volnet_cli.command("create-admin")
@click.option("--login-id", prompt=True)
@click.option("--name", prompt=True)
@click.option("--password", default=None, help="Read from a prompt when omitted.")
def create_admin(login_id: str, name: str, password: str | None):
    """Create the first administrator."""
    from volnet.accounts import passwords
    from volnet.accounts.models import User, login_key

    if password is None:
        password = getpass.getpass("Password: ")
    problem = passwords.problem(password, login_id)
    if problem:
        raise click.ClickException(str(problem))
    if db.session.scalar(select(User.id).where(User.login_id == login_key(login_id))):
        raise click.ClickException("login id taken")
    u = User(login_id=login_id, name=name, role="admin")
    u.set_password(password)
    db.session.add(u)
    db.session.commit()
    click.echo(f"admin {login_id} created")


@volnet_cli.command("demo")
@click.option("--reset/--no-reset", default=False, help="Delete existing demo data first.")
def demo(reset: bool):
    """Fill the database with a realistic demo dong (송산3동, 의정부시) and print the demo logins."""
    from volnet import demo as demo_mod

    logins = demo_mod.build(reset=reset)
    db.session.commit()
    click.echo(f"\nDemo logins (password for all: {demo_mod.DEMO_PASSWORD})")
    for role, login in logins:
        click.echo(f"  {role:<28} {login}")


@volnet_cli.command("load-dongs")
@click.argument("sigungu")
def load_dongs(sigungu: str):
    """Add every current dong of a 시군구 from the bundled administrative code list."""
    from volnet.places.services import AmbiguousSigungu, import_sigungu

    try:
        n = import_sigungu(sigungu)
    except AmbiguousSigungu as many:
        raise click.ClickException(f"several 시군구 of that name: {', '.join(many.choices)}") from None
    if n is None:
        raise click.ClickException("unknown 시군구")
    db.session.commit()
    click.echo(f"{n} dongs added")


def _root() -> Path:
    return Path(current_app.root_path).parent


@translate_cli.command("extract")
def extract():
    """Extract messages to translations/messages.pot and update the Korean catalogue."""
    root = _root()
    _run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(root / "babel.cfg"),
          "-k", "_l", "-k", "lazy_gettext", "--no-location", "--sort-output",
          "-o", str(root / "translations" / "messages.pot"), str(root / "volnet")])
    _run([sys.executable, "-m", "babel.messages.frontend", "update", "-i", str(root / "translations" / "messages.pot"),
          "-d", str(root / "translations"), "--no-fuzzy-matching", "--ignore-obsolete"])


@translate_cli.command("compile")
def compile_():
    """Compile the catalogues (.po -> .mo)."""
    root = _root()
    _run([sys.executable, "-m", "babel.messages.frontend", "compile", "-d", str(root / "translations")])


def _run(cmd):
    res = subprocess.run(cmd, check=False)  # noqa: S603 - fixed argument list
    if res.returncode:
        raise click.ClickException(f"{cmd[3]} failed")
