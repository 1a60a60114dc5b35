#!/usr/bin/env bash
# Prove that a PostgreSQL backup of volnet can be restored and read:
#   1. make a scratch database with the application's schema and the demo data,
#   2. back it up with pg_dump (custom format, as in production),
#   3. restore it into a fresh database with pg_restore,
#   4. compare the row count of every table, and open the restored copy with the application
#      (encrypted notes decrypt, the audit guard is still in place).
# Both scratch databases are dropped at the end. Exit status 0 means the backup is good.
#
# Environment: VOLNET_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
#              VOLNET_DATA_KEY / VOLNET_SECRET_KEY as for the application (a test key is used otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
ADMIN_URL=${VOLNET_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
BASE=${ADMIN_URL%/*}
SUFFIX="$$_$(date +%s)"
SRC="volnet_backup_src_${SUFFIX}"
DST="volnet_backup_dst_${SUFFIX}"
DUMP=$(mktemp -d)/volnet.dump
export VOLNET_SECRET_KEY=${VOLNET_SECRET_KEY:-backup-check-secret-0123456789}
export VOLNET_DATA_KEY=${VOLNET_DATA_KEY:-backup check data key}
export VOLNET_REDIS_URL=""

cleanup() {
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$SRC\" WITH (FORCE)" >/dev/null 2>&1 || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DST\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$(dirname "$DUMP")"
}
trap cleanup EXIT

psql -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE \"$SRC\"" >/dev/null
psql -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE \"$DST\"" >/dev/null

echo "1/4 creating $SRC with the schema and demo data"
VOLNET_DATABASE_URL="$BASE/$SRC" "$PY" - <<'EOF'
from volnet import create_app
from volnet.extensions import db

app = create_app()
with app.app_context():
    db.create_all()
    from volnet.core.dbsetup import after_create_all
    after_create_all()
    from volnet import demo
    demo.build()
    db.session.commit()
EOF

echo "2/4 pg_dump"
pg_dump --format=custom --no-owner --file "$DUMP" "$BASE/$SRC"

echo "3/4 pg_restore into $DST"
pg_restore --no-owner --exit-on-error --dbname "$BASE/$DST" "$DUMP"

echo "4/4 comparing row counts and reading the copy with the application"
counts() {
  psql -At -v ON_ERROR_STOP=1 "$1" <<'SQL' | sort
SELECT format('SELECT %L || '' '' || count(*) FROM %I.%I;', table_name, table_schema, table_name)
FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1
\gexec
SQL
}
counts "$BASE/$SRC" > "$(dirname "$DUMP")/src.txt"
counts "$BASE/$DST" > "$(dirname "$DUMP")/dst.txt"
if ! diff -u "$(dirname "$DUMP")/src.txt" "$(dirname "$DUMP")/dst.txt"; then
  echo "row counts differ" >&2
  exit 1
fi
TABLES=$(wc -l < "$(dirname "$DUMP")/src.txt")
ROWS=$(awk '{s+=$2} END {print s}' "$(dirname "$DUMP")/src.txt")

VOLNET_DATABASE_URL="$BASE/$DST" "$PY" - <<'EOF'
from sqlalchemy import delete, func, select, text

from volnet import create_app
from volnet.audit.models import AuditLog
from volnet.extensions import db
from volnet.households.models import Household
from volnet.observations.models import Observation

app = create_app()
with app.app_context():
    households = db.session.scalar(select(func.count()).select_from(Household))
    assert households > 0, "no households in the restored copy"
    notes = [o.note for o in db.session.scalars(select(Observation).where(Observation.note != "").limit(20))]
    raw = db.session.execute(text("SELECT note FROM observations WHERE note <> '' LIMIT 1")).scalar()
    assert notes and all(not n.startswith("v1:") for n in notes), "notes do not decrypt"
    assert raw is None or raw.startswith("v1:"), "notes are not encrypted in the copy"
    guarded = False
    try:
        db.session.add(AuditLog(action="backup_check"))
        db.session.flush()
        db.session.execute(delete(AuditLog))
        db.session.flush()
    except Exception:
        guarded = True
    db.session.rollback()
    assert guarded, "the audit guard did not survive the restore"
    print(f"restored copy readable: {households} households, {len(notes)} notes decrypted, audit guard in place")
EOF
echo "OK: $TABLES tables, $ROWS rows, identical counts after restore"
