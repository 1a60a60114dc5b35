#!/usr/bin/env bash
# Set up and run the whole test suite (SQLite and PostgreSQL, Redis, headless Chromium).
# As root on a Debian machine it installs what the tests need and starts stopped services.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh || true
bash scripts/setup.sh || exit 1
mkdir -p tests/artifacts
workers=${PYTEST_WORKERS:-2}
.venv/bin/python -m pytest -n "$workers" --dist loadgroup -p no:cacheprovider "$@"
status=$?
if [ "$status" = 5 ]; then
  echo "no tests were collected" >&2
fi
exit "$status"
