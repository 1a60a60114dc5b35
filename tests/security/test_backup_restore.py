"""Backup and restore: scripts/backup_restore_check.sh dumps a database made by the app, restores it into
a fresh one, compares row counts and reads the copy with the application."""
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, need, pg_available

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_backup_restore_check_script():
    if not pg_available():
        need("PostgreSQL is not reachable at " + PG_ADMIN_URL)
    for tool in ("pg_dump", "pg_restore", "psql"):
        if shutil.which(tool) is None:
            need(f"{tool} is not installed")
    res = subprocess.run(["bash", str(ROOT / "scripts" / "backup_restore_check.sh")],  # noqa: S603,S607
                         capture_output=True, text=True, timeout=600, cwd=ROOT,
                         env={"PATH": "/usr/bin:/bin:/usr/local/bin", "VOLNET_PG_ADMIN_URL": PG_ADMIN_URL,
                              "PY": str(ROOT / ".venv" / "bin" / "python"), "HOME": "/tmp"})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "identical counts after restore" in res.stdout and "audit guard in place" in res.stdout
