#!/usr/bin/env bash
# Checks that auth-server runs under the system-call filter of
# deploy/auth-server.service (issue 33). No systemd runs on CI, so the
# unit's SystemCallFilter= lines are applied with libseccomp by
# seccomp-run.py around the real binary, with --kill: any call outside the
# list kills the server with SIGSYS (as the unit without
# SystemCallErrorNumber= did) instead of failing with EPERM, so nothing
# the server needs can hide. Under it: `config check` (the unit's
# ExecStartPre), then `serve` on a temporary SQLite database answering
# /readyz, an emailed code written to the outbox, a sign-up, logins (the
# hashing threads lower their priority: AUTH_HASH_NICE=10), a WebSocket
# that receives LOGOUT, /metrics and the purge schedule; the server must
# still be alive, and stop with status 0 on SIGTERM.
#
#   deploy/check/unit.sh [--unit FILE] [BINARY]
#
# BINARY defaults to target/release/auth-server, else target/debug/auth-server.
# Exits non-zero when the server dies (SIGSYS named) or a step fails.
set -euo pipefail

unit=""
if [ "${1:-}" = "--unit" ]; then unit="$(realpath "$2")"; shift 2; fi
bin="${1:-}"
[ -z "$bin" ] || bin="$(realpath "$bin")"
cd "$(dirname "$0")/../.."
[ -n "$unit" ] || unit=deploy/auth-server.service
. deploy/check/common.sh
for tool in "$python" systemd-analyze curl; do
  command -v "$tool" >/dev/null || {
    echo "FAIL: ${tool:-python3} not found; this check needs python3, systemd-analyze (package systemd) and curl, and libseccomp.so.2" >&2
    exit 1
  }
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/auth-unit-check.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# A process killed by SIGSYS would dump core in the working directory.
ulimit -c 0

fail() {
  echo "FAIL: $*" >&2
  if [ -n "$pid" ]; then
    sleep 0.5  # a server that just died is reaped
    if ! kill -0 "$pid" 2>/dev/null; then reap; echo "      auth-server $died" >&2; fi
  fi
  if [ -s "$tmp/server.log" ]; then
    echo "---- last lines of the server's log" >&2
    tail -n 30 "$tmp/server.log" >&2
  fi
  exit 1
}

# Exit status of a finished process, described; 159 = 128 + SIGSYS.
describe() {
  case "$1" in
    159) echo "killed by SIGSYS (status 159): it made a system call outside the unit's SystemCallFilter (find it with: strace -f $bin serve)" ;;
    *) if [ "$1" -gt 128 ]; then echo "killed by signal $(( $1 - 128 )) (status $1)"; else echo "exited with status $1"; fi ;;
  esac
}

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
mkdir "$tmp/outbox"

# The unit runs as User=auth: as root, run as nobody (SQLite, for one, makes
# calls as root that it does not make otherwise). Its files live in $tmp.
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  run_as=(--user nobody)
  chown nobody "$tmp" "$tmp/outbox"
fi

# A clean environment: the caller's AUTH_* settings must not leak in (and an
# unknown AUTH_* variable would stop the server). `exec`: run in the
# background, the job's pid is the server's own.
under_filter() {
  exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$tmp" LANG=C.UTF-8 \
    RUST_LOG=info \
    AUTH_DATABASE_URL="sqlite://$tmp/auth.db" \
    AUTH_BIND="127.0.0.1:$port" \
    AUTH_HASH_NICE=10 \
    AUTH_HASH_CONCURRENCY=2 \
    AUTH_SIGNUP_REQUIRE_EMAIL_CODE=false \
    AUTH_MAIL_DIR="$tmp/outbox" \
    AUTH_PURGE_INTERVAL_SECONDS=1 \
    "$python" deploy/check/seccomp-run.py --kill --unit "$unit" "${run_as[@]}" -- "$bin" "$@"
}

echo "-- $unit: filter applied with libseccomp (denied call = SIGSYS), binary $bin"

# ExecStartPre= runs under the same filter.
status=0
(under_filter config check) >"$tmp/config.json" 2>"$tmp/server.log" || status=$?
[ "$status" -eq 0 ] || fail "auth-server config check under the filter: $(describe "$status")"
echo "ok: config check"

under_filter serve >>"$tmp/server.log" 2>&1 &
pid=$!

# Once the server is gone: its status, described, in $died.
reap() {
  local status=0
  wait "$pid" || status=$?
  pid=""
  died="$(describe "$status")"
}

ready=""
for _ in $(seq 1 600); do
  kill -0 "$pid" 2>/dev/null || { reap; fail "before it was ready, auth-server serve $died"; }
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)" = 200 ]; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || fail "GET /readyz did not answer 200 within 60 s"
echo "ok: GET /readyz 200"

# POST JSON; prints the HTTP status, the body goes to $tmp/body.
post() {
  curl -s -o "$tmp/body" -w '%{http_code}' -H 'Content-Type: application/json' "$@" || echo 000
}
alive() { kill -0 "$pid" 2>/dev/null || { reap; fail "after $1, auth-server $died"; }; }

user="unitcheck$RANDOM"
password="Unit-check-$RANDOM$RANDOM!"
email="$user@example.com"

code="$(post -d "{\"authId\":\"$user\",\"email\":\"$email\",\"type\":\"SIGN_UP\"}" "$base/api/auth/send/auth-key")"
alive "send/auth-key"
[ "$code" = 200 ] || fail "POST /api/auth/send/auth-key answered $code: $(cat "$tmp/body")"
for _ in $(seq 1 50); do ls "$tmp/outbox"/*.eml >/dev/null 2>&1 && break; sleep 0.1; done
ls "$tmp/outbox"/*.eml >/dev/null 2>&1 || fail "no .eml file in the outbox after send/auth-key"
echo "ok: emailed code written to the outbox"

code="$(post -d "{\"authId\":\"$user\",\"password\":\"$password\",\"name\":\"Unit Check\",\"email\":\"$email\"}" "$base/api/auth/sign-up")"
alive "sign-up (hashing a password)"
[ "$code" = 200 ] || fail "POST /api/auth/sign-up answered $code: $(cat "$tmp/body")"
echo "ok: sign-up 200"

login() {
  code="$(post -d "{\"username\":\"$user\",\"password\":\"$password\"}" "$base/api/auth/login")"
  alive "login (verifying a password on a hashing thread)"
  [ "$code" = 200 ] || fail "POST /api/auth/login answered $code: $(cat "$tmp/body")"
  token="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["accessToken"])' "$tmp/body" 2>/dev/null)" \
    || fail "login answered 200 without an accessToken"
  [ -n "$token" ] || fail "login answered 200 with an empty accessToken"
}
login
echo "ok: login 200 with an accessToken"
# A hashing thread exits after 1 s idle; the next login starts a new one,
# which lowers its priority again.
sleep 1.5
login
echo "ok: second login 200 (a new hashing thread)"

# WebSocket with the session's token; a logout pushes LOGOUT to it. The token
# goes through the environment, never the command line or the output.
CHECK_TOKEN="$token" "$python" deploy/check/ws-logout.py "$port" header || fail "WebSocket: see above"
alive "WebSocket and logout"

code="$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics" || echo 000)"
alive "GET /metrics"
[ "$code" = 200 ] || fail "GET /metrics answered $code"
echo "ok: GET /metrics 200"

# The purge runs every second here: let it run a few times.
sleep 2
alive "the purge schedule"
if grep -q "could not lower the priority" "$tmp/server.log"; then
  fail "the hashing threads could not lower their priority under the filter"
fi
echo "ok: still running, hashing threads at nice 10 without a warning"

kill -TERM "$pid"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "auth-server still running 30 s after SIGTERM"
reap
[ "$died" = "exited with status 0" ] || fail "after SIGTERM auth-server $died, want status 0"
echo "ok: SIGTERM, exit status 0"
echo "PASS: auth-server runs under the SystemCallFilter of $unit"
