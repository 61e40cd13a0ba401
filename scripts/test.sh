#!/usr/bin/env bash
# Runs the whole suite once on SQLite (local-memory cache) and once on PostgreSQL with the
# Redis cache when PostgreSQL answers on 127.0.0.1:5432. With TWOFOLD_REQUIRE_POSTGRES=1
# (as CI sets) a PostgreSQL that does not answer fails the run instead of skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${TWOFOLD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/twofold}
REDIS=${TWOFOLD_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}

answers() { # host port
  "$BIN/python" - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}

export TWOFOLD_DATA_DIR="$PWD/.test-data"
mkdir -p "$TWOFOLD_DATA_DIR" artifacts
unset DATABASE_URL REDIS_URL
# One pytest worker per core (pytest-xdist); TWOFOLD_TEST_WORKERS=0 runs in one process.
# Tests marked xdist_group run in one worker together (the outage tests share their servers).
WORKERS=${TWOFOLD_TEST_WORKERS:-$(nproc)}
set -- -n "$WORKERS" --dist loadgroup "$@"

echo "== translation catalogues (compilemessages)"
(cd twofold && "../$BIN/twofold" manage compilemessages --verbosity 0)

echo "== migrations are complete (makemigrations --check)"
"$BIN/twofold" manage makemigrations --check --dry-run

echo "== test run 1 of 2: SQLite + local-memory cache"
"$BIN/pytest" "$@"

if answers 127.0.0.1 5432; then
  if answers 127.0.0.1 6379; then
    echo "== test run 2 of 2: PostgreSQL + Redis cache"
    DATABASE_URL="$PG_URL" REDIS_URL="$REDIS" "$BIN/pytest" "$@"
  elif [ "${TWOFOLD_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "Redis does not answer on 127.0.0.1:6379 and TWOFOLD_REQUIRE_POSTGRES=1: failing." >&2
    exit 1
  else
    echo "== test run 2 of 2: PostgreSQL + local-memory cache (Redis does not answer)"
    DATABASE_URL="$PG_URL" "$BIN/pytest" "$@"
  fi
elif [ "${TWOFOLD_REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "PostgreSQL does not answer on 127.0.0.1:5432 and TWOFOLD_REQUIRE_POSTGRES=1: failing." >&2
  exit 1
else
  echo "== test run 2 of 2 SKIPPED: PostgreSQL does not answer on 127.0.0.1:5432"
fi
