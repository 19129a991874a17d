#!/usr/bin/env bash
# The release server under valgrind's memcheck while auth-qa drives contract
# scenarios through it, then SIGTERM (the shutdown sequence and the process
# exit, where the heap corruption of issue 32 was). PostgreSQL over TLS
# (sslmode=require): libpq and OpenSSL are exercised as in production.
# Passes when memcheck reports no error (invalid read or write, invalid
# free, use of uninitialised memory) and the server exits 0.
#
#   tests/memcheck.sh [FILTER] [BACKEND]
#
# FILTER: auth-qa's --filter (a text of `group::name`; default `session::`);
# BACKEND: postgres (default) or sqlite. Needs valgrind (Debian's package)
# and, for postgres, the server on 127.0.0.1:5432 (user postgres, trust) with
# TLS on. Builds target/release/auth-server and target/debug/auth-qa. Writes
# the memcheck log to target/memcheck/BACKEND.log, auth-qa's to BACKEND-qa.log.
# `just memcheck`.
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-session::}"
backend="${2:-postgres}"
command -v valgrind >/dev/null || { echo "FAIL: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --release --bin auth-server >&2
cargo build -p auth-qa --bin auth-qa >&2
bin="$PWD/target/release/auth-server"
qa="$PWD/target/debug/auth-qa"
out="$PWD/target/memcheck"
mkdir -p "$out"
log="$out/$backend.log"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/auth-memcheck.XXXXXX")"
pid=""
db=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [ -n "$db" ]; then psql -h 127.0.0.1 -U postgres -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres >/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"; smtp="$(free_port)"; oauth="$(free_port)"
base="http://127.0.0.1:$port"
admin="memcheck-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
case "$backend" in
  postgres)
    db="memcheck_$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
    psql -h 127.0.0.1 -U postgres -qAtc "CREATE DATABASE $db" postgres
    [ "$(psql -h 127.0.0.1 -U postgres -qAtc 'show ssl' postgres)" = on ] || { echo "FAIL: PostgreSQL has TLS off; this check needs ssl=on" >&2; exit 1; }
    url="postgres://postgres@127.0.0.1:5432/$db?sslmode=require" ;;
  sqlite) url="sqlite://$tmp/auth.db" ;;
  *) echo "FAIL: BACKEND is postgres or sqlite" >&2; exit 1 ;;
esac
# The deployment profile auth-qa asks for (its --print-profile), this port.
profile="$("$qa" --base-url "$base" --admin-token "$admin" --smtp-bind "127.0.0.1:$smtp" \
  --oauth-bind "127.0.0.1:$oauth" --print-profile | grep -v '^AUTH_RATE_LIMIT_EXEMPT=')"
# shellcheck disable=SC2086
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$tmp" LANG=C.UTF-8 RUST_LOG=warn \
  $profile \
  AUTH_RATE_LIMIT_EXEMPT=127.0.0.1/32 \
  AUTH_BIND="127.0.0.1:$port" \
  AUTH_DATABASE_URL="$url" \
  AUTH_SHUTDOWN_TIMEOUT_SECONDS=30 \
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=no --num-callers=40 \
    --log-file="$log" "$bin" serve >"$tmp/server.log" 2>&1 &
pid=$!
echo "-- memcheck of $bin on $backend (log: $log)"
for _ in $(seq 1 600); do
  kill -0 "$pid" 2>/dev/null || { tail -n 30 "$tmp/server.log" >&2; echo "FAIL: the server exited before it was ready" >&2; exit 1; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)" = 200 ] && break
  sleep 0.5
done
started=$(date +%s)
set +e
"$qa" --base-url "$base" --admin-token "$admin" --smtp-bind "127.0.0.1:$smtp" \
  --oauth-bind "127.0.0.1:$oauth" --filter "$filter" --timeout-seconds 900 >"$out/$backend-qa.log" 2>&1
qa_status=$?
set -e
tail -n 12 "$out/$backend-qa.log"
echo "-- auth-qa exited $qa_status after $(( $(date +%s) - started )) s; SIGTERM"
kill -TERM "$pid"
set +e
wait "$pid"
status=$?
set -e
pid=""
summary="$(grep -a 'ERROR SUMMARY' "$log" | tail -n 1)"
echo "-- server exit status $status; memcheck: ${summary#==*== }"
problems=0
if grep -aEq 'Invalid (read|write|free)|uninitialised|Mismatched free|overlap' "$log"; then
  grep -aE -A12 'Invalid (read|write|free)|uninitialised|Mismatched free|overlap' "$log" | head -n 80 >&2
  echo "FAIL: memcheck found memory errors (see $log)" >&2
  problems=1
fi
[ "$status" -eq 0 ] || { echo "FAIL: the server exited $status (99: memcheck errors)" >&2; tail -n 20 "$tmp/server.log" >&2; problems=1; }
[ "$qa_status" -eq 0 ] || { echo "FAIL: auth-qa failed" >&2; grep -a -m 20 "^FAIL" "$out/$backend-qa.log" >&2; problems=1; }
exit "$problems"
