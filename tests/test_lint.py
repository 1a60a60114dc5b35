"""The code passes the project's linter (pyproject.toml [tool.ruff]), as CI runs it: bugbear and bandit
findings, import order, and the banned APIs (labels through volnet.core.i18n)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "volnet", "tests", "bench", "tools"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
