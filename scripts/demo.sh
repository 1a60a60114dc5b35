#!/usr/bin/env bash
# Set up and run volnet with demo data on the embedded defaults (SQLite under instance/, no Redis).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export FLASK_APP=wsgi
# Links in messages (e-mail, SMS, KakaoTalk: the one-tap shift reminder) are built from the configured base URL,
# never from a request (the sweep and the workers write them): point it at this run's address and port.
export VOLNET_BASE_URL="${VOLNET_BASE_URL:-http://127.0.0.1:${PORT:-5000}}"
.venv/bin/flask db upgrade
.venv/bin/flask volnet demo
echo
echo "volnet is starting at http://127.0.0.1:${PORT:-5000}  (Ctrl+C to stop)"
exec .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"
