#!/usr/bin/env bash
# bench/soak/run.sh: the chatd soak in one command (docs/soak.md). Builds
# chatd (the build directory's configuration, RelWithDebInfo unless it was
# configured otherwise) unless CHATD names a binary, then runs
# bench/soak/soak.mjs with the given options and writes the markdown report
# to $SOAK_REPORT (default <build>/soak-report.md) as well as stdout.
# Exits non-zero when any check fails. Not part of the test suite; CTest
# runs the one-minute variant (soak.short).
#
#   bench/soak/run.sh --minutes 30       the full run
#   bench/soak/run.sh --short            the CI variant, one minute
#   bench/soak/run.sh --help             every option
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${SOAK_BUILD_DIR:-build}
if [ -z "${CHATD:-}" ]; then
  if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
    cmake -S . -B "$build" -G Ninja >"$(mktemp)" 2>&1
  fi
  echo "soak: building chatd in $build" >&2
  cmake --build "$build" --target chatd >&2
  export CHATD=$PWD/$build/apps/chatd/chatd
fi
if [ ! -d tests/interop/node_modules/socket.io-client ]; then
  echo "soak: socket.io-client is missing; run scripts/install-deps.sh" >&2
  exit 2
fi
report=${SOAK_REPORT:-$build/soak-report.md}
echo "soak: chatd $CHATD; report in $report" >&2
exec node bench/soak/soak.mjs --report "$report" "$@"
