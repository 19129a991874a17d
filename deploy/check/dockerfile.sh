#!/usr/bin/env bash
# Checks deploy/Dockerfile (issue 33). hadolint lints it when installed
# (Debian has no package of it; CI runs without). Then
# dockerfile-properties.py checks what the file promises, on the file and the
# repository as the build context: .dockerignore leaves target/ and .git out
# and keeps the sources in; a dependency layer precedes `COPY . .`; the final
# stage has no toolchain and a non-root USER; a VOLUME holds the default
# SQLite database; and the HEALTHCHECK, run as written with the real binary
# against a stand-in server whose /readyz answers 503 (a database outage),
# passes (liveness), and fails when nothing listens. Last, where a container
# engine answers (`docker info`), the image is built and its binary run; where
# none does (this project's CI machines), that is said and the build skipped.
#
#   deploy/check/dockerfile.sh [--dockerfile FILE] [BINARY]
#
# FILE defaults to deploy/Dockerfile; BINARY to target/release/auth-server,
# else target/debug/auth-server (it must know `healthcheck --live`).
set -euo pipefail

dockerfile=""
if [ "${1:-}" = "--dockerfile" ]; then dockerfile="$(realpath "$2")"; shift 2; fi
bin="${1:-}"
[ -z "$bin" ] || bin="$(realpath "$bin")"
cd "$(dirname "$0")/../.."
[ -n "$dockerfile" ] || dockerfile="$PWD/deploy/Dockerfile"
. deploy/check/common.sh
[ -n "$python" ] || { echo "FAIL: this check needs python3 (3.11 or later)" >&2; exit 1; }

echo "-- $dockerfile, build context $PWD"
status=0
if command -v hadolint >/dev/null; then
  if hadolint --no-color "$dockerfile"; then
    echo "ok: hadolint $(hadolint --version | grep -o '[0-9][0-9.]*' | head -n1): no finding"
  else
    echo "FAIL: hadolint found the above" >&2
    status=1
  fi
else
  echo "-- hadolint not installed (not packaged in Debian): lint skipped, the properties below checked"
fi

"$python" deploy/check/dockerfile-properties.py --dockerfile "$dockerfile" --context "$PWD" --binary "$bin" || status=1

if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
  tag="auth-server:dockerfile-check"
  echo "-- a container engine answers: docker build -f $dockerfile -t $tag ."
  if docker build -f "$dockerfile" -t "$tag" . && docker run --rm "$tag" --version; then
    echo "ok: image $tag built, its auth-server runs"
  else
    echo "FAIL: the image did not build or its binary did not run" >&2
    status=1
  fi
else
  echo "-- no container engine answers here (docker info failed or no docker client): the image was NOT built"
fi

if [ "$status" -ne 0 ]; then
  echo "FAIL: $dockerfile (above)" >&2
  exit 1
fi
echo "PASS: $dockerfile lint/properties"
