#!/usr/bin/env bash
# Runs the suite on SQLite (local-memory cache) and on PostgreSQL with the Redis cache when
# PostgreSQL answers on 127.0.0.1:5432. With TWOFOLD_REQUIRE_POSTGRES=1 (as CI sets) a
# PostgreSQL that does not answer fails the run instead of skipping it.
#
# Every test that uses the suite's database runs on both, but for two kinds that run once
# (pyproject.toml's markers; README.md's `make test` says why):
#   browser      Chromium through the whole stack: on PostgreSQL + Redis, what production runs;
#   own_servers  twofold in processes of its own on a database of its own (or files only):
#                the suite's database plays no part, so the SQLite run has them.
# Without PostgreSQL, the SQLite run takes the browser tests too.
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
# -rs: every skip and its reason in the summary; the slowest tests after it.
set -- -n "$WORKERS" --dist loadgroup -rs --durations=15 "$@"

STARTED=$SECONDS
timings=()
timed() { # label command...: run it, remember how long it took
  local label=$1 began=$SECONDS status=0
  shift
  "$@" || status=$?
  timings+=("$label: $((SECONDS - began)) s")
  return $status
}
report() {
  echo "== time taken"
  printf '   %s\n' "${timings[@]}" "whole script: $((SECONDS - STARTED)) s"
}
trap report EXIT

if answers 127.0.0.1 5432; then POSTGRES=1; else POSTGRES=0; fi
if [ "$POSTGRES" = 1 ]; then ONLY_SQLITE=(-m "not browser"); else ONLY_SQLITE=(); fi

echo "== translation catalogues (compilemessages)"
(cd twofold && "../$BIN/twofold" manage compilemessages --verbosity 0)

echo "== migrations are complete (makemigrations --check)"
"$BIN/twofold" manage makemigrations --check --dry-run

echo "== test run 1 of 2: SQLite + local-memory cache"
timed "run 1, SQLite" "$BIN/pytest" "${ONLY_SQLITE[@]}" "$@"

if [ "$POSTGRES" = 1 ]; then
  if answers 127.0.0.1 6379; then
    echo "== test run 2 of 2: PostgreSQL + Redis cache (browser tests included)"
    DATABASE_URL="$PG_URL" REDIS_URL="$REDIS" \
      timed "run 2, PostgreSQL + Redis" "$BIN/pytest" -m "not own_servers" "$@"
  elif [ "${TWOFOLD_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "Redis does not answer on 127.0.0.1:6379 and TWOFOLD_REQUIRE_POSTGRES=1: failing." >&2
    exit 1
  else
    echo "== test run 2 of 2: PostgreSQL + local-memory cache (Redis does not answer)"
    DATABASE_URL="$PG_URL" timed "run 2, PostgreSQL" "$BIN/pytest" -m "not own_servers" "$@"
  fi
elif [ "${TWOFOLD_REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "PostgreSQL does not answer on 127.0.0.1:5432 and TWOFOLD_REQUIRE_POSTGRES=1: failing." >&2
  exit 1
else
  echo "== test run 2 of 2 SKIPPED: PostgreSQL does not answer on 127.0.0.1:5432"
fi
