# Sourced by the deploy checks (unit.sh, nginx.sh, dockerfile.sh) after
# they `cd` to the repository root, with $bin the binary given on their
# command line (absolute) or empty.
#
# Sets $bin to the auth-server to check (the one given, else
# target/release/auth-server, else target/debug/auth-server), absolute, and
# $python to python3 (empty when none: each check says what it needs).
if [ -z "$bin" ]; then
  bin=target/release/auth-server
  [ -x "$bin" ] || bin=target/debug/auth-server
fi
[ -x "$bin" ] || { echo "FAIL: no auth-server binary at $bin (build it or pass its path)" >&2; exit 1; }
bin="$(realpath "$bin")"
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3 || true)"
