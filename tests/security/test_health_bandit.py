"""/health reports database, Redis and worker state; a static scan finds no high-severity issue."""
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]


def test_health_ok_without_redis_configured(app, client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json["database"] == "ok" and r.json["status"] == "ok"


def test_health_degraded_not_down_when_redis_is_missing(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # a closed port
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json["database"] == "ok" and r.json["redis"] == "down" and r.json["status"] == "degraded"


def test_health_with_real_redis(app, client, redis_url, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    r = client.get("/health")
    assert r.status_code == 200 and r.json["redis"] == "ok"
    assert r.json["status"] in ("ok", "degraded")  # degraded when no worker runs


def test_bandit_finds_no_high_severity_issue():
    exe = ROOT / ".venv" / "bin" / "bandit"
    cmd = [str(exe)] if exe.exists() else ([shutil.which("bandit")] if shutil.which("bandit") else None)
    if cmd is None:
        need("bandit is not installed (pip install -e .[test])")
    res = subprocess.run([*cmd, "-r", str(ROOT / "volnet"), "-q", "-lll", "-f", "txt"],  # noqa: S603
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert sys.version_info >= (3, 11)
