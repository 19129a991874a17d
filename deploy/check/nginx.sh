#!/usr/bin/env bash
# Checks deploy/nginx.conf in front of the real server (issue 33). The
# shipped file is rendered for a test with a few substitutions, printed as a
# diff: the upstream servers become the test server, the TLS listen line a
# plain-HTTP loopback port (the certificate lines go), 127.0.0.1 is added to
# the /internal/ allow list, and the paths under /etc/nginx and
# /var/log/nginx move into a temporary folder. Everything else is tested as
# shipped, with deploy/nginx-proxy-params.conf as auth_proxy_params. Then
# `nginx -t`, and nginx runs (as the current user; pid, logs and temporary
# files in the temporary folder) in front of auth-server on a temporary
# SQLite database. Through the proxy: an account import of more than 80 KB
# (POST /internal/users/import, admin token) succeeds while an ordinary
# route still refuses such a body; a sign-up and a login; a WebSocket
# /ws?token=<access token> opens (101) and receives LOGOUT after a logout.
# Then no log of nginx holds the access token, `token=`, the admin token or
# an Authorization header, and the access log has the request id the
# server answered.
#
#   deploy/check/nginx.sh [--conf FILE] [BINARY]
#
# FILE defaults to deploy/nginx.conf; BINARY to target/release/auth-server,
# else target/debug/auth-server. Exits non-zero when a step fails (every
# failing check is listed).
set -euo pipefail

conf=""
if [ "${1:-}" = "--conf" ]; then conf="$(realpath "$2")"; shift 2; fi
bin="${1:-}"
[ -z "$bin" ] || bin="$(realpath "$bin")"
cd "$(dirname "$0")/../.."
[ -n "$conf" ] || conf="$PWD/deploy/nginx.conf"
params="$PWD/deploy/nginx-proxy-params.conf"
. deploy/check/common.sh
nginx="$(command -v nginx || true)"
if [ -z "$nginx" ] && [ -x /usr/sbin/nginx ]; then nginx=/usr/sbin/nginx; fi
for tool in "$python" "$nginx" curl; do
  [ -n "$tool" ] && command -v "$tool" >/dev/null || {
    echo "FAIL: this check needs python3, nginx (Debian's package nginx) and curl" >&2
    exit 1
  }
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/auth-nginx-check.XXXXXX")"
pid=""
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for log in server.log nginx.out logs/error.log; do
    if [ -s "$tmp/$log" ]; then
      echo "---- last lines of $log" >&2
      tail -n 20 "$tmp/$log" >&2
    fi
  done
  exit 1
}
# A failed check that does not stop the others; the script fails at the end.
problems=0
problem() { echo "FAIL: $*" >&2; problems=$((problems + 1)); }

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
proxy_port="$(free_port)"
while [ "$proxy_port" = "$port" ]; do proxy_port="$(free_port)"; done
base="http://127.0.0.1:$port"
proxy="http://127.0.0.1:$proxy_port"
mkdir -p "$tmp/conf" "$tmp/logs" "$tmp/temp" "$tmp/outbox"

echo "-- $conf in front of $bin ($("$nginx" -v 2>&1))"

# The rendering: each substitution is one sed expression below; a shipped
# file that no longer has a line the test replaces fails here rather than
# being tested differently.
sed -E \
  -e "s|^([[:space:]]*)server 10\.0\.0\.[0-9]+:8080;|\1server 127.0.0.1:$port;   # test: the test server|" \
  -e "s|^([[:space:]]*)listen 443 ssl http2;|\1listen 127.0.0.1:$proxy_port;   # test: plain HTTP on loopback|" \
  -e "/^[[:space:]]*ssl_certificate(_key)?[[:space:]]/d" \
  -e "s|^([[:space:]]*)allow 10\.0\.0\.0/8;|&\n\1allow 127.0.0.1;   # test: the test client|" \
  -e "s|^([[:space:]]*include) /etc/nginx/|\1 $tmp/conf/|" \
  -e "s|^([[:space:]]*access_log) /var/log/nginx/|\1 $tmp/logs/|" \
  "$conf" >"$tmp/conf/auth.conf"
cp "$params" "$tmp/conf/auth_proxy_params"
grep -q "server 127.0.0.1:$port;" "$tmp/conf/auth.conf" || fail "rendering: no 'server 10.0.0.N:8080;' upstream line in $conf"
grep -q "listen 127.0.0.1:$proxy_port;" "$tmp/conf/auth.conf" || fail "rendering: no 'listen 443 ssl http2;' line in $conf"
grep -q "allow 127.0.0.1;" "$tmp/conf/auth.conf" || fail "rendering: no 'allow 10.0.0.0/8;' line in $conf"
if grep -Eq '^[[:space:]]*(listen .*ssl|server 10\.)' "$tmp/conf/auth.conf"; then
  fail "rendering: a TLS listen line or a 10.x upstream is left in $conf (the rendering no longer matches the file)"
fi
echo "-- the rendering tested (diff against the shipped file):"
diff -u --label "$conf" --label rendered "$conf" "$tmp/conf/auth.conf" | sed 's/^/   /' || true

# nginx's main context, as Debian's /etc/nginx/nginx.conf provides it: the
# default access log (format "combined") for a server that names none, and
# every path in $tmp. As root the workers run as nobody, like www-data.
user_line=""
if [ "$(id -u)" -eq 0 ]; then
  user_line="user nobody nogroup;"
  chmod 711 "$tmp"
  chown nobody "$tmp/temp"
fi
cat >"$tmp/conf/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $tmp/nginx.pid;
lock_file $tmp/nginx.lock;
error_log $tmp/logs/error.log error;
events { worker_connections 256; }
http {
    access_log $tmp/logs/access.log;
    client_body_temp_path $tmp/temp/body;
    proxy_temp_path $tmp/temp/proxy;
    fastcgi_temp_path $tmp/temp/fastcgi;
    uwsgi_temp_path $tmp/temp/uwsgi;
    scgi_temp_path $tmp/temp/scgi;
    include $tmp/conf/auth.conf;
}
EOF
nginx_args=(-p "$tmp/" -c "$tmp/conf/nginx.conf" -e "$tmp/logs/error.log")
"$nginx" -t -q "${nginx_args[@]}" 2>"$tmp/nginx.out" || { cat "$tmp/nginx.out" >&2; fail "nginx -t refused the rendering of $conf"; }
echo "ok: nginx -t"

admin="nginx-check-$("$python" -c 'import secrets; print(secrets.token_hex(24))')"
printf 'Authorization: Bearer %s\n' "$admin" >"$tmp/admin.header"
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$tmp" LANG=C.UTF-8 \
  RUST_LOG=info \
  AUTH_DATABASE_URL="sqlite://$tmp/auth.db" \
  AUTH_BIND="127.0.0.1:$port" \
  AUTH_ADMIN_TOKEN="$admin" \
  AUTH_TRUSTED_PROXIES=127.0.0.1 \
  AUTH_SIGNUP_REQUIRE_EMAIL_CODE=false \
  AUTH_MAIL_DIR="$tmp/outbox" \
  AUTH_HASH_CONCURRENCY=2 \
  "$bin" serve >"$tmp/server.log" 2>&1 &
pid=$!
alive() { kill -0 "$pid" 2>/dev/null || fail "auth-server exited ($1)"; }

ready=""
for _ in $(seq 1 600); do
  alive "before it was ready"
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)" = 200 ]; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || fail "GET /readyz did not answer 200 within 60 s"

"$nginx" "${nginx_args[@]}" -g 'daemon off;' >"$tmp/nginx.out" 2>&1 &
nginx_pid=$!
ready=""
for _ in $(seq 1 100); do
  kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited at start"
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$proxy/readyz" || true)" = 200 ]; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || fail "GET /readyz through nginx did not answer 200 within 10 s"
echo "ok: nginx runs, GET /readyz through it 200"

# The request id: the server keeps the proxy's X-Request-Id (the proxy is
# trusted) and answers it; the access log must name it too.
request_id="$(curl -s -o /dev/null -D - "$proxy/healthz" | tr -d '\r' | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: *//p')"
[ -n "$request_id" ] || problem "GET /healthz through nginx answered no X-Request-Id"

# An import of more than 80 KB: 500 accounts with a bcrypt hash (copied, not
# computed).
accounts=500
"$python" - "$tmp/users.ndjson" "$accounts" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(n):
        f.write(json.dumps({
            "loginId": f"imported{i:05d}",
            "email": f"imported{i:05d}@example.com",
            "emailVerified": True,
            "name": f"Imported account {i:05d}",
            "passwordHash": "$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG",
        }) + "\n")
EOF
size="$(wc -c <"$tmp/users.ndjson")"
[ "$size" -ge 81920 ] || fail "the generated import is only $size bytes"
code="$(curl -s -o "$tmp/body" -w '%{http_code}' -H @"$tmp/admin.header" -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$tmp/users.ndjson" "$proxy/internal/users/import" || echo 000)"
alive "the import"
if [ "$code" != 200 ]; then
  problem "POST /internal/users/import of $size bytes through nginx answered $code: $(head -c 300 "$tmp/body" | tr '\n' ' ')"
elif ! imported="$("$python" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["imported"]); sys.exit(r["imported"] != int(sys.argv[2]))' "$tmp/body" "$accounts")"; then
  problem "the import through nginx answered 200 but imported ${imported:-?} of $accounts: $(head -c 300 "$tmp/body")"
else
  echo "ok: import of $size bytes through nginx: 200, $imported accounts imported"
fi
# The ordinary routes keep AUTH_MAX_BODY_BYTES' 64 KiB at the proxy.
code="$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary @"$tmp/users.ndjson" "$proxy/api/auth/login" || echo 000)"
if [ "$code" = 413 ]; then
  echo "ok: a $size-byte body to /api/auth/login is refused with 413"
else
  problem "a $size-byte body to /api/auth/login through nginx answered $code, want 413 (client_max_body_size 64k)"
fi

post() {
  curl -s -o "$tmp/body" -w '%{http_code}' -H 'Content-Type: application/json' "$@" || echo 000
}
user="nginxcheck$RANDOM"
password="Nginx-check-$RANDOM$RANDOM!"
code="$(post -d "{\"authId\":\"$user\",\"password\":\"$password\",\"name\":\"Nginx Check\",\"email\":\"$user@example.com\"}" "$proxy/api/auth/sign-up")"
alive "sign-up"
[ "$code" = 200 ] || fail "POST /api/auth/sign-up through nginx answered $code: $(cat "$tmp/body")"
code="$(post -d "{\"username\":\"$user\",\"password\":\"$password\"}" "$proxy/api/auth/login")"
alive "login"
[ "$code" = 200 ] || fail "POST /api/auth/login through nginx answered $code: $(cat "$tmp/body")"
token="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["accessToken"])' "$tmp/body" 2>/dev/null)" \
  || fail "login answered 200 without an accessToken"
[ -n "$token" ] || fail "login answered 200 with an empty accessToken"
echo "ok: sign-up and login through nginx"

# The browser's WebSocket: the token in the query. A logout (through the
# proxy too) pushes LOGOUT to it. The token goes through the environment,
# never the command line or the output.
CHECK_TOKEN="$token" "$python" deploy/check/ws-logout.py "$proxy_port" query "through nginx" || fail "WebSocket through nginx: see above"
alive "the WebSocket and the logout"

# nginx logs the WebSocket when it closes: stop nginx gracefully, so that
# every line is written, then read every log it wrote.
kill -QUIT "$nginx_pid"
for _ in $(seq 1 100); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$nginx_pid" 2>/dev/null && fail "nginx still running 10 s after SIGQUIT"
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""

logs=("$tmp"/logs/*)
if ! grep -Eqh '"GET /ws[ ?].* 101 ' "${logs[@]}"; then
  problem "no access log line of the WebSocket (GET /ws … 101) in $(ls "$tmp/logs" | tr '\n' ' '): the check would prove nothing"
fi
redact() { sed -E -e 's/(token=)[^ &"]*/\1<redacted>/g' -e 's/(Bearer )[^ "]*/\1<redacted>/g'; }
leaked=0
for what in "the access token:$token" "the admin token:$admin" "a token= query:token=" "an Authorization header:Bearer "; do
  if grep -lF -- "${what#*:}" "${logs[@]}" >"$tmp/leaks"; then
    leaked=1
    problem "nginx logged ${what%%:*} in $(xargs -n1 basename <"$tmp/leaks" | tr '\n' ' ')"
    grep -hF -- "${what#*:}" "${logs[@]}" | head -n 3 | redact | sed 's/^/      /' >&2
  fi
done
if [ -n "${NGINX_CHECK_SHOW_LOG:-}" ]; then
  echo "-- nginx's logs (tokens redacted):"
  for log in "${logs[@]}"; do echo "   $(basename "$log"):"; redact <"$log" | sed 's/^/     /'; done
fi
[ "$leaked" = 1 ] || echo "ok: no token, token= query or Authorization header in nginx's logs ($(ls "$tmp/logs" | tr '\n' ' '))"
if [ -n "$request_id" ]; then
  if grep -qhF -- "$request_id" "${logs[@]}"; then
    echo "ok: the access log names the request id the server answered"
  else
    problem "the request id the server answered ($request_id) is not in nginx's access log"
  fi
fi

kill -TERM "$pid"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "auth-server still running 30 s after SIGTERM"
pid=""

if [ "$problems" -gt 0 ]; then
  echo "FAIL: $problems check(s) of $conf failed (above)" >&2
  exit 1
fi
echo "PASS: $conf in front of auth-server: import, WebSocket, logs free of tokens"
